-- +goose Up
-- The built-in signer's own state. A signing belongs to one transaction of the workflow; it is kept
-- without a foreign key so that the provider stays usable on its own, like a vendor would be.
CREATE TABLE builtin_signings (
    id             uuid PRIMARY KEY,
    transaction_id uuid NOT NULL UNIQUE,
    naam           text NOT NULL,
    eigenaar       text,
    status         text NOT NULL DEFAULT 'pending',
    reden          text,
    deadline       timestamptz NOT NULL,
    created_at     timestamptz NOT NULL,
    finished_at    timestamptz,
    evidence_blob  uuid
);
CREATE INDEX builtin_signings_pending ON builtin_signings (status) WHERE status = 'pending';

-- builtin_documents: current_blob moves with every signature (one incremental update each).
CREATE TABLE builtin_documents (
    signing_id      uuid NOT NULL REFERENCES builtin_signings (id) ON DELETE CASCADE,
    position        int NOT NULL,
    titel           text,
    bestandsnaam    text NOT NULL,
    original_formaat text,
    original_sha256 text NOT NULL,
    original_blob   uuid NOT NULL,
    current_blob    uuid NOT NULL,
    current_sha256  text NOT NULL,
    PRIMARY KEY (signing_id, position)
);

-- builtin_signers: the link token and OTP code are stored only as keyed digests.
CREATE TABLE builtin_signers (
    signing_id     uuid NOT NULL REFERENCES builtin_signings (id) ON DELETE CASCADE,
    position       int NOT NULL,
    email          text NOT NULL,
    voornaam       text,
    achternaam     text NOT NULL,
    identificatie  text,
    volgorde       int NOT NULL,
    auth_method    text NOT NULL DEFAULT 'null',
    auth_value     text,
    status         text NOT NULL DEFAULT 'pending',
    token_digest   bytea UNIQUE,
    link_expires   timestamptz,
    invited_at     timestamptz,
    reminded_at    timestamptz,
    warned_at      timestamptz,
    otp_digest     bytea,
    otp_expires    timestamptz,
    otp_sent_at    timestamptz,
    otp_failures   int NOT NULL DEFAULT 0,
    locked_until   timestamptz,
    done_at        timestamptz,
    reden          text,
    PRIMARY KEY (signing_id, position)
);
CREATE INDEX builtin_signers_invited ON builtin_signers (status) WHERE status = 'invited';

-- builtin_sessions bind a browser to one signer's link; authenticated once the OTP was right.
CREATE TABLE builtin_sessions (
    digest           bytea PRIMARY KEY,
    signing_id       uuid NOT NULL,
    position         int NOT NULL,
    created_at       timestamptz NOT NULL,
    expires_at       timestamptz NOT NULL,
    authenticated_at timestamptz,
    FOREIGN KEY (signing_id, position) REFERENCES builtin_signers (signing_id, position) ON DELETE CASCADE
);

-- builtin_events is the signer-side audit trail that goes into the evidence report. Append-only.
CREATE TABLE builtin_events (
    id         bigserial PRIMARY KEY,
    signing_id uuid NOT NULL REFERENCES builtin_signings (id) ON DELETE CASCADE,
    position   int,
    at         timestamptz NOT NULL,
    type       text NOT NULL,
    ip         text,
    user_agent text,
    detail     jsonb
);
CREATE INDEX builtin_events_signing ON builtin_events (signing_id, id);
CREATE TRIGGER builtin_events_no_update BEFORE UPDATE ON builtin_events FOR EACH ROW EXECUTE FUNCTION events_append_only();

-- +goose Down
DROP TABLE builtin_events;
DROP TABLE builtin_sessions;
DROP TABLE builtin_signers;
DROP TABLE builtin_documents;
DROP TABLE builtin_signings;
