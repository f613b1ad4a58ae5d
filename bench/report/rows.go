package main

import (
	"fmt"
	"math"
)

// row is one line of the report's table: a figure of the run, its baseline measured in the same
// run (when it has one), and the target the issue sets (when it sets one).
type row struct {
	figure    string
	bench     string // benchmark name without -GOMAXPROCS, or "intake" for bench/intake's summary
	unit      string // go test's unit or the custom metric's, or the summary's JSON key
	baseBench string // "" when the figure has no baseline
	baseUnit  string
	scale     float64 // multiplies value and baseline for display; 0 is 1
	shown     string  // the unit displayed
	target    string
	met       func(v, ratio float64) bool // nil when the issue sets no target
}

// notMeasured are the items this report does not measure.
var notMeasured = []string{
	"rolling upgrade (a test, not a benchmark: e2e TestRollingUpgrade)",
}

// rows maps the figures to the table; uploadMiB names the upload benchmarks' size.
func rows(uploadMiB int) []row {
	upload := fmt.Sprintf("BenchmarkUpload/%dMiB", uploadMiB)
	loopback := fmt.Sprintf("BenchmarkLoopbackCopy/%dMiB", uploadMiB)
	atLeast := func(x float64) func(v, r float64) bool { return func(v, _ float64) bool { return v >= x } }
	atMost := func(x float64) func(v, r float64) bool { return func(v, _ float64) bool { return v <= x } }
	ratioAtLeast := func(x float64) func(v, r float64) bool { return func(_, r float64) bool { return r >= x } }
	return []row{
		{figure: "intake over HTTP, median round (vs pgbench, same rows, one statement)", bench: "intake", unit: "intake_per_s",
			baseBench: "intake", baseUnit: "pgbench_one_statement_per_s", shown: "tx/s", target: "≥ 70 % of the floor", met: ratioAtLeast(0.70)},
		{figure: "intake over HTTP, same round (vs pgbench, a statement per round trip)", bench: "intake", unit: "intake_per_s",
			baseBench: "intake", baseUnit: "pgbench_per_statement_per_s", shown: "tx/s"},
		{figure: "intake p99 at half the peak rate", bench: "intake", unit: "half_peak_p99_ms", shown: "ms", target: "≤ 25 ms", met: atMost(25)},
		{figure: "intake p50 at half the peak rate", bench: "intake", unit: "half_peak_p50_ms", shown: "ms"},
		{figure: "workflow 1 000: last signature → notification, p99", bench: "BenchmarkWorkflow1000", unit: "p99-ms", shown: "ms", target: "≤ 500 ms", met: atMost(500)},
		{figure: "workflow 1 000: last signature → notification, p50", bench: "BenchmarkWorkflow1000", unit: "p50-ms", shown: "ms"},
		{figure: "workflow 1 000: throughput, trigger to completed", bench: "BenchmarkWorkflow1000", unit: "tx/s", shown: "tx/s"},
		{figure: "100 000 waiting: idle CPU of the process (vs empty database)", bench: "BenchmarkWaiting100k", unit: "idle-cpu-%",
			baseBench: "BenchmarkWaiting100k", baseUnit: "idle-cpu-empty-%", shown: "% of a core", target: "≈ 0 (≤ 2 % of a core)", met: atMost(2)},
		{figure: "100 000 waiting: status lookup p99, 8 clients (vs 1 000 waiting)", bench: "BenchmarkWaiting100k", unit: "status-p99-ms",
			baseBench: "BenchmarkWaiting100k", baseUnit: "status-p99-1k-ms", shown: "ms", target: "≤ 5 ms", met: atMost(5)},
		{figure: "100 000 waiting: status lookup p50, 8 clients", bench: "BenchmarkWaiting100k", unit: "status-p50-ms", shown: "ms"},
		{figure: "100 000 waiting: status lookups, 8 clients", bench: "BenchmarkWaiting100k", unit: "status-req/s", shown: "req/s"},
		{figure: "100 000 waiting: list by zaak and status p99, 8 clients (vs 1 000 waiting)", bench: "BenchmarkWaiting100k", unit: "list-p99-ms",
			baseBench: "BenchmarkWaiting100k", baseUnit: "list-p99-1k-ms", shown: "ms"},
		{figure: "100 000 waiting: list by zaak and status p50, 8 clients", bench: "BenchmarkWaiting100k", unit: "list-p50-ms", shown: "ms"},
		{figure: "100 000 waiting: list by status only (first page and count of all) p99, 8 clients (vs 1 000 waiting)", bench: "BenchmarkWaiting100k",
			unit: "list-status-p99-ms", baseBench: "BenchmarkWaiting100k", baseUnit: "list-status-p99-1k-ms", shown: "ms"},
		{figure: "PAdES sign 200 MB (vs SHA-256 of the same file)", bench: "BenchmarkSign200MB", unit: "ns/op",
			baseBench: "BenchmarkSign200MB", baseUnit: "ns/sha256", scale: 1e-9, shown: "s", target: "shown (no figure set)"},
		{figure: "PAdES sign 200 MB, peak heap", bench: "BenchmarkSign200MB", unit: "peak-heap-MiB", shown: "MiB", target: "≤ 64 MiB, any size", met: atMost(64)},
		{figure: "PAdES sign 1 MB (vs SHA-256 of the same file)", bench: "BenchmarkSign1MB", unit: "ns/op",
			baseBench: "BenchmarkSign1MB", baseUnit: "ns/sha256", scale: 1e-6, shown: "ms"},
		{figure: "PAdES sign 150 000 objects, peak heap", bench: "BenchmarkSignManyObjects", unit: "peak-heap-MiB", shown: "MiB", target: "≤ 64 MiB, any size", met: atMost(64)},
		{figure: fmt.Sprintf("upload %d MiB through bestandsdelen (vs plain loopback PUT)", uploadMiB), bench: upload, unit: "MB/s",
			baseBench: loopback, baseUnit: "MB/s", shown: "MB/s", target: "≥ 50 % of loopback", met: ratioAtLeast(0.50)},
		{figure: fmt.Sprintf("upload %d MiB, peak RSS of the process (vs loopback PUT)", uploadMiB), bench: upload, unit: "peak-RSS-MiB",
			baseBench: loopback, baseUnit: "peak-RSS-MiB", shown: "MiB", target: "≤ 150 MiB", met: atMost(150)},
		{figure: fmt.Sprintf("upload %d MiB, peak heap (vs loopback PUT)", uploadMiB), bench: upload, unit: "peak-MiB",
			baseBench: loopback, baseUnit: "peak-MiB", shown: "MiB"},
		{figure: "token endpoint, ES256 (vs trivial handler, same server)", bench: "BenchmarkTokenEndpoint/ES256", unit: "tokens/s",
			baseBench: "BenchmarkTokenEndpoint/ES256", baseUnit: "baseline-req/s", shown: "req/s", target: "≥ 5 000 tokens/s", met: atLeast(5000)},
		{figure: "token endpoint, RS256 (vs trivial handler, same server)", bench: "BenchmarkTokenEndpoint/RS256", unit: "tokens/s",
			baseBench: "BenchmarkTokenEndpoint/RS256", baseUnit: "baseline-req/s", shown: "req/s"},
		{figure: "bearer validation ES256, token's first use (vs bare signature check)", bench: "BenchmarkBearerValidation/ES256", unit: "ns/first-use",
			baseBench: "BenchmarkBearerValidation/ES256", baseUnit: "ns/signature-only", scale: 1e-3, shown: "µs", target: "≤ 50 µs", met: atMost(50)},
		{figure: "bearer validation ES256, token seen before (vs bare signature check)", bench: "BenchmarkBearerValidation/ES256", unit: "ns/repeat",
			baseBench: "BenchmarkBearerValidation/ES256", baseUnit: "ns/signature-only", scale: 1e-3, shown: "µs", target: "≤ 50 µs", met: atMost(50)},
		{figure: "bearer validation RS256, token's first use (vs bare signature check)", bench: "BenchmarkBearerValidation/RS256", unit: "ns/first-use",
			baseBench: "BenchmarkBearerValidation/RS256", baseUnit: "ns/signature-only", scale: 1e-3, shown: "µs"},
		{figure: "decode a full trigger", bench: "BenchmarkDecodeTrigger", unit: "ns/op", scale: 1e-3, shown: "µs"},
	}
}

