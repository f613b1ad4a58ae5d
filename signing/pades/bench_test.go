package pades

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Peak memory must not depend on the size of the PDF.
const peakLimit = 64 << 20

func BenchmarkSign1MB(b *testing.B)   { benchmarkSignPages(b, 1, 1<<20) }
func BenchmarkSign200MB(b *testing.B) { benchmarkSignPages(b, 200, 1<<20) }

// benchmarkSignPages signs a generated PDF of n pages, each with padding
// bytes of image data, and reports the peak heap in use while signing. The
// baseline, measured in the same run, is the SHA-256 of the same file read
// from disk: "ratio" is signing over hashing, the cost beyond reading and
// digesting the bytes once.
func benchmarkSignPages(b *testing.B, n, padding int) {
	dir := b.TempDir()
	src := filepath.Join(dir, "in.pdf")
	f, err := os.Create(src)
	if err != nil {
		b.Fatal(err)
	}
	pages := make([][]string, n)
	for i := range pages {
		pages[i] = []string{fmt.Sprintf("Pagina %d", i+1), "Handtekening: {{Signer1}}"}
	}
	// the placeholder sits on the last page, so every page is searched
	pages[n-1] = append(pages[n-1], "{{Bench}}")
	err = writePDF(f, genPDF{pages: pages, padding: padding})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		b.Fatal(err)
	}
	in, err := os.Open(src)
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close()
	st, _ := in.Stat()
	out, err := os.Create(filepath.Join(dir, "out.pdf"))
	if err != nil {
		b.Fatal(err)
	}
	defer out.Close()
	o := getPKI(b).signers["ecdsa"].options()
	o.Placeholder = "{{Bench}}"

	runtime.GC()
	peak := newPeakSampler()
	b.SetBytes(st.Size())
	b.ReportAllocs()
	b.ResetTimer()
	iters, start := 0, time.Now()
	for b.Loop() {
		if _, err := out.Seek(0, io.SeekStart); err != nil {
			b.Fatal(err)
		}
		if err := Sign(context.Background(), in, st.Size(), out, o); err != nil {
			b.Fatal(err)
		}
		iters++
	}
	b.StopTimer()
	p := peak.stop()
	sign := float64(time.Since(start).Nanoseconds()) / float64(iters)
	start = time.Now()
	for range iters {
		if _, err := in.Seek(0, io.SeekStart); err != nil {
			b.Fatal(err)
		}
		h := sha256.New()
		if _, err := io.Copy(h, in); err != nil {
			b.Fatal(err)
		}
	}
	hash := float64(time.Since(start).Nanoseconds()) / float64(iters)
	b.ReportMetric(hash, "ns/sha256")
	b.ReportMetric(sign/hash, "ratio")
	// the result must be a valid signature, not just fast
	if msg, err := exec.Command("pdfsig", out.Name()).CombinedOutput(); err != nil || !strings.Contains(string(msg), "Signature is Valid.") {
		b.Errorf("pdfsig on the signed file: %v\n%s", err, msg)
	}
	b.ReportMetric(float64(p)/(1<<20), "peak-heap-MiB")
	if p > peakLimit {
		b.Errorf("peak heap %d MiB exceeds %d MiB", p>>20, peakLimit>>20)
	}
}

// peakSampler polls the heap size (objects plus free space in in-use
// spans, i.e. HeapInuse) without stopping the world.
type peakSampler struct {
	max  atomic.Uint64
	done chan struct{}
	wg   sync.WaitGroup
}

func newPeakSampler() *peakSampler {
	s := &peakSampler{done: make(chan struct{})}
	samples := []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
	}
	read := func() {
		metrics.Read(samples)
		v := samples[0].Value.Uint64() + samples[1].Value.Uint64()
		for {
			old := s.max.Load()
			if v <= old || s.max.CompareAndSwap(old, v) {
				return
			}
		}
	}
	read()
	s.wg.Go(func() {
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-s.done:
				read()
				return
			case <-t.C:
				read()
			}
		}
	})
	return s
}

func (s *peakSampler) stop() uint64 {
	close(s.done)
	s.wg.Wait()
	return s.max.Load()
}

// BenchmarkSignManyObjects signs a file with 150,000 objects (50,000
// pages): memory must not grow with the number of objects either.
func BenchmarkSignManyObjects(b *testing.B) {
	benchmarkSignPages(b, 50000, 0)
}
