package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// writeReport writes docs/benchmarks.md.
func writeReport(w io.Writer, o options, m machine, figs Figures, failed []string, plots []figure) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	p("# Benchmarks\n\n")
	p("Written by `make bench` (`go run ./bench/report`) on %s. Every figure here comes from that one run,\n", m.date.Format("2006-01-02 15:04 UTC"))
	p("each beside its baseline measured in the same run; nothing is typed by hand. Run `make bench` again to\n")
	p("replace it; `make bench-raw` prints the benchmarks without writing the report.\n\n")

	p("## Machine and settings\n\n")
	p("| | |\n|---|---|\n")
	p("| CPU | %s |\n| cores (runtime.NumCPU) | %d |\n", m.cpu, m.cores)
	p("| load average (1, 5, 15 min) | %s at start, %s at end |\n", m.loadStart, m.loadEnd)
	p("| Go | %s |\n| commit | %s |\n", m.goVersion, m.commit)
	p("| go test | `-p 1 -run '^$' -bench %s -benchmem -benchtime %s`, one package at a time |\n", strings.ReplaceAll(o.bench, "|", `\|`), o.benchtime)
	p("| bench/intake | `-c %d -d %s` |\n| upload size | %d MiB |\n\n", o.intakeC, o.intakeD, o.uploadMiB)

	p("## Figures\n\n")
	p("Ratio is value over baseline: for a rate the fraction of the baseline's, for a time or a size the multiple.\n\n")
	p("| figure | value | baseline (same run) | ratio | target | met? |\n|---|---|---|---|---|---|\n")
	targets, met, missing := 0, 0, 0
	for _, r := range rows(o.uploadMiB) {
		c := r.cells(figs)
		target := r.target
		if target == "" {
			target = "—"
		}
		if r.met != nil {
			targets++
			switch c.met {
			case "yes":
				met++
			case "**not measured**":
				missing++
			}
		}
		p("| %s | %s | %s | %s | %s | %s |\n", r.figure, c.value, c.base, c.ratio, target, c.met)
	}
	for _, item := range notMeasured {
		p("| %s | not measured in this report | | | set in the issue | not measured |\n", item)
	}
	p("\nTargets met: %d of %d (%d not met, %d missing from this run); %d of the issue's items are not measured in this report.\n\n",
		met, targets, targets-met-missing, missing, len(notMeasured))
	if len(failed) > 0 {
		p("**Failed in this run** (their figures are missing or partial):\n\n")
		for _, f := range failed {
			p("- %s\n", strings.TrimSpace(f))
		}
		p("\n")
	}

	p("## What is measured\n\n")
	p(notes, o.intakeC, o.intakeD, o.uploadMiB, o.benchtime)

	if len(plots) > 0 {
		p("## Latency distributions\n\n")
		for _, f := range plots {
			p("![%s](%s)\n\n%s\n\n", f.caption, f.file, f.caption)
		}
	}

	p("## Every figure of the run\n\n")
	p("As the benchmarks reported them (the table above picks from these); the run's output is in\n")
	p("[bench/output.txt](bench/output.txt).\n\n")
	p("| benchmark | figures |\n|---|---|\n")
	for _, name := range slices.Sorted(maps.Keys(figs)) {
		var parts []string
		for _, unit := range slices.Sorted(maps.Keys(figs[name])) {
			parts = append(parts, fmt.Sprintf("%s %s", num(figs[name][unit]), unit))
		}
		p("| %s | %s |\n", name, strings.Join(parts, " · "))
	}
}

// notes says what each benchmark measures; its arguments are the intake's clients and duration, the
// upload size and the benchtime.
const notes = `- **Intake** (` + "`bench/intake`" + `): triggers (3 documents, 2 signers) posted over HTTP with an API key
  and an Idempotency-Key to the API as ` + "`serve`" + ` assembles it, without workers, from %[1]d clients for %[2]s.
  The floor is pgbench, same clients and duration, writing the very rows one intake writes (transaction,
  documents, signers, event, job, idempotency record) in one statement (data-modifying CTEs: one round
  trip); pgbench sending them a statement per round trip in one transaction is shown beside it. Intake
  and pgbench alternate over three rounds, each phase after a CHECKPOINT; the figures are those of the
  round with the median ratio. Then an open-loop run at half the best round's rate, latency measured
  from each request's scheduled start.
- **Workflow 1 000** (` + "`e2e`" + `, BenchmarkWorkflow1000): 1 000 transactions (1 document, 1 signer) end
  to end through the workflow with 100 workers, the ZGW simulator and a vendor that signs at once;
  latency from the last signature to the notification's arrival at the subscriber, in whole ms. The
  per-hop figures (progress, collect, upload+evidence, notify, delivery) are in the last table.
- **Waiting 100 000** (` + "`e2e`" + `, BenchmarkWaiting100k): transactions in awaiting_signatures (1 document,
  1 signer, their events, and the scheduled check_progress job of the polling chain, due in 1 to 2 hours)
  written with SQL in bulk for one organisation, then analyzed; signingd running with its workers and
  the default job poll interval (1 s). Idle CPU is the test process's user + system time over 10 s
  without requests, in percent of one core (Postgres's own work not included); the baseline is the
  same before anything was seeded. Lookups: 8 keep-alive clients in a closed loop for 5 s each, GET of
  a random transaction's status, then the first page (20) of a random zaak's transactions filtered on
  status, then the first page of all waiting transactions (status filter only: its count reads every
  one), each after 1 s of warm-up; the baseline is the same with 1 000 waiting, in the same run. On a small machine the 8
  clients, signingd and Postgres share its cores, so the p99 is mostly queueing for CPU: compare it
  with the 1 000 baseline.
- **PAdES** (` + "`signing/pades`" + `): signs a generated PDF (200 pages of 1 MB; 1 page of 1 MB; 50 000
  pages without padding) with ECDSA, the placeholder on the last page, and checks the result with
  pdfsig. Peak heap is sampled every millisecond. The baseline is the SHA-256 of the same file read
  from disk, as many times as it was signed, right after.
- **Upload** (` + "`zgw`" + `): the ZGW client writes a generated %[3]d MiB document as a new version through
  bestandsdelen of 8 MiB into the in-process ZGW simulator (lock, PATCH, a PUT per part, unlock). The
  baseline (BenchmarkLoopbackCopy, same ` + "`go test`" + ` run) is one plain HTTP PUT of the same bytes over
  loopback to a handler that discards them. Peak RSS is the kernel's high-water mark of the whole test
  process (simulator included) after a reset, so an upper bound for the client; peak heap is above the
  level at start. ` + "`BENCH_DOCUMENT_MIB=1024 make bench`" + ` measures 1 GiB.
- **Token endpoint** (` + "`auth`" + `): client_credentials with client_secret_basic over HTTP from 32
  keep-alive connections, audit trail on; the baseline is a trivial handler behind the same server,
  middleware and form parsing, measured in the same iteration.
- **Bearer validation** (` + "`auth`" + `): the bearer authenticator per request with keys cached; first
  use is a token never seen (signature, revocation and client checked), "seen before" skips the
  signature. The baseline is the bare signature check (SHA-256 and the public-key operation) on the
  same tokens.
- With ` + "`-benchtime %[4]s`" + ` a Go benchmark's figure may be a single iteration on a shared machine:
  compare ratios, which pair each figure with a baseline taken under the same load, rather than
  absolute figures across runs.

`