// cells is a row's value, baseline, ratio and verdict as the table shows them.
type cells struct{ value, base, ratio, met string }

func (r row) cells(figs Figures) cells {
	scale := r.scale
	if scale == 0 {
		scale = 1
	}
	v, ok := figs[r.bench][r.unit]
	if !ok {
		return cells{value: "missing", base: "", ratio: "", met: verdict(r.met != nil, false, "**not measured**")}
	}
	c := cells{value: num(v*scale) + " " + r.shown, base: "—", ratio: "—"}
	ratio := math.NaN()
	if r.baseBench != "" {
		b, ok := figs[r.baseBench][r.baseUnit]
		if ok && b != 0 {
			ratio = v / b
			c.base, c.ratio = num(b*scale)+" "+r.shown, fmt.Sprintf("%.2f", ratio)
		} else {
			c.base = "missing"
		}
	}
	c.met = "—"
	if r.met != nil {
		c.met = verdict(true, r.met(v*scale, ratio), "**no**")
	}
	return c
}

func verdict(hasTarget, met bool, no string) string {
	switch {
	case !hasTarget:
		return "—"
	case met:
		return "yes"
	default:
		return no
	}
}

// num prints a figure with three significant digits or as an integer when larger.
func num(v float64) string {
	switch a := math.Abs(v); {
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	case a >= 1:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.3g", v)
	}
}
