-- +goose Up
-- The organisation a signing is for: its pages, mails and evidence show the organisation's name and
-- look (the landscape's branding), by RSIN. Signings made before stay without (plain signingd look).
ALTER TABLE builtin_signings ADD COLUMN organisation_rsin text;

-- +goose Down
ALTER TABLE builtin_signings DROP COLUMN organisation_rsin;
