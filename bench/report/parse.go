package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// Figures holds every figure of a run: benchmark name (without the -GOMAXPROCS suffix) → unit →
// value. The units are go test's (ns/op, B/op, allocs/op, MB/s) and every custom metric.
type Figures map[string]map[string]float64

// procsSuffix is the -GOMAXPROCS suffix go test appends to a benchmark's name.
var procsSuffix = regexp.MustCompile(`-\d+$`)

// parseLine reads one benchmark result line:
//
//	BenchmarkX/sub-2   	       1	   4220012 ns/op	 249.43 MB/s	 6.861 ratio	 3271192 B/op
//
// and returns the name without the -GOMAXPROCS suffix and the figures by unit. ok is false for
// any other line.
func parseLine(line string) (name string, m map[string]float64, ok bool) {
	f := strings.Fields(line)
	if len(f) < 4 || len(f)%2 != 0 || !strings.HasPrefix(f[0], "Benchmark") {
		return "", nil, false
	}
	if _, err := strconv.ParseUint(f[1], 10, 64); err != nil {
		return "", nil, false
	}
	m = map[string]float64{}
	for i := 2; i < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return "", nil, false
		}
		m[f[i+1]] = v
	}
	return procsSuffix.ReplaceAllString(f[0], ""), m, true
}

// testEvent is the part of a `go test -json` event the report reads.
type testEvent struct {
	Action  string
	Package string
	Test    string
	Output  string
}

// parseTestJSON reads the output of `go test -json -bench`, adds each benchmark's figures to figs,
// copies the benchmark output as text to echo, and returns the failed benchmarks and packages.
func parseTestJSON(r io.Reader, figs Figures, echo io.Writer) (failed []string, err error) {
	partial := map[string]string{} // output of a test not yet ended by a newline
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var ev testEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			fmt.Fprintln(echo, sc.Text()) // a build error, printed as is
			continue
		}
		switch ev.Action {
		case "fail":
			failed = append(failed, strings.TrimSpace(ev.Package+" "+ev.Test))
		case "output":
			text := partial[ev.Test] + ev.Output
			lines := strings.SplitAfter(text, "\n")
			partial[ev.Test] = lines[len(lines)-1]
			for _, l := range lines[:len(lines)-1] {
				if strings.HasPrefix(l, "=== ") || strings.HasPrefix(l, "--- ") && !strings.Contains(l, "FAIL") ||
					ev.Test != "" && strings.TrimSpace(l) == ev.Test { // the name, printed before the result
					continue
				}
				fmt.Fprint(echo, l)
				if name, m, ok := parseLine(l); ok {
					if figs[name] == nil {
						figs[name] = map[string]float64{}
					}
					for unit, v := range m {
						figs[name][unit] = v
					}
				}
			}
		}
	}
	return failed, sc.Err()
}
