-- +goose Up
-- The workflow's own columns: the provider's reference, the evidence document, and where blobs live.
ALTER TABLE transactions
    ADD COLUMN provider_ref text,
    ADD COLUMN evidence_url text,
    ADD COLUMN evidence_blob uuid,
    ADD COLUMN blobs_deleted_at timestamptz;
CREATE UNIQUE INDEX transactions_provider_ref ON transactions (provider, provider_ref) WHERE provider_ref IS NOT NULL;
CREATE INDEX transactions_finished ON transactions (finished_at) WHERE finished_at IS NOT NULL AND blobs_deleted_at IS NULL;

ALTER TABLE documents
    ADD COLUMN original_blob uuid,
    ADD COLUMN signed_blob uuid,
    ADD COLUMN original_size bigint,
    ADD COLUMN signed_size bigint,
    ADD COLUMN formaat text,
    ADD COLUMN doc_status text,
    ADD COLUMN uploaded_at timestamptz;

-- blobs hold document content (originals, signed results, evidence) in chunks, so that nothing is
-- ever read into memory whole. A blob belongs to one transaction and is deleted some time after it
-- ends.
CREATE TABLE blobs (
    id             uuid PRIMARY KEY,
    transaction_id uuid REFERENCES transactions (id) ON DELETE CASCADE,
    size           bigint NOT NULL DEFAULT 0,
    sha256         text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    complete       boolean NOT NULL DEFAULT false
);
CREATE INDEX blobs_transaction ON blobs (transaction_id);

CREATE TABLE blob_chunks (
    blob_id uuid NOT NULL REFERENCES blobs (id) ON DELETE CASCADE,
    seq     int NOT NULL,
    data    bytea NOT NULL,
    PRIMARY KEY (blob_id, seq)
);

-- notifications is the transactional outbox: the row is written with the state change that decides
-- the outcome, and a job delivers it to the NRC. One per transaction.
CREATE TABLE notifications (
    transaction_id uuid PRIMARY KEY REFERENCES transactions (id) ON DELETE CASCADE,
    actie          text NOT NULL,
    message        jsonb NOT NULL,
    created_at     timestamptz NOT NULL,
    sent_at        timestamptz,
    attempts       int NOT NULL DEFAULT 0
);

-- +goose Down
DROP TABLE notifications;
DROP TABLE blob_chunks;
DROP TABLE blobs;
ALTER TABLE documents DROP COLUMN original_blob, DROP COLUMN signed_blob, DROP COLUMN original_size,
    DROP COLUMN signed_size, DROP COLUMN formaat, DROP COLUMN doc_status, DROP COLUMN uploaded_at;
DROP INDEX transactions_finished;
DROP INDEX transactions_provider_ref;
ALTER TABLE transactions DROP COLUMN provider_ref, DROP COLUMN evidence_url, DROP COLUMN evidence_blob,
    DROP COLUMN blobs_deleted_at;
