package metrics_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/signingd/signingd/metrics"
	"github.com/signingd/signingd/store/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func TestOperation(t *testing.T) {
	tests := []struct{ method, path, kind, op string }{
		{"GET", "/documenten/api/v1/enkelvoudiginformatieobjecten/f491249e-0651-4d22-a8a8-bb35885e9245", "drc", "enkelvoudiginformatieobjecten.retrieve"},
		{"GET", "/api/v1/enkelvoudiginformatieobjecten/x/download", "drc", "enkelvoudiginformatieobjecten.download"},
		{"POST", "/api/v1/enkelvoudiginformatieobjecten/x/lock", "drc", "enkelvoudiginformatieobjecten.lock"},
		{"PATCH", "/api/v1/enkelvoudiginformatieobjecten/x", "drc", "enkelvoudiginformatieobjecten.partial_update"},
		{"PUT", "/api/v1/bestandsdelen/x", "drc", "bestandsdelen.update"},
		{"POST", "/api/v1/enkelvoudiginformatieobjecten", "drc", "enkelvoudiginformatieobjecten.create"},
		{"GET", "/zaken/api/v1/zaken/x", "zrc", "zaken.retrieve"},
		{"POST", "/api/v1/zaakinformatieobjecten", "zrc", "zaakinformatieobjecten.create"},
		{"GET", "/api/v1/kanaal", "nrc", "kanaal.list"},
		{"POST", "/api/v1/notificaties", "nrc", "notificaties.create"},
		{"GET", "/api/v1/informatieobjecttypen/x", "ztc", "informatieobjecttypen.retrieve"},
		{"GET", "/token", "other", "other"},
		{"GET", "/api/v1/secret-admin/x", "other", "other"},
	}
	for _, tt := range tests {
		kind, op := metrics.Operation(tt.method, tt.path)
		if kind != tt.kind || op != tt.op {
			t.Errorf("%s %s = %s %s, want %s %s", tt.method, tt.path, kind, op, tt.kind, tt.op)
		}
	}
}

func TestMiddlewareCountsByRouteAndStatus(t *testing.T) {
	m := metrics.New()
	e := echo.New()
	e.Use(m.Middleware())
	e.GET("/things/:id", func(c echo.Context) error {
		if c.Param("id") == "missing" {
			return echo.NewHTTPError(http.StatusNotFound)
		}
		return c.String(http.StatusOK, "ok")
	})
	e.GET("/metrics", echo.WrapHandler(m.Handler()))
	srv := httptest.NewServer(e)
	defer srv.Close()
	for _, p := range []string{"/things/1", "/things/2", "/things/missing", "/nowhere"} {
		res, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	body := scrape(t, srv.URL+"/metrics")
	for _, want := range []string{
		`signingd_http_requests_total{method="GET",route="/things/:id",status="200"} 2`,
		`signingd_http_requests_total{method="GET",route="/things/:id",status="404"} 1`,
		`signingd_http_request_duration_seconds_count{method="GET",route="/things/:id"} 3`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(body, "/things/1") {
		t.Error("raw paths leak into labels")
	}
}

// Labels come from closed sets: whatever methods and paths callers send, the scrape stays small.
func TestMiddlewareLabelsAreBounded(t *testing.T) {
	m := metrics.New()
	e := echo.New()
	e.Use(m.Middleware())
	e.GET("/things/:id", func(c echo.Context) error { return c.String(http.StatusOK, "ok") })
	e.GET("/metrics", echo.WrapHandler(m.Handler()))
	srv := httptest.NewServer(e)
	defer srv.Close()
	for i := range 500 {
		req, _ := http.NewRequest(fmt.Sprintf("M%dX", i), srv.URL+fmt.Sprintf("/things/%d", i), nil)
		if i%2 == 1 {
			req.URL.Path = fmt.Sprintf("/random/%d", i)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	body := scrape(t, srv.URL+"/metrics")
	for _, want := range []string{
		`signingd_http_requests_total{method="OTHER",route="/things/:id",status="405"} 250`,
		`signingd_http_requests_total{method="OTHER",route="unmatched",status="404"} 250`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(body, "M1X") || len(body) > 64<<10 {
		t.Errorf("caller's methods became labels (%d bytes)", len(body))
	}
}

func TestTransportCountsZGWCalls(t *testing.T) {
	m := metrics.New()
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/lock") {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		io.WriteString(w, "{}")
	}))
	defer upstream.Close()
	hc := &http.Client{Transport: m.Transport(nil)}
	calls := []struct{ method, path string }{
		{"GET", "/api/v1/enkelvoudiginformatieobjecten/a"},
		{"GET", "/api/v1/enkelvoudiginformatieobjecten/a"},
		{"POST", "/api/v1/enkelvoudiginformatieobjecten/a/lock"},
	}
	for _, c := range calls {
		req, _ := http.NewRequest(c.method, upstream.URL+c.path, nil)
		res, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	if n, err := testutil.GatherAndCount(m.Registry(), "signingd_zgw_requests_total"); err != nil || n != 2 {
		t.Fatalf("zgw request series = %d (%v), want 2", n, err)
	}
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	body := scrape(t, srv.URL)
	for _, want := range []string{
		`signingd_zgw_requests_total{kind="drc",operation="enkelvoudiginformatieobjecten.lock",status="400"} 1`,
		`signingd_zgw_requests_total{kind="drc",operation="enkelvoudiginformatieobjecten.retrieve",status="200"} 2`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func TestDatabaseCollector(t *testing.T) {
	pool := dbtest.Pool(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `INSERT INTO organisations (rsin, name) VALUES ('123456789', 'x')`); err != nil {
		t.Fatal(err)
	}
	for _, state := range []string{"received", "received", "completed"} {
		if _, err := pool.Exec(ctx, `INSERT INTO transactions (id, organisation_id, state, naam, zaak_url, zaak_uuid, provider, trigger, created_at, updated_at, deadline)
			SELECT gen_random_uuid(), id, $1, 'n', 'https://z/1', gen_random_uuid(), 'p', '{}', now(), now(), now() FROM organisations WHERE rsin = '123456789'`, state); err != nil {
			t.Fatal(err)
		}
	}
	m := metrics.New()
	m.RegisterDatabase(pool)
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	body := scrape(t, srv.URL)
	for _, want := range []string{
		`signingd_transactions{state="received"} 2`,
		`signingd_transactions{state="completed"} 1`,
		`signingd_db_scrape_error 0`,
		`signingd_job_oldest_available_seconds`,
		`signingd_db_pool_connections{state="idle"}`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func scrape(t *testing.T, url string) string {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}
