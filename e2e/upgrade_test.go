package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestRollingUpgrade is the upgrade docs/operations.md promises: the new release migrates the
// database, and while its replicas replace those of the previous release, both run side by side
// on the newer schema and share the work; no transaction fails. The previous release is the
// commit before the newest migration was added (PREVIOUS_REF overrides it), built from this
// repository's history.
func TestRollingUpgrade(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the previous release")
	}
	if out, err := exec.Command("git", "rev-parse", "--is-shallow-repository").Output(); err != nil || strings.TrimSpace(string(out)) != "false" {
		t.Skipf("the previous release is built from this repository's history, which this checkout lacks (%v)", err)
	}
	ref := os.Getenv("PREVIOUS_REF")
	if ref == "" {
		ref = beforeNewestMigration(t)
	}
	p := newProcs(t, "Upgrade", true)
	old := filepath.Join(t.TempDir(), "signingd-previous")
	src := filepath.Join(t.TempDir(), "previous")
	if out, err := exec.Command("git", "worktree", "add", "--detach", src, ref).CombinedOutput(); err != nil {
		t.Fatalf("check out %s: %v\n%s", ref, err, out)
	}
	t.Cleanup(func() { _ = exec.Command("git", "worktree", "remove", "--force", src).Run() })
	build := exec.Command("go", "build", "-o", old, "./cmd/signingd")
	build.Dir = src
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", ref, err, out)
	}

	// The previous release runs first, on its own schema.
	oldAddr, newAddr := freeAddr(t), freeAddr(t)
	p.vendor.SetWebhook("http://"+oldAddr+"/api/v1/providers/simulated/webhook", webhookSecret)
	// Its landscape as it reads one: before vendor accounts had base_url, the simulated vendor's
	// settings were free-form.
	oldEnv := p.env
	if show, err := exec.Command("git", "show", ref+":config/landscape.go").Output(); err == nil && !strings.Contains(string(show), `yaml:"base_url"`) {
		land, err := os.ReadFile(p.landFile)
		if err != nil {
			t.Fatal(err)
		}
		old := strings.NewReplacer(`    base_url: "`+p.vendorURL+`"`, `    settings: {url: "`+p.vendorURL+`", webhook_secret: "`+webhookSecret+`", poll_interval: 500ms}`,
			`    callback_key: "`+webhookSecret+`"`+"\n", "", "    poll_interval: 500ms\n", "").Replace(string(land))
		oldFile := filepath.Join(t.TempDir(), "landscape-previous.yaml")
		if err := os.WriteFile(oldFile, []byte(old), 0o600); err != nil {
			t.Fatal(err)
		}
		oldEnv = append(slices.Clone(p.env), "CONFIG_FILE="+oldFile)
	}
	previous := p.startWith(t, old, oldEnv, oldAddr)
	defer stop(previous)
	post := func(base string, n int) []string {
		var ids []string
		for range n {
			ids = append(ids, postTrigger(t, base, p.key, p.e.scenario(1, 1).trigger))
		}
		return ids
	}
	ids := post("http://"+oldAddr, 10)

	// The new release migrates (as its Job does) and starts beside it; both take triggers.
	migrate := exec.Command(p.bin, "migrate")
	migrate.Env = p.env
	if out, err := migrate.CombinedOutput(); err != nil {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	current := p.start(t, newAddr)
	defer stop(current)
	var wg sync.WaitGroup
	var more [2][]string
	wg.Go(func() { more[0] = post("http://"+oldAddr, 20) })
	wg.Go(func() { more[1] = post("http://"+newAddr, 20) })
	wg.Wait()
	ids = append(append(ids, more[0]...), more[1]...)

	// Then the previous release is gone; the new one finishes what is left.
	time.Sleep(2 * time.Second)
	stop(previous)
	deadline := time.Now().Add(2 * time.Minute)
	if p.waitCompleted(t, ids, deadline) > 0 {
		return
	}
	var by []string
	rows, err := p.pool.Query(context.Background(), `SELECT DISTINCT attempted_by[array_length(attempted_by, 1)] FROM river_job
		WHERE args->>'transaction_id' IS NOT NULL AND array_length(attempted_by, 1) > 0`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		by = append(by, s)
	}
	rows.Close()
	if len(by) < 2 {
		t.Errorf("the jobs ran on %v: the two releases did not share the work", by)
	}
	t.Logf("previous release %s and this one: %d transactions completed, jobs on %d processes", ref, len(ids), len(by))
}

// beforeNewestMigration is the commit before the newest migration came in: the previous schema's
// release.
func beforeNewestMigration(t *testing.T) string {
	t.Helper()
	files, err := filepath.Glob("../migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("no migrations: %v", err)
	}
	sort.Strings(files)
	out, err := exec.Command("git", "log", "-n1", "--diff-filter=A", "--format=%H", "--", files[len(files)-1]).Output()
	if err != nil || len(strings.TrimSpace(string(out))) == 0 {
		t.Fatalf("the commit of %s: %v (a shallow clone?)", files[len(files)-1], err)
	}
	return strings.TrimSpace(string(out)) + "^"
}
