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

// keysCommand manages the keys signingd signs its access tokens with.
var keysCommand = command{name: "keys", usage: `Usage:
  signingd keys list     the token signing keys: next, current, previous
  signingd keys rotate   make the next key current now; tokens of the old key keep working until they expire
`, sub: []command{
	{name: "keys list", flags: noFlags(keysList), usage: `Usage: signingd keys list

Lists the token signing keys: next, current and previous.
`},
	{name: "keys rotate", flags: noFlags(keysRotate), usage: `Usage: signingd keys rotate

Makes the next key current now; tokens signed with the old key keep working until they expire.
`},
}}

func keysList(ctx context.Context, e env, _ []string) error {
	return withKeyRing(ctx, e, func(*auth.KeyRing, *store.Store) error { return nil })
}

func keysRotate(ctx context.Context, e env, _ []string) error {
	return withKeyRing(ctx, e, func(ring *auth.KeyRing, st *store.Store) error {
		if err := ring.Rotate(ctx); err != nil {
			return err
		}
		if err := st.InsertAudit(ctx, []store.AuditEntry{{At: time.Now(), Event: auth.EventKeysRotated, Method: "cli"}}); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "rotated; other replicas sign with the new key within 30s\n\n")
		return nil
	})
}

// withKeyRing opens the key ring, runs change on it and prints the keys as they are then.
func withKeyRing(ctx context.Context, e env, change func(*auth.KeyRing, *store.Store) error) error {
	cfg, logger, pool, err := open(ctx, e.getenv, e.stderr)
	if err != nil {
		return err
	}
	defer pool.Close()
	st := store.New(pool, store.Jobs{})
	ring, err := openKeyRing(ctx, cfg, st, logger)
	if err != nil {
		return err
	}
	if err := change(ring, st); err != nil {
		return err
	}
	return printKeys(ctx, e.stdout, ring)
}

func printKeys(ctx context.Context, w io.Writer, ring *auth.KeyRing) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KID\tALG\tSTATE")
	for _, k := range ring.List(ctx) {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", k.KID, k.Alg, k.State)
	}
	return tw.Flush()
}
