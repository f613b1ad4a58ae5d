-- +goose Up
-- Intents: a call to the DRC whose answer may be lost (a crash, a timeout) is announced in the
-- database first, so that a retry knows a lock or an evidence document may exist without our having
-- its id or URL.
ALTER TABLE documents
    -- set before asking the DRC for a lock, cleared once the lock id is stored or nothing was granted
    ADD COLUMN lock_requested_at timestamptz,
    -- when we first found the document locked by someone else; cleared once we hold the lock
    ADD COLUMN lock_wait_since timestamptz;
ALTER TABLE transactions
    -- set before creating the evidence document in the DRC
    ADD COLUMN evidence_requested_at timestamptz;

-- +goose Down
ALTER TABLE transactions DROP COLUMN evidence_requested_at;
ALTER TABLE documents DROP COLUMN lock_requested_at, DROP COLUMN lock_wait_since;
