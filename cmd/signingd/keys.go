package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/signingd/signingd/auth"
	"github.com/signingd/signingd/store"
)

const keysUsage = `Usage:
  signingd keys list     the token signing keys: next, current, previous
  signingd keys rotate   make the next key current now; tokens of the old key keep working until they expire
`

// keys manages the keys signingd signs its access tokens with.
func keys(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) != 1 {
		fmt.Fprint(stderr, keysUsage)
		return errUsage
	}
	cfg, logger, pool, err := open(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer pool.Close()
	st := store.New(pool, nil)
	pep, err := pepper(ctx, cfg, st)
	if err != nil {
		return err
	}
	ring, err := openKeyRing(ctx, cfg, st, pep, logger)
	if err != nil {
		return err
	}
	switch args[0] {
	case "list":
	case "rotate":
		if err := ring.Rotate(ctx); err != nil {
			return err
		}
		if err := st.InsertAudit(ctx, []store.AuditEntry{{At: time.Now(), Event: auth.EventKeysRotated, Method: "cli"}}); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "rotated; other replicas sign with the new key within 30s\n\n")
	default:
		fmt.Fprint(stderr, keysUsage)
		return fmt.Errorf("unknown keys command %q", args[0])
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KID\tALG\tSTATE")
	for _, k := range ring.List(ctx) {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", k.KID, k.Alg, k.State)
	}
	return tw.Flush()
}
