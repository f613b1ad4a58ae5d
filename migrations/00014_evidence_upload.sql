-- +goose Up
-- The evidence document's chunked upload in progress. A create with content at or above the part
-- threshold (16 MiB) makes the DRC create the document without content, locked, with bestandsdelen to
-- upload; its URL and lock are recorded here as soon as the DRC answers, before any part is sent, so
-- that a retry after a failed part or a crash resumes the upload with that lock instead of linking an
-- incomplete document. evidence_url is set only once the document is complete; both columns are
-- cleared then.
ALTER TABLE transactions
    ADD COLUMN evidence_upload_url text,
    ADD COLUMN evidence_upload_lock text;

-- +goose Down
ALTER TABLE transactions DROP COLUMN evidence_upload_url, DROP COLUMN evidence_upload_lock;
