-- +goose Up
-- The periodic cleanup deletes audit entries older than AUDIT_RETENTION, oldest first.
CREATE INDEX auth_audit_at ON auth_audit (at);

-- +goose Down
DROP INDEX auth_audit_at;
