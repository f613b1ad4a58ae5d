package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signingd/signingd/signing"
)

// BenchmarkWorkflow1000 runs 1 000 transactions end to end (1 document, 1 signer, evidence) with
// instant signing, and reports throughput and the latency from the last signature to the arrival
// of the notification at the subscriber (each latency in BENCH_SAMPLES_DIR when set).
func BenchmarkWorkflow1000(b *testing.B) {
	const n = 1000
	e := newEnv(b, envOptions{autoSign: true, jobs: func(c *jobsConfig) { c.Workers = 100 }})
	for b.Loop() {
		scenarios := make([]scenario, n)
		for i := range scenarios {
			scenarios[i] = e.scenario(1, 1)
		}
		start := time.Now()
		ids := make([]string, n)
		var wg sync.WaitGroup
		sem := make(chan struct{}, 32)
		for i := range scenarios {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				ids[i] = e.start(scenarios[i])
			}()
		}
		wg.Wait()
		var lat []time.Duration
		for _, id := range ids {
			tx := e.wait(id, 5*time.Minute)
			if tx.State != signing.StateCompleted {
				b.Fatalf("%s: %s %q", id, tx.State, tx.Reden)
			}
		}
		elapsed := time.Since(start)
		for _, id := range ids {
			e.waitMessages(id, 1)
			w, _ := e.st.Work(context.Background(), mustUUID(id))
			var last time.Time
			for _, s := range w.Signers {
				if s.SignedAt != nil && s.SignedAt.After(last) {
					last = *s.SignedAt
				}
			}
			e.nrc.mu.Lock()
			lat = append(lat, e.nrc.first[id].Sub(last))
			e.nrc.mu.Unlock()
		}
		slices.Sort(lat)
		writeSamples(b, "workflow-ms.txt", lat)
		e.reportPhases(b, ids)
		b.ReportMetric(float64(n)/elapsed.Seconds(), "tx/s")
		b.ReportMetric(float64(lat[len(lat)/2].Milliseconds()), "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Milliseconds()), "p99-ms")
	}
}

// writeSamples writes the latencies in ms, one a line, to name in BENCH_SAMPLES_DIR when that is
// set, for bench/report's plots.
func writeSamples(b *testing.B, name string, lat []time.Duration) {
	dir := os.Getenv("BENCH_SAMPLES_DIR")
	if dir == "" {
		return
	}
	var buf strings.Builder
	for _, d := range lat {
		fmt.Fprintf(&buf, "%.3f\n", float64(d.Microseconds())/1000)
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte(buf.String()), 0o644); err != nil {
		b.Fatal(err)
	}
}

// reportPhases reports the p50 and p99 of each hop after the last signature, from the events: the
// progress check that sees it, collect, upload and evidence, and the NRC delivery.
func (e *env) reportPhases(b *testing.B, ids []string) {
	phases := map[string][]time.Duration{}
	for _, id := range ids {
		w, err := e.st.Work(context.Background(), mustUUID(id))
		if err != nil {
			b.Fatal(err)
		}
		var last time.Time
		for _, s := range w.Signers {
			if s.SignedAt != nil && s.SignedAt.After(last) {
				last = *s.SignedAt
			}
		}
		at := map[string]time.Time{}
		for _, ev := range w.Events {
			if _, seen := at[string(ev.State)]; !seen {
				at[string(ev.State)] = ev.At
			}
		}
		e.nrc.mu.Lock()
		arrived := e.nrc.first[id]
		e.nrc.mu.Unlock()
		prev := last
		for _, p := range []struct {
			name string
			t    time.Time
		}{
			{"progress", at[string(signing.StateCollecting)]}, {"collect", at[string(signing.StateUploading)]},
			{"upload+evidence", at[string(signing.StateNotifying)]}, {"notify", at[string(signing.StateCompleted)]},
			{"delivery", arrived},
		} {
			phases[p.name] = append(phases[p.name], p.t.Sub(prev))
			prev = p.t
		}
	}
	for name, d := range phases {
		slices.Sort(d)
		b.ReportMetric(float64(d[len(d)/2].Milliseconds()), name+"-p50-ms")
		b.ReportMetric(float64(d[len(d)*99/100].Milliseconds()), name+"-p99-ms")
	}
}
