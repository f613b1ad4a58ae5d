-- +goose NO TRANSACTION
-- +goose Up
-- The list filtered on status counts the organisation's transactions in that status on every page;
-- without this index the count reads the whole table (some 40 ms at 100 000 waiting, BenchmarkWaiting100k).
-- Built concurrently, so intake and the workflow keep writing while it is made.
CREATE INDEX CONCURRENTLY IF NOT EXISTS transactions_org_state ON transactions (organisation_id, state, created_at DESC, id DESC);

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS transactions_org_state;
