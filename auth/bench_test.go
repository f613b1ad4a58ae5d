package auth_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/signingd/signingd/auth"
)

// benchRequests is how many requests one benchmark iteration sends, so that `make bench`
// (-benchtime 1x) still measures a steady state.
const benchRequests = 4000

// benchConcurrency is the number of client connections.
const benchConcurrency = 32

// hammer sends n requests made by mk from benchConcurrency goroutines over keep-alive connections
// and returns requests per second.
func hammer(b *testing.B, n int, mk func() *http.Request) float64 {
	b.Helper()
	tr := &http.Transport{MaxIdleConns: benchConcurrency, MaxIdleConnsPerHost: benchConcurrency}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	var left atomic.Int64
	left.Store(int64(n))
	var failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range benchConcurrency {
		wg.Go(func() {
			for left.Add(-1) >= 0 {
				res, err := hc.Do(mk())
				if err != nil {
					failed.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if f := failed.Load(); f > 0 {
		b.Fatalf("%d of %d requests failed", f, n)
	}
	return float64(n) / elapsed.Seconds()
}

func benchEnv(b *testing.B) *env {
	return setup(b, func(o *options) {
		o.ratePerClient, o.ratePerAddress, o.lockout = 1e9, 1e9, 1e9
		o.mounts = []func(*echo.Echo){func(e *echo.Echo) {
			// The baseline: a trivial handler behind the same server, middleware and form parsing.
			e.POST("/bench/trivial", func(c echo.Context) error {
				_ = c.Request().ParseForm()
				return c.JSON(http.StatusOK, map[string]string{"grant_type": c.Request().PostForm.Get("grant_type")})
			})
		}}
	})
}

// BenchmarkTokenEndpoint issues tokens over HTTP with client_secret_basic, audit trail on.
func BenchmarkTokenEndpoint(b *testing.B) {
	e := benchEnv(b)
	id, secret := e.client()
	body := url.Values{"grant_type": {"client_credentials"}}.Encode()
	mk := func() *http.Request {
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+auth.TokenPath, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(id, secret)
		return req
	}
	hammer(b, 200, mk) // warm up connections and caches
	b.ResetTimer()
	var rate float64
	for range b.N {
		rate = hammer(b, benchRequests, mk)
	}
	b.StopTimer()
	e.svc.FlushAudit()
	b.ReportMetric(rate, "tokens/s")
}

// BenchmarkTrivialHandler is the baseline for BenchmarkTokenEndpoint: the same HTTP path with a
// handler that does nothing.
func BenchmarkTrivialHandler(b *testing.B) {
	e := benchEnv(b)
	body := url.Values{"grant_type": {"client_credentials"}}.Encode()
	mk := func() *http.Request {
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/bench/trivial", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("client", "secret")
		return req
	}
	hammer(b, 200, mk)
	b.ResetTimer()
	var rate float64
	for range b.N {
		rate = hammer(b, benchRequests, mk)
	}
	b.ReportMetric(rate, "req/s")
}

// BenchmarkBearerValidation measures the bearer authenticator with the keys cached: "repeat" is a
// token seen before (signature checked once, revocation and client still checked every time),
// "first-use" a token never seen (full ES256 verification).
func BenchmarkBearerValidation(b *testing.B) {
	e := benchEnv(b)
	id, _ := e.client()
	ctx := context.Background()
	const perIter = 2000
	run := func(b *testing.B, tokens func(i int) string) {
		req, _ := http.NewRequest(http.MethodGet, "/api/v1/transactions", nil)
		req.Header.Set("Authorization", "Bearer "+tokens(0))
		if _, err := e.bearer.Authenticate(ctx, req); err != nil { // warm the client and revocation caches
			b.Fatal(err)
		}
		b.ResetTimer()
		start := time.Now()
		for i := range b.N * perIter {
			req.Header.Set("Authorization", "Bearer "+tokens(i))
			if _, err := e.bearer.Authenticate(ctx, req); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(time.Since(start).Nanoseconds())/float64(b.N*perIter), "ns/validation")
	}
	b.Run("repeat", func(b *testing.B) {
		tok := e.forge(e.goodClaims(id), nil)
		run(b, func(int) string { return tok })
	})
	b.Run("first-use", func(b *testing.B) {
		toks := make([]string, b.N*perIter+1)
		for i := range toks {
			toks[i] = e.forge(e.goodClaims(id), nil)
		}
		run(b, func(i int) string { return toks[i+1] })
	})
}
