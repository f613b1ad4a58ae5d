-- +goose Up
-- Sessions are counted and trimmed per signer on every new one (at most a few per link), which
-- needs them found by signer without a scan of every session.
CREATE INDEX builtin_sessions_signer ON builtin_sessions (signing_id, position, created_at);
-- Page events (opened, code_sent, …) are counted per signer and type before one is added.
CREATE INDEX builtin_events_signer_type ON builtin_events (signing_id, position, type);

-- +goose Down
DROP INDEX builtin_events_signer_type;
DROP INDEX builtin_sessions_signer;
