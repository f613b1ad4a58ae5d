-- +goose Up
-- The provider's evidence (its audit events and own evidence documents), collected with the signed
-- documents so that expiring vendor links cannot lose it; the workflow writes the one evidence
-- report from it. builtin_signings.evidence_blob is no longer written (the built-in signer keeps no
-- report of its own); it stays, as migrations only add, so that replicas of the previous release
-- keep working on this schema during a rolling upgrade.
ALTER TABLE transactions ADD COLUMN provider_evidence_blob uuid;

-- +goose Down
ALTER TABLE transactions DROP COLUMN provider_evidence_blob;
