-- +goose Up
-- builtin_links: every link mailed to a signer (the invitation's and each reminder's), stored only
-- as keyed digests. A reminder adds a link instead of replacing the signer's only one, so the link
-- in an earlier mail keeps working. Whether a link may be used is still decided by its signer and
-- signing (status, link_expires, deadline), the same for all of a signer's links.
CREATE TABLE builtin_links (
    digest     bytea PRIMARY KEY,
    signing_id uuid NOT NULL,
    position   int NOT NULL,
    created_at timestamptz NOT NULL,
    FOREIGN KEY (signing_id, position) REFERENCES builtin_signers (signing_id, position) ON DELETE CASCADE
);
CREATE INDEX builtin_links_signer ON builtin_links (signing_id, position);

INSERT INTO builtin_links (digest, signing_id, position, created_at)
SELECT token_digest, signing_id, position, coalesce(invited_at, now()) FROM builtin_signers WHERE token_digest IS NOT NULL;

-- builtin_signers.token_digest stays for now, holding each signer's newest link, so that replicas of
-- the previous version keep working during a rolling upgrade (docs/operations.md, "Upgrading"); a
-- later release drops it.

-- +goose Down
DROP TABLE builtin_links;
