-- +goose Up
CREATE TABLE settings (
    name  text PRIMARY KEY,
    value text NOT NULL
);

CREATE TABLE organisations (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    rsin       text NOT NULL UNIQUE CHECK (rsin ~ '^[0-9]{9}$'),
    name       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- api_clients are the applications that call the API (a TSA/ZAC). client_id is their public name.
CREATE TABLE api_clients (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    client_id       text NOT NULL UNIQUE,
    organisation_id uuid NOT NULL REFERENCES organisations (id),
    name            text NOT NULL,
    scopes          text[] NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    revoked_at      timestamptz
);

-- api_keys hold only a keyed digest (HMAC-SHA256 with the server pepper) of each key.
CREATE TABLE api_keys (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    client_id  uuid NOT NULL REFERENCES api_clients (id) ON DELETE CASCADE,
    digest     bytea NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);

CREATE TABLE transactions (
    id                          uuid PRIMARY KEY,
    organisation_id             uuid NOT NULL REFERENCES organisations (id),
    client_id                   uuid REFERENCES api_clients (id) ON DELETE SET NULL,
    state                       text NOT NULL,
    naam                        text NOT NULL,
    eigenaar                    text,
    zaak_url                    text NOT NULL,
    zaak_uuid                   uuid NOT NULL,
    bewijs_informatieobjecttype text,
    provider                    text NOT NULL,
    reden                       text,
    trigger                     jsonb NOT NULL,
    created_at                  timestamptz NOT NULL,
    updated_at                  timestamptz NOT NULL,
    deadline                    timestamptz NOT NULL,
    finished_at                 timestamptz
);
CREATE INDEX transactions_org_created ON transactions (organisation_id, created_at DESC, id DESC);
CREATE INDEX transactions_org_zaak ON transactions (organisation_id, zaak_url);
CREATE INDEX transactions_active ON transactions (state) WHERE state NOT IN ('completed', 'aborted');

CREATE TABLE documents (
    transaction_id  uuid NOT NULL REFERENCES transactions (id) ON DELETE CASCADE,
    position        int NOT NULL,
    url             text NOT NULL,
    uuid            uuid NOT NULL,
    titel           text,
    versie          int NOT NULL,
    bestandsnaam    text,
    status          text NOT NULL DEFAULT 'pending',
    original_sha256 text,
    signed_sha256   text,
    versie_signed   int,
    versie_uploaded int,
    lock_id         text,
    PRIMARY KEY (transaction_id, position)
);

CREATE TABLE signers (
    transaction_id uuid NOT NULL REFERENCES transactions (id) ON DELETE CASCADE,
    position       int NOT NULL,
    email          text NOT NULL,
    voornaam       text,
    achternaam     text NOT NULL,
    identificatie  text,
    volgorde       int NOT NULL,
    auth_method    text,
    auth_value     text,
    status         text NOT NULL DEFAULT 'pending',
    signed_at      timestamptz,
    declined_at    timestamptz,
    decline_reason text,
    PRIMARY KEY (transaction_id, position)
);

-- events is the audit trail of every transaction. Rows are only ever added.
CREATE TABLE events (
    id             bigserial PRIMARY KEY,
    transaction_id uuid NOT NULL REFERENCES transactions (id) ON DELETE CASCADE,
    at             timestamptz NOT NULL,
    type           text NOT NULL,
    state          text NOT NULL,
    actor          text NOT NULL,
    detail         jsonb
);
CREATE INDEX events_transaction ON events (transaction_id, id);

-- +goose StatementBegin
CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are append-only';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER events_no_update BEFORE UPDATE ON events FOR EACH ROW EXECUTE FUNCTION events_append_only();

-- idempotency_keys remember, per client, which request a key was used for and what it created.
CREATE TABLE idempotency_keys (
    client_id      uuid NOT NULL REFERENCES api_clients (id) ON DELETE CASCADE,
    key            text NOT NULL,
    request_hash   bytea NOT NULL,
    transaction_id uuid NOT NULL,
    created_at     timestamptz NOT NULL,
    expires_at     timestamptz NOT NULL,
    PRIMARY KEY (client_id, key)
);
CREATE INDEX idempotency_keys_expires ON idempotency_keys (expires_at);

-- +goose Down
DROP TABLE idempotency_keys;
DROP TABLE events;
DROP FUNCTION events_append_only();
DROP TABLE signers;
DROP TABLE documents;
DROP TABLE transactions;
DROP TABLE api_keys;
DROP TABLE api_clients;
DROP TABLE organisations;
DROP TABLE settings;
