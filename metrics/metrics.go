// Package metrics exposes signingd's Prometheus metrics. Every recorder is safe to call on a nil
// *Metrics, so code and tests that run without metrics need no checks.
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

const namespace = "signingd"

// Metrics holds signingd's collectors in a registry of its own.
type Metrics struct {
	reg *prometheus.Registry

	httpRequests *prometheus.CounterVec
	httpDuration *prometheus.HistogramVec

	finished    *prometheus.CounterVec
	stepSeconds *prometheus.HistogramVec
	stepRetries *prometheus.CounterVec

	zgwRequests *prometheus.CounterVec
	zgwDuration *prometheus.HistogramVec

	tokens        prometheus.Counter
	tokenRefusals *prometheus.CounterVec
	authListening prometheus.Gauge

	notifications *prometheus.CounterVec
}

// New returns the metrics with the Go runtime and process collectors registered.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.httpRequests = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "http_requests_total",
		Help: "HTTP requests served, by route, method and status."}, []string{"route", "method", "status"})
	m.httpDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: "http_request_duration_seconds",
		Help: "Time to serve HTTP requests, by route and method.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)}, []string{"route", "method"})
	m.finished = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "transactions_finished_total",
		Help: "Transactions that reached a terminal state, by outcome (completed, aborted) and abort cause."}, []string{"outcome", "cause"})
	m.stepSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: "step_duration_seconds",
		Help: "Duration of workflow step runs, by step and result (ok, retry, failed).", Buckets: prometheus.ExponentialBuckets(0.005, 2, 14)}, []string{"step", "result"})
	m.stepRetries = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "step_retries_total",
		Help: "Workflow step runs that failed and will be retried, by step."}, []string{"step"})
	m.zgwRequests = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "zgw_requests_total",
		Help: "Outbound ZGW calls, by service kind, operation and status (or error)."}, []string{"kind", "operation", "status"})
	m.zgwDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: "zgw_request_duration_seconds",
		Help: "Duration of outbound ZGW calls, by service kind and operation.", Buckets: prometheus.ExponentialBuckets(0.005, 2, 14)}, []string{"kind", "operation"})
	m.tokens = prometheus.NewCounter(prometheus.CounterOpts{Namespace: namespace, Name: "tokens_issued_total",
		Help: "Access tokens issued by the token endpoint."})
	m.tokenRefusals = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "token_refusals_total",
		Help: "Token requests refused, by OAuth2 error code."}, []string{"error"})
	m.authListening = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: "auth_listener_up",
		Help: "1 while this replica hears the database's announcements of revocations and client changes; at 0 a revocation made elsewhere takes up to 5 s to apply here."})
	m.notifications = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "notifications_published_total",
		Help: "Notifications accepted by the NRC, by actie."}, []string{"actie"})
	m.reg.MustRegister(m.httpRequests, m.httpDuration, m.finished, m.stepSeconds, m.stepRetries, m.zgwRequests,
		m.zgwDuration, m.tokens, m.tokenRefusals, m.authListening, m.notifications,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry returns the registry, for tests and for registering more collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// knownMethods are the method labels; any other method string a caller sends is OTHER, so callers
// cannot grow the label set.
var knownMethods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true, http.MethodPatch: true,
	http.MethodDelete: true, http.MethodOptions: true, http.MethodConnect: true, http.MethodTrace: true,
}

func methodLabel(method string) string {
	if knownMethods[method] {
		return method
	}
	return "OTHER"
}

// routeLabel is the template of the route the request matched (Echo's router knows no other paths),
// or unmatched.
func routeLabel(c echo.Context) string {
	if r := c.Path(); r != "" {
		return r
	}
	return "unmatched"
}

