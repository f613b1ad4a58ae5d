-- +goose Up
-- Every change to what authentication reads is announced on the channel signingd_auth, with the
-- table's name as payload. Each replica listens and drops its cached clients, keys and revocations
-- at once, so a revocation on one replica (or by the clients command) takes effect everywhere
-- without waiting for the caches to expire. NOTIFY is sent on commit; per statement is enough, as
-- the caches are dropped whole.
-- +goose StatementBegin
CREATE FUNCTION signingd_auth_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('signingd_auth', TG_TABLE_NAME);
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER organisations_auth_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON organisations
    FOR EACH STATEMENT EXECUTE FUNCTION signingd_auth_changed();
CREATE TRIGGER api_clients_auth_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON api_clients
    FOR EACH STATEMENT EXECUTE FUNCTION signingd_auth_changed();
CREATE TRIGGER api_keys_auth_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON api_keys
    FOR EACH STATEMENT EXECUTE FUNCTION signingd_auth_changed();
CREATE TRIGGER client_secrets_auth_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON client_secrets
    FOR EACH STATEMENT EXECUTE FUNCTION signingd_auth_changed();
CREATE TRIGGER client_keys_auth_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON client_keys
    FOR EACH STATEMENT EXECUTE FUNCTION signingd_auth_changed();
CREATE TRIGGER revoked_tokens_auth_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON revoked_tokens
    FOR EACH STATEMENT EXECUTE FUNCTION signingd_auth_changed();

-- +goose Down
DROP TRIGGER revoked_tokens_auth_changed ON revoked_tokens;
DROP TRIGGER client_keys_auth_changed ON client_keys;
DROP TRIGGER client_secrets_auth_changed ON client_secrets;
DROP TRIGGER api_keys_auth_changed ON api_keys;
DROP TRIGGER api_clients_auth_changed ON api_clients;
DROP TRIGGER organisations_auth_changed ON organisations;
DROP FUNCTION signingd_auth_changed();
