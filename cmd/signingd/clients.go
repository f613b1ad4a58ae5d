package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/signingd/signingd/auth"
	"github.com/signingd/signingd/config"
	"github.com/signingd/signingd/store"
)

const clientsUsage = `Usage:
  signingd clients create --rsin RSIN --name NAME [--scopes a,b] [--api-key] [--key FILE] [--jwks-uri URL]
  signingd clients list
  signingd clients show CLIENT_ID
  signingd clients rotate-secret CLIENT_ID [--grace 24h]
  signingd clients add-key CLIENT_ID (--key FILE | --jwks-uri URL) [--kid KID]
  signingd clients revoke CLIENT_ID
  signingd clients delete CLIENT_ID

Secrets and API keys are printed once and stored only as keyed digests. --key takes a JWK, a PEM
public key or certificate, or a ZITADEL JSON key file (only the public key is kept).
"signingd clients COMMAND -h" describes each command.
`

// clientsCommand manages API clients: their secrets, private_key_jwt keys and API keys.
var clientsCommand = command{name: "clients", usage: clientsUsage, sub: []command{
	{name: "clients create", flags: clientsCreate, usage: `Usage: signingd clients create --rsin RSIN --name NAME [--scopes a,b] [--api-key] [--key FILE] [--jwks-uri URL]

Registers a client of the organisation RSIN and prints its client_id and secret, once.
`},
	{name: "clients list", flags: noFlags(clientsList), usage: `Usage: signingd clients list

Lists every client: id, name, organisation, scopes, when created and revoked.
`},
	{name: "clients show", minArgs: 1, maxArgs: 1, flags: noFlags(clientsShow), usage: `Usage: signingd clients show CLIENT_ID

Shows a client, its keys, how many secrets are valid and its recent audit entries.
`},
	{name: "clients rotate-secret", minArgs: 1, maxArgs: 1, flags: clientsRotateSecret, usage: `Usage: signingd clients rotate-secret CLIENT_ID [--grace 24h]

Issues a new secret and prints it, once; the older secrets keep working for the grace period.
`},
	{name: "clients add-key", minArgs: 1, maxArgs: 1, flags: clientsAddKey, usage: `Usage: signingd clients add-key CLIENT_ID (--key FILE | --jwks-uri URL) [--kid KID]

Registers a public key or a JWKS URL with which the client authenticates by private_key_jwt.
`},
	{name: "clients revoke", minArgs: 1, maxArgs: 1, flags: noFlags(clientsRevoke), usage: `Usage: signingd clients revoke CLIENT_ID

Revokes a client: its tokens stop working within the revocation cache's lifetime; it stays listed.
`},
	{name: "clients delete", minArgs: 1, maxArgs: 1, flags: noFlags(clientsDelete), usage: `Usage: signingd clients delete CLIENT_ID

Deletes a client with its secrets, keys and API keys; its tokens stop working likewise.
`},
}}

// clientsDB is the open database of a clients command, with the landscape's organisations synced.
type clientsDB struct {
	cfg   config.Config
	store *store.Store
	close func()
}

func openClients(ctx context.Context, e env) (clientsDB, error) {
	cfg, _, pool, err := open(ctx, e.getenv, e.stderr)
	if err != nil {
		return clientsDB{}, err
	}
	st := store.New(pool, store.Jobs{})
	if err := st.SyncOrganisations(ctx, cfg.Landscape.OrganisationNames()); err != nil {
		pool.Close()
		return clientsDB{}, err
	}
	return clientsDB{cfg: cfg, store: st, close: pool.Close}, nil
}

// audit records a change made on the command line in the audit trail.
func (db clientsDB) audit(ctx context.Context, event, clientID, reason string) error {
	return db.store.InsertAudit(ctx, []store.AuditEntry{{At: time.Now(), Event: event, ClientID: clientID, Method: "cli", Reason: reason}})
}