// Middleware counts and times every HTTP request by its route pattern, never by its raw path, so
// the label set stays small.
func (m *Metrics) Middleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			if err := next(c); err != nil {
				c.Error(err) // write the error now, so its status is the one counted
			}
			if m == nil {
				return nil
			}
			status := strconv.Itoa(c.Response().Status)
			route, method := routeLabel(c), methodLabel(c.Request().Method)
			m.httpRequests.WithLabelValues(route, method, status).Inc()
			m.httpDuration.WithLabelValues(route, method).Observe(time.Since(start).Seconds())
			return nil
		}
	}
}

// TransactionFinished counts a transaction reaching a terminal state; cause is empty for completed.
func (m *Metrics) TransactionFinished(outcome, cause string) {
	if m == nil {
		return
	}
	m.finished.WithLabelValues(outcome, cause).Inc()
}

// StepRan records one run of a workflow step; result is ok, retry or failed.
func (m *Metrics) StepRan(step, result string, d time.Duration) {
	if m == nil {
		return
	}
	m.stepSeconds.WithLabelValues(step, result).Observe(d.Seconds())
	if result == "retry" {
		m.stepRetries.WithLabelValues(step).Inc()
	}
}

// TokenIssued counts an access token issued.
func (m *Metrics) TokenIssued() {
	if m == nil {
		return
	}
	m.tokens.Inc()
}

// AuthListening records whether the replica hears the database's announcements of auth changes.
func (m *Metrics) AuthListening(up bool) {
	if m == nil {
		return
	}
	if up {
		m.authListening.Set(1)
	} else {
		m.authListening.Set(0)
	}
}

// TokenRefused counts a refused token request by its OAuth2 error code.
func (m *Metrics) TokenRefused(code string) {
	if m == nil {
		return
	}
	m.tokenRefusals.WithLabelValues(code).Inc()
}

// NotificationPublished counts a notification the NRC accepted.
func (m *Metrics) NotificationPublished(actie string) {
	if m == nil {
		return
	}
	m.notifications.WithLabelValues(actie).Inc()
}

// Transport wraps next so that every outbound ZGW call is counted and timed by service kind and
// operation, e.g. drc / enkelvoudiginformatieobjecten.lock.
func (m *Metrics) Transport(next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	if m == nil {
		return next
	}
	return roundTripper(func(r *http.Request) (*http.Response, error) {
		kind, op := Operation(r.Method, r.URL.Path)
		start := time.Now()
		res, err := next.RoundTrip(r)
		status := "error"
		if err == nil {
			status = strconv.Itoa(res.StatusCode)
		}
		m.zgwRequests.WithLabelValues(kind, op, status).Inc()
		m.zgwDuration.WithLabelValues(kind, op).Observe(time.Since(start).Seconds())
		return res, err
	})
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

var resourceKinds = map[string]string{
	"enkelvoudiginformatieobjecten": "drc", "bestandsdelen": "drc", "objectinformatieobjecten": "drc",
	"zaken": "zrc", "zaakinformatieobjecten": "zrc",
	"kanaal": "nrc", "notificaties": "nrc", "abonnement": "nrc",
	"informatieobjecttypen": "ztc", "zaaktypen": "ztc", "catalogussen": "ztc",
}

// Operation names a ZGW call by the resource under /api/v1 and what is done to it, in the style of
// the OAS operationIds: enkelvoudiginformatieobjecten.retrieve, .lock, .partial_update, ….
func Operation(method, path string) (kind, op string) {
	_, rest, ok := strings.Cut(path, "/api/v1/")
	if !ok {
		return "other", "other"
	}
	parts := strings.Split(strings.Trim(rest, "/"), "/")
	resource := parts[0]
	kind, known := resourceKinds[resource]
	if !known {
		return "other", "other"
	}
	action := ""
	switch {
	case len(parts) >= 3:
		action = parts[2] // lock, unlock, download
	case len(parts) == 2:
		action = map[string]string{"GET": "retrieve", "HEAD": "retrieve", "PATCH": "partial_update", "PUT": "update", "DELETE": "destroy"}[method]
	default:
		action = map[string]string{"GET": "list", "POST": "create"}[method]
	}
	if action == "" {
		action = strings.ToLower(method)
	}
	return kind, resource + "." + action
}

// RegisterDatabase adds collectors that read the database at scrape time: transactions by state,
// River's queue by job state with the age of the oldest available job, and the pgx pool.
func (m *Metrics) RegisterDatabase(pool *pgxpool.Pool) {
	m.reg.MustRegister(&dbCollector{pool: pool})
}

type dbCollector struct{ pool *pgxpool.Pool }

var (
	descTransactions = prometheus.NewDesc(namespace+"_transactions", "Transactions by state.", []string{"state"}, nil)
	descJobs         = prometheus.NewDesc(namespace+"_jobs", "River jobs by kind and state.", []string{"kind", "state"}, nil)
	descJobAge       = prometheus.NewDesc(namespace+"_job_oldest_available_seconds", "Age of the oldest job waiting to run (queue latency).", nil, nil)
	descPoolTotal    = prometheus.NewDesc(namespace+"_db_pool_connections", "Connections in the pgx pool, by state.", []string{"state"}, nil)
	descPoolAcquire  = prometheus.NewDesc(namespace+"_db_pool_acquires_total", "Connections acquired from the pool.", nil, nil)
	descPoolWait     = prometheus.NewDesc(namespace+"_db_pool_acquire_wait_seconds_total", "Time spent waiting for a pool connection.", nil, nil)
	descScrapeError  = prometheus.NewDesc(namespace+"_db_scrape_error", "1 when the database could not be read for metrics.", nil, nil)
)

func (c *dbCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descTransactions, descJobs, descJobAge, descPoolTotal, descPoolAcquire, descPoolWait, descScrapeError} {
		ch <- d
	}
}

