-- +goose Up
-- client_secrets hold only a keyed digest (HMAC-SHA256 with the server pepper) of each secret. A
-- rotated secret keeps working until expires_at, so a client can switch over without downtime.
CREATE TABLE client_secrets (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    client_id  uuid NOT NULL REFERENCES api_clients (id) ON DELETE CASCADE,
    digest     bytea NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz
);
CREATE INDEX client_secrets_client ON client_secrets (client_id);

-- client_keys are the public keys a client signs private_key_jwt assertions with: an inline JWK, or
-- a jwks_uri fetched on demand.
CREATE TABLE client_keys (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    client_id  uuid NOT NULL REFERENCES api_clients (id) ON DELETE CASCADE,
    kid        text NOT NULL DEFAULT '',
    jwk        jsonb,
    jwks_uri   text,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz,
    CHECK ((jwk IS NULL) <> (jwks_uri IS NULL))
);
CREATE INDEX client_keys_client ON client_keys (client_id);

-- signing_keys are the keys signingd signs its access tokens with. The private key is sealed with
-- AES-256-GCM under the key-encryption key; the table alone reveals nothing usable.
CREATE TABLE signing_keys (
    kid          text PRIMARY KEY,
    alg          text NOT NULL,
    state        text NOT NULL CHECK (state IN ('next', 'current', 'previous', 'retired')),
    private_enc  bytea NOT NULL,
    public_jwk   jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    activated_at timestamptz,
    retired_at   timestamptz
);
CREATE UNIQUE INDEX signing_keys_one_current ON signing_keys (state) WHERE state IN ('current', 'next');

-- used_assertions remembers the jti of every accepted client assertion until it expires, so an
-- assertion is single use across replicas.
CREATE TABLE used_assertions (
    client_id  text NOT NULL,
    jti        text NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (client_id, jti)
);
CREATE INDEX used_assertions_expires ON used_assertions (expires_at);

-- revoked_tokens lists access tokens revoked before they expire.
CREATE TABLE revoked_tokens (
    jti        text PRIMARY KEY,
    client_id  text NOT NULL,
    revoked_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
CREATE INDEX revoked_tokens_expires ON revoked_tokens (expires_at);

-- auth_audit is the trail of the token service: issued, refused (and why), revoked, client changed.
-- It never holds a secret, an assertion or a token; jti identifies a token without being one.
CREATE TABLE auth_audit (
    id        bigserial PRIMARY KEY,
    at        timestamptz NOT NULL,
    event     text NOT NULL,
    client_id text,
    address   text,
    method    text,
    reason    text,
    jti       text,
    scope     text
);
CREATE INDEX auth_audit_client ON auth_audit (client_id, at);

-- +goose Down
DROP TABLE auth_audit;
DROP TABLE revoked_tokens;
DROP TABLE used_assertions;
DROP TABLE signing_keys;
DROP TABLE client_keys;
DROP TABLE client_secrets;
