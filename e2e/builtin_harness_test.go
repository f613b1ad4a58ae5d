package e2e

import (
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/signingd/signingd/api"
	"github.com/signingd/signingd/config"
	"github.com/signingd/signingd/internal/app"
	"github.com/signingd/signingd/metrics"
	"github.com/signingd/signingd/signing"
	"github.com/signingd/signingd/signing/providers/builtin"
	"github.com/signingd/signingd/signing/providers/simulated"
	"github.com/signingd/signingd/store"
	"github.com/signingd/signingd/store/dbtest"
	"github.com/signingd/signingd/tracing"
	"github.com/signingd/signingd/workflow"
	"github.com/signingd/signingd/zgw"
	"github.com/signingd/signingd/zgw/sim"
)

// prodEnv is one signingd wired the way `signingd serve` wires it (cmd/signingd/serve.go):
// metrics on the API, the jobs and the ZGW transport, tracing through requests, jobs and outbound
// calls, and (with builtin) the built-in signer with its pages and dev outbox mounted on the API.
// Traces go to an in-memory exporter; metrics are served at /metrics.
type prodEnv struct {
	*env
	metrics *metrics.Metrics
	spans   *tracetest.InMemoryExporter
	outbox  *builtin.Outbox
	ca      *x509.Certificate // the built-in signer's demo CA
}

type prodOptions struct {
	builtin   bool // the organisation signs with the built-in signer instead of the simulated vendor
	noWebhook bool // the simulated vendor sends no webhooks: progress is seen by polling only
}

var (
	// devCert is the service certificate of every test: the built-in signer's and the evidence
	// reports'; devCA is its root.
	devCertOnce sync.Once
	devCert     builtin.Certificate
	devCA       *x509.Certificate
	devCertErr  error
)

func newProdEnv(t testing.TB, o prodOptions) *prodEnv {
	t.Helper()
	e := &env{t: t, rsin: dbtest.NewRSIN()}
	pe := &prodEnv{env: e}
	e.zgw = sim.NewServer(sim.Options{})
	t.Cleanup(e.zgw.Close)
	e.iot = e.zgw.SeedInformatieobjecttype(sim.IOTSeed{Omschrijving: "Bewijs van ondertekening"})
	e.zgw.SeedKanaal(signing.Kanaal)
	e.nrc = &subscriber{first: map[string]time.Time{}}
	e.nrc.srv = httptest.NewServer(e.nrc)
	t.Cleanup(e.nrc.srv.Close)
	if _, err := e.zgw.SeedAbonnement(e.nrc.srv.URL, "Bearer x", signing.Kanaal, nil); err != nil {
		t.Fatal(err)
	}

	// The API server exists first: the built-in signer's links point at it.
	var handler http.Handler = http.NotFoundHandler()
	var mu sync.RWMutex
	e.api = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.RLock()
		h := handler
		mu.RUnlock()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(e.api.Close)

	providerName := simulated.Name
	if o.builtin {
		providerName = builtin.Name
	}
	land, reg, pool := e.landscape(providerName, config.ServiceAuth{Mode: zgw.AuthNone})
	logger := slog.New(slog.DiscardHandler)
	if os.Getenv("E2E_LOG") != "" {
		logger = slog.New(tracing.LogHandler(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})))
	}

	// Metrics and tracing as serve wires them.
	pe.spans = tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(pe.spans))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	pe.metrics = metrics.New()
	pe.metrics.RegisterDatabase(pool)

	providers := map[string]signing.Provider{}
	if !o.builtin {
		e.vendor = simulated.NewServer(simulated.ServerOptions{})
		vsrv := httptest.NewServer(e.vendor.Handler())
		t.Cleanup(func() { vsrv.Close(); e.vendor.Close() })
		e.vendorURL = vsrv.URL
		// As buildProviders in serve: calls to the vendor carry the trace.
		providers[simulated.Name] = simulated.New(simulated.Config{BaseURL: vsrv.URL, WebhookSecret: webhookSecret,
			PollInterval: 300 * time.Millisecond, Client: &http.Client{Transport: tracing.Transport(tp, nil), Timeout: 30 * time.Second}})
	}
	cfg := workflow.Config{
		Workers: 20, Logger: logger, Registry: reg,
		HTTPClient:        &http.Client{Timeout: 5 * time.Second, Transport: tracing.Transport(tp, pe.metrics.Transport(zgw.DefaultTransport()))},
		RetryBase:         50 * time.Millisecond,
		RetryMax:          time.Second,
		LockRetry:         100 * time.Millisecond,
		FetchPollInterval: 50 * time.Millisecond,
		FetchCooldown:     10 * time.Millisecond,
		Sealer:            sealer(t),
		OrganisationNames: land.OrganisationNames(),
		Metrics:           pe.metrics,
		Tracer:            tp,
	}
	a := e.assemble(pool, land, cfg, func(st *store.Store, progress signing.ProgressFunc) (app.Parts, error) {
		var mounts []func(*echo.Echo)
		if o.builtin {
			if _, err := serviceCert(); err != nil {
				return app.Parts{}, err
			}
			pe.ca = devCA
			pe.outbox = builtin.NewOutbox()
			bp, err := builtin.New(builtin.Options{
				Store: store.BuiltinStore{Store: st}, PublicURL: e.api.URL, Progress: progress, Logger: logger.With("provider", builtin.Name),
				Mailer: pe.outbox, SMS: pe.outbox, Outbox: pe.outbox, Certificate: devCert,
				Secret:     []byte("builtin:e2e pepper of sufficient length"),
				LinkExpiry: config.Defaults().Builtin.LinkExpiry, OTPLockout: config.Defaults().Builtin.OTPLockout,
				Location: config.Defaults().TimeZone,
				Brands:   map[string]builtin.Brand{e.rsin: {Name: "Gemeente Test"}},
			})
			if err != nil {
				return app.Parts{}, err
			}
			runCtx, stop := context.WithCancel(context.Background())
			t.Cleanup(stop)
			go bp.Run(runCtx)
			providers[builtin.Name] = bp
			mounts = append(mounts, bp.Mount)
		}
		return app.Parts{Providers: providers, API: api.Deps{
			Landscape: land, CheckURL: reg.CheckResource, PublicURL: e.api.URL, Logger: logger, Mounts: mounts,
			Metrics: pe.metrics, ServeMetrics: true, Tracer: tp,
		}}, nil
	})
	mu.Lock()
	handler = a.Handler
	mu.Unlock()
	if e.vendor != nil && !o.noWebhook {
		e.vendor.SetWebhook(e.api.URL+"/api/v1/providers/simulated/webhook", webhookSecret)
	}
	return pe
}

