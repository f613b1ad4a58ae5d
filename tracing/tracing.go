// Package tracing carries OpenTelemetry traces through signingd: a span per HTTP request, the trace
// handed on to every job in its metadata and continued by a span per job step, W3C traceparent on
// every outbound call, and trace ids on log lines. Tracing is off unless an OTLP endpoint is
// configured with the standard OTEL_EXPORTER_OTLP_ENDPOINT (or ..._TRACES_ENDPOINT) variable.
package tracing

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

const instrumentation = "github.com/signingd/signingd"

// TransactionIDKey is the span attribute naming the transaction a span works for.
const TransactionIDKey = attribute.Key("signingd.transaction_id")

var propagator = propagation.TraceContext{}

// Setup returns the tracer provider: an OTLP/HTTP exporter when getenv names an endpoint, otherwise a
// provider that records nothing. Call shutdown to flush spans before exit.
func Setup(ctx context.Context, getenv func(string) string, version string) (trace.TracerProvider, func(context.Context) error, error) {
	if getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" {
		return noop.NewTracerProvider(), func(context.Context) error { return nil }, nil
	}
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("tracing: otlp exporter: %w", err)
	}
	name := getenv("OTEL_SERVICE_NAME")
	if name == "" {
		name = "signingd"
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(resource.NewSchemaless(
		semconv.ServiceName(name), semconv.ServiceVersion(version))))
	return tp, tp.Shutdown, nil
}

// Middleware starts a server span per request, continuing a caller's traceparent, named by route.
func Middleware(tp trace.TracerProvider) echo.MiddlewareFunc {
	tracer := tp.Tracer(instrumentation)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			route := c.Path()
			if route == "" {
				route = "unmatched" // as in the metrics: raw paths would make unbounded span names
			}
			ctx := propagator.Extract(req.Context(), propagation.HeaderCarrier(req.Header))
			ctx, span := tracer.Start(ctx, req.Method+" "+route, trace.WithSpanKind(trace.SpanKindServer),
				trace.WithAttributes(semconv.HTTPRequestMethodKey.String(req.Method), semconv.HTTPRoute(route)))
			defer span.End()
			c.SetRequest(req.WithContext(ctx))
			err := next(c)
			if err != nil {
				c.Error(err)
			}
			status := c.Response().Status
			span.SetAttributes(semconv.HTTPResponseStatusCode(status))
			if status >= 500 {
				span.SetStatus(codes.Error, http.StatusText(status))
			}
			return nil
		}
	}
}

// Transport makes a client span per outbound request and sends its traceparent.
func Transport(tp trace.TracerProvider, next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return otelhttp.NewTransport(next, otelhttp.WithTracerProvider(tp), otelhttp.WithPropagators(propagator))
}

// SetTransaction names the transaction on the current span.
func SetTransaction(ctx context.Context, id string) {
	trace.SpanFromContext(ctx).SetAttributes(TransactionIDKey.String(id))
}

// Traceparent returns the W3C traceparent of the span in ctx, or "" when ctx carries none.
func Traceparent(ctx context.Context) string {
	c := propagation.MapCarrier{}
	propagator.Inject(ctx, c)
	return c["traceparent"]
}

// ContinueTrace returns ctx moved into the trace of traceparent, with a span there (name) that links
// back to the span ctx was in — so that work a webhook or a signer starts days later joins the
// transaction's trace, and the two traces point at each other. Call end when the work is queued.
func ContinueTrace(ctx context.Context, tp trace.TracerProvider, traceparent, name string) (_ context.Context, end func()) {
	if tp == nil || traceparent == "" {
		return ctx, func() {}
	}
	parent := trace.SpanContextFromContext(propagator.Extract(context.Background(), propagation.MapCarrier{"traceparent": traceparent}))
	if !parent.IsValid() {
		return ctx, func() {}
	}
	var opts []trace.SpanStartOption
	if here := trace.SpanContextFromContext(ctx); here.IsValid() {
		opts = append(opts, trace.WithLinks(trace.Link{SpanContext: here}))
	}
	ctx, span := tp.Tracer(instrumentation).Start(trace.ContextWithRemoteSpanContext(ctx, parent), name, opts...)
	return ctx, func() { span.End() }
}

// JobMiddleware hands the trace of whoever inserts a job on to the job, in its metadata, and works
// each job inside a span continuing that trace: one trace runs from the trigger request through
// every workflow step.
type JobMiddleware struct {
	river.MiddlewareDefaults
	tracer trace.Tracer
}

// NewJobMiddleware returns the River middleware for tp.
func NewJobMiddleware(tp trace.TracerProvider) *JobMiddleware {
	return &JobMiddleware{tracer: tp.Tracer(instrumentation)}
}

var (
	_ rivertype.JobInsertMiddleware = (*JobMiddleware)(nil)
	_ rivertype.WorkerMiddleware    = (*JobMiddleware)(nil)
)

// InsertMany implements rivertype.JobInsertMiddleware.
func (m *JobMiddleware) InsertMany(ctx context.Context, params []*rivertype.JobInsertParams, doInner func(context.Context) ([]*rivertype.JobInsertResult, error)) ([]*rivertype.JobInsertResult, error) {
	carrier := propagation.MapCarrier{}
	propagator.Inject(ctx, carrier)
	if tp := carrier["traceparent"]; tp != "" {
		for _, p := range params {
			meta := map[string]any{}
			if len(p.Metadata) > 0 {
				_ = json.Unmarshal(p.Metadata, &meta) // River's own metadata is always an object
			}
			meta["traceparent"] = tp
			if b, err := json.Marshal(meta); err == nil {
				p.Metadata = b
			}
		}
	}
	return doInner(ctx)
}

// Work implements rivertype.WorkerMiddleware.
func (m *JobMiddleware) Work(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) error {
	var meta struct {
		Traceparent string `json:"traceparent"`
	}
	_ = json.Unmarshal(job.Metadata, &meta)
	if meta.Traceparent != "" {
		ctx = propagator.Extract(ctx, propagation.MapCarrier{"traceparent": meta.Traceparent})
	}
	var args struct {
		TransactionID string `json:"transaction_id"`
	}
	_ = json.Unmarshal(job.EncodedArgs, &args)
	ctx, span := m.tracer.Start(ctx, "job "+job.Kind, trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(
		attribute.String("river.job.kind", job.Kind), attribute.Int64("river.job.id", job.ID),
		attribute.Int("river.job.attempt", job.Attempt), TransactionIDKey.String(args.TransactionID)))
	defer span.End()
	err := doInner(ctx)
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, "job failed")
	}
	return err
}

// LogHandler adds trace_id and span_id to every record logged with a context that carries a span.
func LogHandler(h slog.Handler) slog.Handler { return logHandler{h} }

type logHandler struct{ slog.Handler }

func (h logHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return h.Handler.Handle(ctx, r)
}

func (h logHandler) WithAttrs(a []slog.Attr) slog.Handler { return logHandler{h.Handler.WithAttrs(a)} }
func (h logHandler) WithGroup(n string) slog.Handler      { return logHandler{h.Handler.WithGroup(n)} }