func clientsCreate(fs *flag.FlagSet) action {
	rsin := fs.String("rsin", "", "RSIN of the client's organisation (must be in the landscape file)")
	name := fs.String("name", "", "a name for the client, e.g. the case system")
	scopes := fs.String("scopes", strings.Join(auth.AllScopes, ","), "comma-separated scopes: "+strings.Join(auth.AllAuthScopes, ", "))
	apiKey := fs.Bool("api-key", false, "also issue an API key (X-API-Key header)")
	keyFile := fs.String("key", "", "register a public key for private_key_jwt (JWK, PEM or ZITADEL key file)")
	jwksURI := fs.String("jwks-uri", "", "register a JWKS URL for private_key_jwt (host must be in CLIENT_JWKS_HOSTS)")
	noSecret := fs.Bool("no-secret", false, "a key-only client (private_key_jwt only): no secret; needs --key or --jwks-uri")
	return func(ctx context.Context, e env, _ []string) error {
		if *rsin == "" || *name == "" {
			return fmt.Errorf("clients create needs --rsin and --name")
		}
		if *keyFile != "" && *jwksURI != "" {
			return fmt.Errorf("clients create takes at most one of --key and --jwks-uri")
		}
		if *noSecret && *keyFile == "" && *jwksURI == "" {
			return fmt.Errorf("clients create --no-secret needs --key or --jwks-uri")
		}
		sc, err := parseScopes(*scopes)
		if err != nil {
			return err
		}
		db, err := openClients(ctx, e)
		if err != nil {
			return err
		}
		defer db.close()
		pep, err := pepper(db.cfg)
		if err != nil {
			return err
		}
		// Everything is checked and made before anything is written, and written in one
		// transaction: a bad key leaves no client behind.
		n := store.NewClient{ClientID: store.NewClientID(), Name: *name, RSIN: *rsin, Scopes: sc}
		var out strings.Builder
		fmt.Fprintf(&out, "client_id:     %s\n", n.ClientID)
		if !*noSecret {
			secret := auth.GenerateSecret()
			n.SecretDigest = auth.SecretDigest(pep, secret)
			fmt.Fprintf(&out, "client_secret: %s\n", secret)
		}
		if *apiKey {
			key := auth.GenerateAPIKey()
			n.APIKeyDigest = auth.NewAPIKeys(db.store, pep).Digest(key)
			fmt.Fprintf(&out, "api_key:       %s\n", key)
		}
		if *keyFile != "" || *jwksURI != "" {
			k, line, err := clientKey(db.cfg, *keyFile, *jwksURI, "")
			if err != nil {
				return err
			}
			n.Keys = append(n.Keys, k)
			fmt.Fprintln(&out, line)
		}
		c, err := db.store.RegisterClient(ctx, n)
		if err != nil {
			return err
		}
		fmt.Fprint(e.stdout, out.String())
		what := "The secret is shown only now. Get a token with client_credentials at %s%s.\n"
		if *noSecret {
			what = "A key-only client: get a token with client_credentials and private_key_jwt at %s%s.\n"
		}
		fmt.Fprintf(e.stdout, "\n"+what, strings.TrimRight(db.cfg.PublicURL, "/"), auth.TokenPath)
		return db.audit(ctx, auth.EventClientCreated, c.ClientID, "scopes "+strings.Join(sc, " "))
	}
}

func clientsList(ctx context.Context, e env, _ []string) error {
	db, err := openClients(ctx, e)
	if err != nil {
		return err
	}
	defer db.close()
	list, err := db.store.Clients(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CLIENT_ID\tNAME\tRSIN\tSCOPES\tCREATED\tREVOKED")
	for _, c := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.ClientID, c.Name, c.RSIN, strings.Join(c.Scopes, ","), c.CreatedAt.Format(time.RFC3339), revokedAt(c))
	}
	return tw.Flush()
}

func clientsShow(ctx context.Context, e env, args []string) error {
	db, err := openClients(ctx, e)
	if err != nil {
		return err
	}
	defer db.close()
	st, stdout := db.store, e.stdout
	c, err := st.ClientByClientID(ctx, args[0])
	if err != nil {
		return err
	}
	secrets, err := st.CountClientSecrets(ctx, c.ID, time.Now())
	if err != nil {
		return err
	}
	keys, err := st.ClientKeys(ctx, c.ID)
	if err != nil {
		return err
	}
	trail, err := st.AuditTrail(ctx, c.ClientID, 10)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "client_id:    %s\nname:         %s\nrsin:         %s\nscopes:       %s\ncreated:      %s\nrevoked:      %s\nsecrets:      %d valid\n",
		c.ClientID, c.Name, c.RSIN, strings.Join(c.Scopes, " "), c.CreatedAt.Format(time.RFC3339), revokedAt(c), secrets)
	for _, k := range keys {
		if k.JWKSURI != "" {
			fmt.Fprintf(stdout, "key:          jwks_uri %s (kid %q)\n", k.JWKSURI, k.KID)
		} else {
			fmt.Fprintf(stdout, "key:          kid %q, added %s\n", k.KID, k.CreatedAt.Format(time.RFC3339))
		}
	}
	if len(trail) > 0 {
		fmt.Fprintln(stdout, "\nrecent audit entries:")
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		for _, e := range trail {
			event := e.Event
			if e.Count > 1 {
				event += fmt.Sprintf(" ×%d", e.Count)
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", e.At.Format(time.RFC3339), event, e.Method, e.Address, e.Reason)
		}
		return tw.Flush()
	}
	return nil
}

