package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
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
`

// clients manages API clients: their secrets, private_key_jwt keys and API keys.
func clients(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, clientsUsage)
		return errUsage
	}
	cfg, _, pool, err := open(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer pool.Close()
	st := store.New(pool, nil)
	if err := st.SyncOrganisations(ctx, cfg.Landscape.Organisations); err != nil {
		return err
	}
	audit := func(event, clientID, reason string) error {
		return st.InsertAudit(ctx, []store.AuditEntry{{At: time.Now(), Event: event, ClientID: clientID, Method: "cli", Reason: reason}})
	}
	cmd, rest := args[0], args[1:]
	// Flags may follow the client id: `clients add-key ID --key f`.
	var id string
	if cmd != "create" && cmd != "list" {
		if len(rest) == 0 || strings.HasPrefix(rest[0], "-") {
			return fmt.Errorf("clients %s needs a client id", cmd)
		}
		id, rest = rest[0], rest[1:]
	}
	fs := flag.NewFlagSet("clients "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	switch cmd {
	case "create":
		rsin := fs.String("rsin", "", "RSIN of the client's organisation (must be in the landscape file)")
		name := fs.String("name", "", "a name for the client, e.g. the case system")
		scopes := fs.String("scopes", strings.Join(auth.AllScopes, ","), "comma-separated scopes: "+strings.Join(auth.AllAuthScopes, ", "))
		apiKey := fs.Bool("api-key", false, "also issue an API key (X-API-Key header)")
		keyFile := fs.String("key", "", "register a public key for private_key_jwt (JWK, PEM or ZITADEL key file)")
		jwksURI := fs.String("jwks-uri", "", "register a JWKS URL for private_key_jwt (host must be in CLIENT_JWKS_HOSTS)")
		if err := fs.Parse(rest); err != nil {
			return err
		}
		if *rsin == "" || *name == "" {
			return fmt.Errorf("clients create needs --rsin and --name")
		}
		sc, err := parseScopes(*scopes)
		if err != nil {
			return err
		}
		pep, err := pepper(ctx, cfg, st)
		if err != nil {
			return err
		}
		c, err := st.CreateClient(ctx, store.NewClientID(), *name, *rsin, sc)
		if err != nil {
			return err
		}
		secret := auth.GenerateSecret()
		if err := st.AddClientSecret(ctx, c.ID, auth.SecretDigest(pep, secret), nil); err != nil {
			return err
		}
		var keyLine string
		if *keyFile != "" || *jwksURI != "" {
			if keyLine, err = addKey(ctx, cfg, st, c, *keyFile, *jwksURI, ""); err != nil {
				return err
			}
		}
		fmt.Fprintf(stdout, "client_id:     %s\nclient_secret: %s\n", c.ClientID, secret)
		if *apiKey {
			key := auth.GenerateAPIKey()
			if err := st.AddAPIKey(ctx, c.ID, auth.NewAPIKeys(st, pep).Digest(key)); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "api_key:       %s\n", key)
		}
		if keyLine != "" {
			fmt.Fprintln(stdout, keyLine)
		}
		fmt.Fprintf(stdout, "\nThe secret is shown only now. Get a token with client_credentials at %s%s.\n",
			strings.TrimRight(cfg.PublicURL, "/"), auth.TokenPath)
		return audit(auth.EventClientCreated, c.ClientID, "scopes "+strings.Join(sc, " "))
	case "list":
		list, err := st.Clients(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "CLIENT_ID\tNAME\tRSIN\tSCOPES\tCREATED\tREVOKED")
		for _, c := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.ClientID, c.Name, c.RSIN, strings.Join(c.Scopes, ","), c.CreatedAt.Format(time.RFC3339), revokedAt(c))
		}
		return tw.Flush()
	case "show":
		c, err := st.ClientByClientID(ctx, id)
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
				fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", e.At.Format(time.RFC3339), e.Event, e.Method, e.Address, e.Reason)
			}
			return tw.Flush()
		}
		return nil
	case "rotate-secret":
		grace := fs.Duration("grace", 24*time.Hour, "how long the old secrets keep working (0: stop now)")
		if err := fs.Parse(rest); err != nil {
			return err
		}
		c, err := st.ClientByClientID(ctx, id)
		if err != nil {
			return err
		}
		if c.RevokedAt != nil {
			return fmt.Errorf("client %s is revoked", id)
		}
		pep, err := pepper(ctx, cfg, st)
		if err != nil {
			return err
		}
		secret := auth.GenerateSecret()
		until := time.Now().Add(*grace)
		if err := st.AddClientSecret(ctx, c.ID, auth.SecretDigest(pep, secret), &until); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "client_id:     %s\nclient_secret: %s\n\nThe secret is shown only now. Older secrets stop working at %s.\n",
			c.ClientID, secret, until.UTC().Format(time.RFC3339))
		return audit(auth.EventClientChanged, c.ClientID, "secret rotated, grace "+grace.String())
	case "add-key":
		keyFile := fs.String("key", "", "public key file: JWK, PEM or ZITADEL key file")
		jwksURI := fs.String("jwks-uri", "", "JWKS URL (host must be in CLIENT_JWKS_HOSTS)")
		kid := fs.String("kid", "", "key id, when the file names none")
		if err := fs.Parse(rest); err != nil {
			return err
		}
		if (*keyFile == "") == (*jwksURI == "") {
			return fmt.Errorf("clients add-key needs exactly one of --key and --jwks-uri")
		}
		c, err := st.ClientByClientID(ctx, id)
		if err != nil {
			return err
		}
		line, err := addKey(ctx, cfg, st, c, *keyFile, *jwksURI, *kid)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, line)
		return audit(auth.EventClientChanged, c.ClientID, "key added")
	case "revoke":
		if err := st.RevokeClient(ctx, id, time.Now().UTC()); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "revoked %s; its tokens stop working within %s\n", id, auth.RevocationCacheTTL)
		return audit(auth.EventClientRevoked, id, "")
	case "delete":
		if err := st.DeleteClient(ctx, id); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "deleted %s; its tokens stop working within %s\n", id, auth.RevocationCacheTTL)
		return audit(auth.EventClientDeleted, id, "")
	default:
		fmt.Fprint(stderr, clientsUsage)
		return fmt.Errorf("unknown clients command %q", cmd)
	}
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

// addKey registers a public key file or a JWKS URL for private_key_jwt.
func addKey(ctx context.Context, cfg config.Config, st *store.Store, c store.Client, keyFile, jwksURI, kid string) (string, error) {
	if jwksURI != "" {
		if err := auth.CheckJWKSURI(jwksURI, cfg.Auth.ClientJWKSHosts); err != nil {
			return "", err
		}
		if _, err := st.AddClientKey(ctx, c.ID, kid, nil, jwksURI); err != nil {
			return "", err
		}
		return "jwks_uri:      " + jwksURI, nil
	}
	b, err := os.ReadFile(keyFile)
	if err != nil {
		return "", fmt.Errorf("read key: %w", err)
	}
	jwk, err := auth.ParsePublicKey(b)
	if err != nil {
		return "", err
	}
	if kid != "" {
		jwk.Kid = kid
	}
	if jwk.Kid == "" {
		jwk.Kid = jwk.Thumbprint()
	}
	raw, _ := json.Marshal(jwk)
	if _, err := st.AddClientKey(ctx, c.ID, jwk.Kid, raw, ""); err != nil {
		return "", err
	}
	return "key_id:        " + jwk.Kid, nil
}
