-- +goose Up
-- The provider's evidence (its audit events and own evidence documents), collected with the signed
-- documents so that expiring vendor links cannot lose it; the workflow writes the one evidence
-- report from it. The built-in signer no longer writes a report of its own.
ALTER TABLE transactions ADD COLUMN provider_evidence_blob uuid;
ALTER TABLE builtin_signings DROP COLUMN evidence_blob;

-- +goose Down
ALTER TABLE builtin_signings ADD COLUMN evidence_blob uuid;
ALTER TABLE transactions DROP COLUMN provider_evidence_blob;