// sample is one line of the Prometheus text format.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

// samples are the result of one scrape.
type samples []sample

// scrape fetches /metrics over HTTP and parses it.
func (pe *prodEnv) scrape() samples {
	pe.t.Helper()
	res, err := http.Get(pe.api.URL + "/metrics")
	if err != nil {
		pe.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		pe.t.Fatalf("/metrics: %d %s", res.StatusCode, b)
	}
	var out samples
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		s := sample{labels: map[string]string{}}
		if _, err := fmt.Sscan(line[i+1:], &s.value); err != nil {
			pe.t.Fatalf("metrics line %q: %v", line, err)
		}
		series := line[:i]
		name, rest, ok := strings.Cut(series, "{")
		s.name = name
		if ok {
			rest = strings.TrimSuffix(rest, "}")
			for rest != "" {
				k, after, _ := strings.Cut(rest, `="`)
				var v strings.Builder
				j := 0
				for ; j < len(after) && after[j] != '"'; j++ {
					if after[j] == '\\' && j+1 < len(after) {
						j++
					}
					v.WriteByte(after[j])
				}
				s.labels[k] = v.String()
				rest = strings.TrimPrefix(after[min(j+1, len(after)):], ",")
			}
		}
		out = append(out, s)
	}
	return out
}

// sum adds up the samples of the metric whose labels include the given name/value pairs; found
// says whether any matched.
func (ss samples) sum(name string, labels ...string) (total float64, found bool) {
	for _, s := range ss {
		if s.name != name {
			continue
		}
		match := true
		for i := 0; i+1 < len(labels); i += 2 {
			if s.labels[labels[i]] != labels[i+1] {
				match = false
			}
		}
		if match {
			total += s.value
			found = true
		}
	}
	return total, found
}

// serviceCert returns the tests' service certificate, made once.
func serviceCert() (builtin.Certificate, error) {
	devCertOnce.Do(func() { devCert, devCA, devCertErr = builtin.DevCertificate("Gemeente Test ondertekening") })
	return devCert, devCertErr
}

// sealer is the workflow's sealer of evidence reports with the tests' service certificate.
func sealer(t testing.TB) *workflow.Sealer {
	t.Helper()
	c, err := serviceCert()
	if err != nil {
		t.Fatal(err)
	}
	return &workflow.Sealer{Key: c.Key, Chain: c.Chain, Name: "Gemeente Test ondertekenservice"}
}
