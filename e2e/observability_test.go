package e2e

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/signingd/signingd/signing"
	"github.com/signingd/signingd/tracing"
)

// TestObservabilityMetrics runs transactions end to end (two completed, one declined) through a
// signingd wired like serve and scrapes /metrics over HTTP: every counter the operator's guide
// names has the value the transactions imply.
func TestObservabilityMetrics(t *testing.T) {
	t.Parallel()
	pe := newProdEnv(t, prodOptions{})
	const completed, docsEach = 2, 2
	var ids []string
	for range completed {
		ids = append(ids, pe.start(pe.scenario(docsEach, 1, 2)))
	}
	declined := pe.start(pe.scenario(1, 1))
	for _, id := range ids {
		for s := range 2 {
			if got := pe.vendorCall(id, s, "sign", nil); got != http.StatusOK {
				t.Fatalf("sign %d: %d", s, got)
			}
		}
	}
	if got := pe.vendorCall(declined, 0, "decline", map[string]string{"reden": "bedrag klopt niet"}); got != http.StatusOK {
		t.Fatalf("decline: %d", got)
	}
	for _, id := range ids {
		if tx := pe.wait(id, 30*time.Second); tx.State != signing.StateCompleted {
			t.Fatalf("%s: %s %q", id, tx.State, tx.Reden)
		}
		pe.waitMessages(id, 1)
	}
	if tx := pe.wait(declined, 30*time.Second); tx.State != signing.StateAborted {
		t.Fatalf("declined: %s", tx.State)
	}
	pe.waitMessages(declined, 1)

	// The outcome counters move after the NRC accepted the notification, which may be a moment
	// after the subscriber got it: scrape until they settle.
	var m samples
	deadline := time.Now().Add(10 * time.Second)
	for {
		m = pe.scrape()
		c, _ := m.sum("signingd_transactions_finished_total", "outcome", "completed")
		a, _ := m.sum("signingd_transactions_finished_total", "outcome", "aborted")
		if c == completed && a == 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	check := func(want float64, cmp string, name string, labels ...string) {
		t.Helper()
		got, found := m.sum(name, labels...)
		ok := (found || want == 0) && (cmp == "=" && got == want || cmp == ">=" && got >= want)
		if !ok {
			var have []string
			for _, s := range m {
				if s.name == name {
					have = append(have, strings.TrimSpace(strings.Join([]string{s.name, labelString(s.labels)}, " ")))
				}
			}
			t.Errorf("%s%v = %v (found %v), want %s %v; series: %v", name, labels, got, found, cmp, want, have)
		}
	}
	triggers := float64(completed + 1)
	check(triggers, "=", "signingd_http_requests_total", "route", "/api/v1/transactions", "method", "POST", "status", "200")
	check(0, "=", "signingd_http_requests_total", "route", "/api/v1/transactions", "method", "POST", "status", "401")
	check(triggers, "=", "signingd_http_request_duration_seconds_count", "route", "/api/v1/transactions", "method", "POST")
	check(completed, "=", "signingd_transactions_finished_total", "outcome", "completed", "cause", "")
	check(1, "=", "signingd_transactions_finished_total", "outcome", "aborted", "cause", signing.CauseDeclined)
	check(triggers, ">=", "signingd_step_duration_seconds_count", "step", "fetch", "result", "ok")
	for _, step := range []string{"create", "progress", "notify"} {
		check(triggers, ">=", "signingd_step_duration_seconds_count", "step", step, "result", "ok")
	}
	for _, step := range []string{"collect", "upload", "evidence"} {
		check(completed, ">=", "signingd_step_duration_seconds_count", "step", step, "result", "ok")
	}
	check(0, "=", "signingd_step_retries_total")
	// Locks are taken to upload the signed versions: one per document of the completed transactions.
	check(completed*docsEach, "=", "signingd_zgw_requests_total", "kind", "drc", "operation", "enkelvoudiginformatieobjecten.lock", "status", "200")
	check(completed*docsEach, "=", "signingd_zgw_requests_total", "kind", "drc", "operation", "enkelvoudiginformatieobjecten.unlock", "status", "204")
	check(completed*docsEach+1, "=", "signingd_zgw_requests_total", "kind", "drc", "operation", "enkelvoudiginformatieobjecten.download", "status", "200")
	check(triggers, "=", "signingd_zgw_requests_total", "kind", "nrc", "operation", "notificaties.create", "status", "200")
	check(completed, "=", "signingd_notifications_published_total", "actie", signing.ActieVoltooid)
	check(1, "=", "signingd_notifications_published_total", "actie", signing.ActieAfgebroken)
	check(completed, "=", "signingd_transactions", "state", string(signing.StateCompleted))
	check(1, "=", "signingd_transactions", "state", string(signing.StateAborted))
	check(0, "=", "signingd_db_scrape_error")
	check(1, ">=", "go_goroutines")
	check(1, ">=", "signingd_db_pool_acquires_total")

	// The counts match what the ZGW simulator saw.
	if locks := pe.zgw.RequestsTo(http.MethodPost, "/lock"); len(locks) != completed*docsEach {
		t.Errorf("the DRC saw %d lock requests, want %d", len(locks), completed*docsEach)
	}
}

func labelString(l map[string]string) string {
	var parts []string
	for k, v := range l {
		parts = append(parts, k+"="+v)
	}
	slices.Sort(parts)
	return "{" + strings.Join(parts, ",") + "}"
}

// TestObservabilityTrace follows one transaction with an in-memory span exporter: every job step
// (fetch, create, progress, collect, upload, evidence, notify) is a span in the trace of the
// trigger request, and every request the ZGW simulator received carries a traceparent of that
// trace. The vendor sends no webhooks here: the workflow's status polls carry the transaction.
func TestObservabilityTrace(t *testing.T) {
	t.Parallel()
	traceOneTransaction(t, newProdEnv(t, prodOptions{noWebhook: true}))
}

// TestObservabilityTraceWebhook is the same with the vendor's webhook, as in production: the
// status check a webhook queues continues the transaction's own trace (the trigger's), linked to
// the webhook request's span, so collect, upload, evidence and notify stay in one trace.
func TestObservabilityTraceWebhook(t *testing.T) {
	t.Parallel()
	traceOneTransaction(t, newProdEnv(t, prodOptions{}))
}

func traceOneTransaction(t *testing.T, pe *prodEnv) {
	sc := pe.scenario(2, 1)
	id := pe.start(sc)
	if got := pe.vendorCall(id, 0, "sign", nil); got != http.StatusOK {
		t.Fatalf("sign: %d", got)
	}
	if tx := pe.wait(id, 30*time.Second); tx.State != signing.StateCompleted {
		t.Fatalf("state %s %q", tx.State, tx.Reden)
	}
	pe.waitMessages(id, 1)
	// the notify job's span ends after its transaction commits: wait for it to be exported
	var spans tracetest.SpanStubs
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		spans = pe.spans.GetSpans()
		if slices.ContainsFunc(spans, func(s tracetest.SpanStub) bool { return s.Name == "job notify" }) || time.Now().After(deadline) {
			break
		}
	}
	var root string
	for _, s := range spans {
		if s.Name == "POST /api/v1/transactions" {
			if root != "" {
				t.Fatal("two trigger request spans")
			}
			root = s.SpanContext.TraceID().String()
			if !slices.ContainsFunc(s.Attributes, func(a attribute.KeyValue) bool {
				return a.Key == tracing.TransactionIDKey && a.Value.AsString() == id
			}) {
				t.Errorf("the trigger span does not name transaction %s: %v", id, s.Attributes)
			}
		}
	}
	if root == "" {
		t.Fatalf("no span of the trigger request among %d spans", len(spans))
	}
	inTrace := map[string]int{}
	elsewhere := map[string][]string{}
	for _, s := range spans {
		if !strings.HasPrefix(s.Name, "job ") {
			continue
		}
		if s.SpanContext.TraceID().String() == root {
			inTrace[s.Name]++
			if !slices.ContainsFunc(s.Attributes, func(a attribute.KeyValue) bool {
				return a.Key == tracing.TransactionIDKey && a.Value.AsString() == id
			}) {
				t.Errorf("span %q lacks the transaction id", s.Name)
			}
		} else {
			elsewhere[s.Name] = append(elsewhere[s.Name], s.SpanContext.TraceID().String())
		}
	}
	for _, kind := range []string{"fetch_documents", "create_signing", "check_progress", "collect", "upload", "evidence", "notify"} {
		if inTrace["job "+kind] == 0 {
			t.Errorf("step %s has no span in the trigger's trace %s (in other traces: %v)", kind, root, elsewhere["job "+kind])
		}
	}
	t.Logf("job spans in the trigger's trace: %v; in other traces: %v", inTrace, elsewhere)

	reqs := pe.zgw.Requests()
	if len(reqs) == 0 {
		t.Fatal("the ZGW simulator received no requests")
	}
	for _, r := range reqs {
		tp := r.Header.Get("traceparent")
		parts := strings.Split(tp, "-")
		if len(parts) != 4 || parts[1] != root {
			t.Errorf("%s %s: traceparent %q is not in trace %s", r.Method, r.Path, tp, root)
		}
	}
	t.Logf("%d ZGW requests, all in trace %s", len(reqs), root)
}