func (c *dbCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.pool.Stat()
	ch <- prometheus.MustNewConstMetric(descPoolTotal, prometheus.GaugeValue, float64(s.IdleConns()), "idle")
	ch <- prometheus.MustNewConstMetric(descPoolTotal, prometheus.GaugeValue, float64(s.AcquiredConns()), "acquired")
	ch <- prometheus.MustNewConstMetric(descPoolAcquire, prometheus.CounterValue, float64(s.AcquireCount()))
	ch <- prometheus.MustNewConstMetric(descPoolWait, prometheus.CounterValue, s.AcquireDuration().Seconds())

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	failed := 0.0
	if err := c.collectCounts(ctx, ch); err != nil {
		failed = 1
	}
	ch <- prometheus.MustNewConstMetric(descScrapeError, prometheus.GaugeValue, failed)
}

func (c *dbCollector) collectCounts(ctx context.Context, ch chan<- prometheus.Metric) error {
	rows, err := c.pool.Query(ctx, `SELECT state, count(*) FROM transactions GROUP BY state`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var state string
		var n int64
		if err := rows.Scan(&state, &n); err != nil {
			return err
		}
		ch <- prometheus.MustNewConstMetric(descTransactions, prometheus.GaugeValue, float64(n), state)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	rows, err = c.pool.Query(ctx, `SELECT kind, state::text, count(*) FROM river_job GROUP BY kind, state`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var kind, state string
		var n int64
		if err := rows.Scan(&kind, &state, &n); err != nil {
			return err
		}
		ch <- prometheus.MustNewConstMetric(descJobs, prometheus.GaugeValue, float64(n), kind, state)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	var age float64
	if err := c.pool.QueryRow(ctx, `SELECT coalesce(extract(epoch FROM now() - min(scheduled_at)), 0)::float8
		FROM river_job WHERE state = 'available' AND scheduled_at <= now()`).Scan(&age); err != nil {
		return err
	}
	ch <- prometheus.MustNewConstMetric(descJobAge, prometheus.GaugeValue, age)
	return nil
}
