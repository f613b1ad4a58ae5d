package main

import (
	"io"
	"strings"
	"testing"
)

func TestParseLine(t *testing.T) {
	name, m, ok := parseLine("BenchmarkTokenEndpoint/ES256-2   \t       1\t 912345678 ns/op\t  5123 tokens/s\t 24001 baseline-req/s\t  0.2134 ratio\t 81234 B/op\t  567 allocs/op\n")
	if !ok || name != "BenchmarkTokenEndpoint/ES256" {
		t.Fatalf("name %q, ok %v", name, ok)
	}
	want := map[string]float64{"ns/op": 912345678, "tokens/s": 5123, "baseline-req/s": 24001, "ratio": 0.2134, "B/op": 81234, "allocs/op": 567}
	if len(m) != len(want) {
		t.Errorf("figures %v, want %v", m, want)
	}
	for unit, v := range want {
		if m[unit] != v {
			t.Errorf("%s = %v, want %v", unit, m[unit], v)
		}
	}
	for _, line := range []string{"BenchmarkX", "BenchmarkX-2 \t 1", "ok  \tgithub.com/signingd/signingd/auth\t3.1s", "BenchmarkX-2 1 12 ns/op 3", "BenchmarkX-2 1 x ns/op"} {
		if _, _, ok := parseLine(line); ok {
			t.Errorf("%q parsed as a benchmark line", line)
		}
	}
}

// go test -json splits output into events; a line may come in pieces and a failure is an event.
func TestParseTestJSON(t *testing.T) {
	in := `{"Action":"output","Package":"p","Test":"BenchmarkUpload/200MiB","Output":"BenchmarkUpload/200MiB-2   \t       1\t 101888919 ns/op\t 329.32 MB/s"}
{"Action":"output","Package":"p","Test":"BenchmarkUpload/200MiB","Output":"\t 8.000 part-MiB\t 0.6708 peak-MiB\t 15.12 peak-RSS-MiB\t 943880 B/op\t 2896 allocs/op\n"}
{"Action":"output","Package":"p","Test":"BenchmarkSign200MB","Output":"    bench_test.go:90: pdfsig failed\n"}
{"Action":"fail","Package":"p","Test":"BenchmarkSign200MB"}
`
	figs := Figures{}
	failed, err := parseTestJSON(strings.NewReader(in), figs, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	got := figs["BenchmarkUpload/200MiB"]
	if len(got) != 7 || got["peak-RSS-MiB"] != 15.12 || got["MB/s"] != 329.32 {
		t.Errorf("figures %v", got)
	}
	if len(failed) != 1 || failed[0] != "p BenchmarkSign200MB" {
		t.Errorf("failed %v", failed)
	}
}

// A row shows value, baseline, ratio and verdict; a figure the run lacks is marked, never blank.
func TestRowsCells(t *testing.T) {
	figs := Figures{"intake": {"intake_per_s": 700, "pgbench_one_statement_per_s": 1000}}
	for _, r := range rows(200) {
		if r.figure == "intake over HTTP, median round (vs pgbench, same rows, one statement)" {
			c := r.cells(figs)
			if c.value != "700 tx/s" || c.base != "1000 tx/s" || c.ratio != "0.70" || c.met != "yes" {
				t.Errorf("cells %+v", c)
			}
		}
		if r.bench == "BenchmarkWorkflow1000" && r.unit == "p99-ms" {
			if c := r.cells(figs); c.value != "missing" || c.met != "**not measured**" {
				t.Errorf("missing figure: %+v", c)
			}
		}
	}
}