func clientsRotateSecret(fs *flag.FlagSet) action {
	grace := fs.Duration("grace", 24*time.Hour, "how long the old secrets keep working (0: stop now)")
	return func(ctx context.Context, e env, args []string) error {
		id := args[0]
		db, err := openClients(ctx, e)
		if err != nil {
			return err
		}
		defer db.close()
		c, err := db.store.ClientByClientID(ctx, id)
		if err != nil {
			return err
		}
		if c.RevokedAt != nil {
			return fmt.Errorf("client %s is revoked", id)
		}
		pep, err := pepper(db.cfg)
		if err != nil {
			return err
		}
		secret := auth.GenerateSecret()
		until := time.Now().Add(*grace)
		if err := db.store.AddClientSecret(ctx, c.ID, auth.SecretDigest(pep, secret), &until); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "client_id:     %s\nclient_secret: %s\n\nThe secret is shown only now. Older secrets stop working at %s.\n",
			c.ClientID, secret, until.UTC().Format(time.RFC3339))
		return db.audit(ctx, auth.EventClientChanged, c.ClientID, "secret rotated, grace "+grace.String())
	}
}

func clientsAddKey(fs *flag.FlagSet) action {
	keyFile := fs.String("key", "", "public key file: JWK, PEM or ZITADEL key file")
	jwksURI := fs.String("jwks-uri", "", "JWKS URL (host must be in CLIENT_JWKS_HOSTS)")
	kid := fs.String("kid", "", "key id, when the file names none")
	return func(ctx context.Context, e env, args []string) error {
		if (*keyFile == "") == (*jwksURI == "") {
			return fmt.Errorf("clients add-key needs exactly one of --key and --jwks-uri")
		}
		db, err := openClients(ctx, e)
		if err != nil {
			return err
		}
		defer db.close()
		c, err := db.store.ClientByClientID(ctx, args[0])
		if err != nil {
			return err
		}
		k, line, err := clientKey(db.cfg, *keyFile, *jwksURI, *kid)
		if err != nil {
			return err
		}
		if _, err := db.store.AddClientKey(ctx, c.ID, k.KID, k.JWK, k.JWKSURI); err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, line)
		return db.audit(ctx, auth.EventClientChanged, c.ClientID, "key added")
	}
}

func clientsRevoke(ctx context.Context, e env, args []string) error {
	id := args[0]
	db, err := openClients(ctx, e)
	if err != nil {
		return err
	}
	defer db.close()
	if err := db.store.RevokeClient(ctx, id, time.Now().UTC()); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "revoked %s; its tokens stop working within %s\n", id, auth.RevocationCacheTTL)
	return db.audit(ctx, auth.EventClientRevoked, id, "")
}

func clientsDelete(ctx context.Context, e env, args []string) error {
	id := args[0]
	db, err := openClients(ctx, e)
	if err != nil {
		return err
	}
	defer db.close()
	if err := db.store.DeleteClient(ctx, id); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "deleted %s; its tokens stop working within %s\n", id, auth.RevocationCacheTTL)
	return db.audit(ctx, auth.EventClientDeleted, id, "")
}

func revokedAt(c store.Client) string {
	if c.RevokedAt == nil {
		return "-"
	}
	return c.RevokedAt.Format(time.RFC3339)
}

func parseScopes(s string) ([]string, error) {
	var out []string
	for sc := range strings.SplitSeq(s, ",") {
		sc = strings.TrimSpace(sc)
		if sc == "" {
			continue
		}
		if !slices.Contains(auth.AllAuthScopes, sc) {
			return nil, fmt.Errorf("unknown scope %q; known: %s", sc, strings.Join(auth.AllAuthScopes, ", "))
		}
		out = append(out, sc)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--scopes is empty")
	}
	return out, nil
}

// clientKey reads and checks a public key file or a JWKS URL for private_key_jwt, before anything
// is written, and returns it with the line that reports it.
func clientKey(cfg config.Config, keyFile, jwksURI, kid string) (store.ClientKey, string, error) {
	if jwksURI != "" {
		if err := auth.CheckJWKSURI(jwksURI, cfg.Auth.ClientJWKSHosts); err != nil {
			return store.ClientKey{}, "", err
		}
		return store.ClientKey{KID: kid, JWKSURI: jwksURI}, "jwks_uri:      " + jwksURI, nil
	}
	b, err := os.ReadFile(keyFile)
	if err != nil {
		return store.ClientKey{}, "", fmt.Errorf("read key: %w", err)
	}
	jwk, err := auth.ParsePublicKey(b)
	if err != nil {
		return store.ClientKey{}, "", err
	}
	if kid != "" {
		jwk.Kid = kid
	}
	if jwk.Kid == "" {
		jwk.Kid = jwk.Thumbprint()
	}
	raw, err := json.Marshal(jwk)
	if err != nil {
		return store.ClientKey{}, "", fmt.Errorf("key: %w", err)
	}
	return store.ClientKey{KID: jwk.Kid, JWK: raw}, "key_id:        " + jwk.Kid, nil
}
