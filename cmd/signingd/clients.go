package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/signingd/signingd/auth"
	"github.com/signingd/signingd/store"
)

func clients(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
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
	switch args[0] {
	case "create":
		fs := flag.NewFlagSet("clients create", flag.ContinueOnError)
		fs.SetOutput(stderr)
		rsin := fs.String("rsin", "", "RSIN of the client's organisation (must be in the landscape file)")
		name := fs.String("name", "", "a name for the client, e.g. the case system")
		scopes := fs.String("scopes", strings.Join(auth.AllScopes, ","), "comma-separated scopes")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *rsin == "" || *name == "" {
			return fmt.Errorf("clients create needs --rsin and --name")
		}
		pep, err := pepper(ctx, cfg, st)
		if err != nil {
			return err
		}
		c, err := st.CreateClient(ctx, store.NewClientID(), *name, *rsin, strings.Split(*scopes, ","))
		if err != nil {
			return err
		}
		key := auth.GenerateAPIKey()
		if err := st.AddAPIKey(ctx, c.ID, auth.NewAPIKeys(st, pep).Digest(key)); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "client_id: %s\napi_key:   %s\n\nThe API key is shown only now. Send it as the X-API-Key header.\n", c.ClientID, key)
		return nil
	case "list":
		list, err := st.Clients(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "CLIENT_ID\tNAME\tRSIN\tSCOPES\tCREATED\tREVOKED")
		for _, c := range list {
			revoked := "-"
			if c.RevokedAt != nil {
				revoked = c.RevokedAt.Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.ClientID, c.Name, c.RSIN, strings.Join(c.Scopes, ","), c.CreatedAt.Format(time.RFC3339), revoked)
		}
		return tw.Flush()
	case "revoke":
		if len(args) != 2 {
			return fmt.Errorf("clients revoke needs a client id")
		}
		if err := st.RevokeClient(ctx, args[1], time.Now().UTC()); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "revoked %s\n", args[1])
		return nil
	default:
		return fmt.Errorf("unknown clients command %q", args[0])
	}
}
