-- +goose Up
-- traceparent is the W3C trace context of the trigger request, so that work started later by a
-- webhook or a signer (days on) joins the transaction's trace instead of the request's.
ALTER TABLE transactions ADD COLUMN traceparent text;

-- +goose Down
ALTER TABLE transactions DROP COLUMN traceparent;
