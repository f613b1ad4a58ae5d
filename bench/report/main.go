// Command report runs the benchmarks, one package at a time, and bench/intake, and writes
// docs/benchmarks.md from that run: one table of figures with their same-run baselines, ratios and
// targets, the machine, notes on what each benchmark measures, and latency plots in docs/bench/.
// `make bench` runs it; nothing in the report is typed by hand.
//
//	go run ./bench/report [-benchtime 1x] [-intake-c 8] [-intake-d 10s]
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench report:", err)
		os.Exit(1)
	}
}

// options are the settings of a run, printed in the report.
type options struct {
	benchtime string
	bench     string // -bench pattern
	intakeC   int
	intakeD   time.Duration
	out       string
	uploadMiB int
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	var o options
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.StringVar(&o.benchtime, "benchtime", "1x", "go test -benchtime")
	fs.StringVar(&o.bench, "bench", ".", "go test -bench")
	fs.IntVar(&o.intakeC, "intake-c", 8, "bench/intake -c: concurrent clients")
	fs.DurationVar(&o.intakeD, "intake-d", 10*time.Second, "bench/intake -d: duration of each measurement")
	fs.StringVar(&o.out, "out", "docs/benchmarks.md", "the report; its plots go in bench/ beside it")
	if err := fs.Parse(args); err != nil {
		return err
	}
	o.uploadMiB = 200
	if v := os.Getenv("BENCH_DOCUMENT_MIB"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("BENCH_DOCUMENT_MIB=%q: %w", v, err)
		}
		o.uploadMiB = n
	}
	m := machineNow()
	samples, err := os.MkdirTemp("", "bench-samples-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(samples)
	env := append(os.Environ(), "BENCH_SAMPLES_DIR="+samples)

	pkgs, err := benchPackages(ctx)
	if err != nil {
		return err
	}
	var raw bytes.Buffer
	echo := io.MultiWriter(stdout, &raw)
	figs := Figures{}
	var failed []string
	for _, pkg := range pkgs {
		fmt.Fprintf(echo, "== %s\n", pkg)
		cmd := exec.CommandContext(ctx, "go", "test", "-json", "-p", "1", "-run", "^$", "-bench", o.bench, "-benchmem",
			"-benchtime", o.benchtime, "-timeout", "60m", pkg)
		var stderr bytes.Buffer
		cmd.Env, cmd.Stderr = env, io.MultiWriter(stdout, &stderr)
		out, err := cmd.StdoutPipe()
		if err != nil {
			return err
		}
		if err := cmd.Start(); err != nil {
			return err
		}
		f, perr := parseTestJSON(out, figs, echo)
		if err := errors.Join(perr, cmd.Wait()); err != nil && len(f) == 0 {
			f = append(f, pkg+": "+err.Error())
		}
		failed = append(failed, f...)
		raw.Write(stderr.Bytes())
	}

	fmt.Fprintln(echo, "== bench/intake")
	cmd := exec.CommandContext(ctx, "go", "run", "./bench/intake", "-c", strconv.Itoa(o.intakeC), "-d", o.intakeD.String())
	var intakeOut bytes.Buffer
	cmd.Env, cmd.Stdout, cmd.Stderr = env, io.MultiWriter(echo, &intakeOut), echo
	if err := cmd.Run(); err != nil {
		failed = append(failed, "bench/intake: "+err.Error())
	} else if err := parseIntake(intakeOut.String(), figs); err != nil {
		failed = append(failed, "bench/intake: "+err.Error())
	}
	m.loadEnd = loadavg()

	dir := filepath.Join(filepath.Dir(o.out), "bench")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	plots, err := makePlots(samples, dir)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "output.txt"), raw.Bytes(), 0o644); err != nil {
		return err
	}
	var doc bytes.Buffer
	writeReport(&doc, o, m, figs, failed, plots)
	if err := os.WriteFile(o.out, doc.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s\n", o.out)
	if len(failed) > 0 {
		return fmt.Errorf("failed: %s", strings.Join(failed, "; "))
	}
	return nil
}

// benchFunc finds a benchmark in a test file.
var benchFunc = regexp.MustCompile(`(?m)^func Benchmark\w*\(b \*testing\.B\)`)

// benchPackages lists the module's packages that have benchmarks, in go list's order.
func benchPackages(ctx context.Context) ([]string, error) {
	out, err := exec.CommandContext(ctx, "go", "list", "-f", `{{.ImportPath}} {{.Dir}} {{join .TestGoFiles ","}},{{join .XTestGoFiles ","}}`, "./...").Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %w", err)
	}
	var pkgs []string
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		for name := range strings.SplitSeq(f[2], ",") {
			if name == "" {
				continue
			}
			src, err := os.ReadFile(filepath.Join(f[1], name))
			if err != nil {
				return nil, err
			}
			if benchFunc.Match(src) {
				pkgs = append(pkgs, f[0])
				break
			}
		}
	}
	return pkgs, nil
}

// parseIntake reads bench/intake's last line, its JSON summary, into figs["intake"].
func parseIntake(out string, figs Figures) error {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var sum map[string]float64
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &sum); err != nil {
		return fmt.Errorf("no JSON summary on the last line: %w", err)
	}
	figs["intake"] = sum
	return nil
}

// machine is what the report says about where it ran.
type machine struct {
	date                   time.Time
	cores                  int
	cpu, goVersion, commit string
	loadStart, loadEnd     string
}

func machineNow() machine {
	m := machine{date: time.Now().UTC(), cores: runtime.NumCPU(), loadStart: loadavg(), cpu: "unknown", goVersion: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := exec.Command("go", "version").Output(); err == nil {
		m.goVersion = strings.TrimPrefix(strings.TrimSpace(string(b)), "go version ")
	}
	if b, err := exec.Command("git", "describe", "--always", "--dirty").Output(); err == nil {
		m.commit = strings.TrimSpace(string(b))
	}
	return m
}

// loadavg is the 1, 5 and 15 minute load averages.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
