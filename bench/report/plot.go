package main

import (
	"bufio"
	"errors"
	"fmt"
	"image/color"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// figure is a plot written next to the report.
type figure struct{ file, caption string }

// series is a named latency distribution, in ms.
type series struct {
	name string
	ms   []float64
}

// makePlots draws the latency distributions the benchmarks left in samples into dir, and returns
// them in the order the report shows them. A distribution no benchmark wrote is left out.
func makePlots(samples, dir string) ([]figure, error) {
	wf, err := readSamples(filepath.Join(samples, "workflow-ms.txt"))
	if err != nil {
		return nil, err
	}
	peak, err := readSamples(filepath.Join(samples, "intake-peak-ms.txt"))
	if err != nil {
		return nil, err
	}
	half, err := readSamples(filepath.Join(samples, "intake-half-peak-ms.txt"))
	if err != nil {
		return nil, err
	}
	var out []figure
	if len(wf) > 0 {
		if err := histogram(filepath.Join(dir, "workflow-latency.png"), "Workflow 1 000: last signature → notification",
			"ms", wf, 500); err != nil {
			return nil, err
		}
		out = append(out, figure{"bench/workflow-latency.png", fmt.Sprintf(
			"Workflow 1 000: latency from the last signature to the notification's arrival, %d transactions; the dashed line is the 500 ms target for p99.", len(wf))})
		if err := cdf(filepath.Join(dir, "workflow-latency-cdf.png"), "Workflow 1 000: last signature → notification (CDF)",
			500, series{"workflow", wf}); err != nil {
			return nil, err
		}
		out = append(out, figure{"bench/workflow-latency-cdf.png", "The same latencies as a cumulative distribution."})
	}
	var intake []series
	if len(peak) > 0 {
		intake = append(intake, series{"as fast as it goes (median round)", peak})
	}
	if len(half) > 0 {
		intake = append(intake, series{"at half the peak rate", half})
	}
	if len(intake) > 0 {
		if err := cdf(filepath.Join(dir, "intake-latency-cdf.png"), "Intake over HTTP: latency per trigger (CDF)", 25, intake...); err != nil {
			return nil, err
		}
		out = append(out, figure{"bench/intake-latency-cdf.png", fmt.Sprintf(
			"Intake over HTTP: latency of each trigger at full speed (%d requests) and at half the peak rate (%d requests, open loop: from the scheduled start); the dashed line is the 25 ms target for p99 at half the peak rate.", len(peak), len(half))})
	}
	return out, nil
}

// readSamples reads one value a line; a file that does not exist has none.
func readSamples(path string) ([]float64, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var v []float64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if s := strings.TrimSpace(sc.Text()); s != "" {
			x, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			v = append(v, x)
		}
	}
	return v, sc.Err()
}

func histogram(path, title, unit string, ms []float64, target float64) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = unit
	p.Y.Label.Text = "transactions"
	h, err := plotter.NewHist(plotter.Values(ms), 40)
	if err != nil {
		return err
	}
	h.FillColor = color.RGBA{R: 70, G: 110, B: 180, A: 255}
	p.Add(h)
	top := 0.0
	for _, b := range h.Bins {
		top = max(top, b.Weight)
	}
	if _, err := targetLine(p, target, top); err != nil {
		return err
	}
	p.X.Min = 0
	return p.Save(16*vg.Centimeter, 9*vg.Centimeter, path)
}

func cdf(path, title string, target float64, ss ...series) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "ms"
	p.Y.Label.Text = "fraction ≤ x"
	p.Legend.Top, p.Legend.Left = false, false
	for i, s := range ss {
		v := slices.Clone(s.ms)
		slices.Sort(v)
		xys := make(plotter.XYs, len(v))
		for j, x := range v {
			xys[j] = plotter.XY{X: x, Y: float64(j+1) / float64(len(v))}
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return err
		}
		l.Color = plotutil.Color(i)
		l.Width = vg.Points(1.5)
		p.Add(l)
		p.Legend.Add(s.name, l)
	}
	l, err := targetLine(p, target, 1)
	if err != nil {
		return err
	}
	p.Legend.Add("target", l)
	p.Legend.XOffs = -vg.Points(12)
	p.Add(plotter.NewGrid())
	p.X.Min = 0
	return p.Save(16*vg.Centimeter, 9*vg.Centimeter, path)
}

// targetLine draws a dashed vertical line at x from 0 to top.
func targetLine(p *plot.Plot, x, top float64) (*plotter.Line, error) {
	l, err := plotter.NewLine(plotter.XYs{{X: x, Y: 0}, {X: x, Y: top}})
	if err != nil {
		return nil, err
	}
	l.Color = color.RGBA{R: 200, A: 255}
	l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	p.Add(l)
	return l, nil
}
