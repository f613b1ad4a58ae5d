package tracing_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/signingd/signingd/store/dbtest"
	"github.com/signingd/signingd/tracing"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

type stepArgs struct {
	TransactionID string `json:"transaction_id"`
	Step          int    `json:"step"`
}

func (stepArgs) Kind() string { return "test_step" }

type stepWorker struct {
	river.WorkerDefaults[stepArgs]
	hc       *http.Client
	upstream string
	client   func() *river.Client[pgx.Tx]
	done     chan struct{}
}

func (w *stepWorker) Work(ctx context.Context, job *river.Job[stepArgs]) error {
	req, _ := http.NewRequestWithContext(ctx, "GET", w.upstream, nil)
	res, err := w.hc.Do(req)
	if err != nil {
		return err
	}
	res.Body.Close()
	if job.Args.Step == 1 {
		_, err := w.client().Insert(ctx, stepArgs{TransactionID: job.Args.TransactionID, Step: 2}, nil)
		return err
	}
	close(w.done)
	return nil
}

// TestOneTraceFromRequestThroughJobs follows a request that enqueues a job, which calls out and
// enqueues the next: every span and every outbound traceparent belongs to the request's trace.
func TestOneTraceFromRequestThroughJobs(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))

	var mu sync.Mutex
	var traceparents []string
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		traceparents = append(traceparents, r.Header.Get("traceparent"))
		mu.Unlock()
	}))
	defer upstream.Close()

	var rc *river.Client[pgx.Tx]
	worker := &stepWorker{hc: &http.Client{Transport: tracing.Transport(tp, nil)}, upstream: upstream.URL,
		client: func() *river.Client[pgx.Tx] { return rc }, done: make(chan struct{})}
	workers := river.NewWorkers()
	river.AddWorker(workers, worker)
	mw := tracing.NewJobMiddleware(tp)
	var err error
	rc, err = river.NewClient(riverpgxv5.New(dbtest.Pool(t)), &river.Config{
		Queues: map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 2}}, Workers: workers,
		Middleware: []rivertype.Middleware{mw}, FetchPollInterval: 50 * time.Millisecond, FetchCooldown: 10 * time.Millisecond,
		TestOnly: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := rc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer rc.Stop(context.Background()) //nolint:errcheck

	var logs bytes.Buffer
	logger := slog.New(tracing.LogHandler(slog.NewJSONHandler(&logs, nil)))
	e := echo.New()
	e.Use(tracing.Middleware(tp))
	e.POST("/api/v1/transactions", func(c echo.Context) error {
		tracing.SetTransaction(c.Request().Context(), "tx-1")
		logger.InfoContext(c.Request().Context(), "transaction received")
		if _, err := rc.Insert(c.Request().Context(), stepArgs{TransactionID: "tx-1", Step: 1}, nil); err != nil {
			return err
		}
		return c.NoContent(http.StatusOK)
	})
	srv := httptest.NewServer(e)
	defer srv.Close()
	res, err := http.Post(srv.URL+"/api/v1/transactions", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()

	select {
	case <-worker.done:
	case <-time.After(20 * time.Second):
		t.Fatal("jobs did not run")
	}
	// the last job span ends after Work returns: wait for both to be exported
	var spans tracetest.SpanStubs
	for deadline := time.Now().Add(20 * time.Second); ; {
		spans = exp.GetSpans()
		n := 0
		for _, s := range spans {
			if s.Name == "job test_step" {
				n++
			}
		}
		if n >= 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	var root string
	names := map[string]bool{}
	for _, s := range spans {
		names[s.Name] = true
		if s.Name == "POST /api/v1/transactions" {
			root = s.SpanContext.TraceID().String()
		}
	}
	if root == "" {
		t.Fatalf("no request span among %v", names)
	}
	jobSpans := 0
	for _, s := range spans {
		if s.SpanContext.TraceID().String() != root {
			t.Errorf("span %q is in another trace", s.Name)
		}
		if s.Name == "job test_step" {
			jobSpans++
		}
	}
	if jobSpans != 2 {
		t.Errorf("job spans = %d, want 2 (names %v)", jobSpans, names)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(traceparents) != 2 {
		t.Fatalf("upstream calls = %d", len(traceparents))
	}
	for _, tp := range traceparents {
		if !strings.Contains(tp, root) {
			t.Errorf("outbound traceparent %q is not in trace %s", tp, root)
		}
	}
	if !strings.Contains(logs.String(), `"trace_id":"`+root+`"`) {
		t.Errorf("log line lacks the trace id: %s", logs.String())
	}
}

// TestContinueTrace: work started from a webhook request joins the transaction's trace and links
// back to the webhook's span.
func TestContinueTrace(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	trigger, span := tp.Tracer("t").Start(context.Background(), "POST /api/v1/transactions")
	stored := tracing.Traceparent(trigger)
	span.End()
	if stored == "" {
		t.Fatal("no traceparent for a recording span")
	}
	webhook, wspan := tp.Tracer("t").Start(context.Background(), "POST /api/v1/providers/:name/webhook")
	ctx, end := tracing.ContinueTrace(webhook, tp, stored, "provider progressed")
	if got := tracing.Traceparent(ctx); !strings.Contains(got, span.SpanContext().TraceID().String()) {
		t.Errorf("continued context is in %q, want trace %s", got, span.SpanContext().TraceID())
	}
	end()
	wspan.End()
	var continued sdktrace.ReadOnlySpan
	for _, s := range exp.GetSpans().Snapshots() {
		if s.Name() == "provider progressed" {
			continued = s
		}
	}
	if continued == nil {
		t.Fatal("no span for the continued work")
	}
	if continued.SpanContext().TraceID() != span.SpanContext().TraceID() || continued.Parent().SpanID() != span.SpanContext().SpanID() {
		t.Error("the continued span is not a child of the trigger's span")
	}
	if links := continued.Links(); len(links) != 1 || links[0].SpanContext.SpanID() != wspan.SpanContext().SpanID() {
		t.Errorf("links = %v, want the webhook span", links)
	}
	// Without a stored trace the context is left as it is.
	if same, _ := tracing.ContinueTrace(webhook, tp, "", "x"); same != webhook {
		t.Error("an empty traceparent changed the context")
	}
}
