-- +goose Up
-- Refusals are recorded as counts per (client id, address, reason, minute): a flood of bad
-- requests adds a row a minute per key, not a row per request.
ALTER TABLE auth_audit ADD COLUMN count integer NOT NULL DEFAULT 1;

-- +goose Down
ALTER TABLE auth_audit DROP COLUMN count;
