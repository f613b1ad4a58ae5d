// Package api is signingd's HTTP interface: the handlers of the contract in openapi.yaml (generated
// into api/gen), authentication, health and the docs page.
package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"go.opentelemetry.io/otel/trace"

	"github.com/signingd/signingd"
	"github.com/signingd/signingd/api/gen"
	"github.com/signingd/signingd/auth"
	"github.com/signingd/signingd/config"
	"github.com/signingd/signingd/internal/clientip"
	"github.com/signingd/signingd/internal/text"
	"github.com/signingd/signingd/metrics"
	"github.com/signingd/signingd/signing"
	"github.com/signingd/signingd/store"
	"github.com/signingd/signingd/tracing"
)

// MaxBodySize is the largest request body accepted.
const MaxBodySize = 1 << 20

// maxPage is the last page a list may ask for: far beyond any real list, and its offset fits the
// database's integers at every page size.
const maxPage = 1_000_000

// URLChecker refuses a trigger URL that does not lie under a configured ZGW service of the given
// kind of the organisation with the RSIN.
type URLChecker func(rsin, kind, rawURL string) error

// Deps is what the API needs.
type Deps struct {
	Store     *store.Store
	Auth      auth.Authenticator
	Landscape config.Landscape
	CheckURL  URLChecker // nil: every well-formed URL is accepted
	PublicURL string
	// TrustedProxies are the reverse proxies whose forwarded headers name the client (clientip).
	TrustedProxies []netip.Prefix
	Logger         *slog.Logger
	Now            func() time.Time
	Expiry         time.Duration // how long a transaction may wait for signatures; EXPIRY's default when zero
	Ready          func(ctx context.Context) error
	// Metrics, when set, counts every request; ServeMetrics also serves them at /metrics (leave it
	// off when they have a listen address of their own).
	Metrics      *metrics.Metrics
	ServeMetrics bool
	// Tracer, when set, makes a span of every request, continuing the caller's traceparent.
	Tracer trace.TracerProvider
	// BodyRules limit the request bodies of mounted routes by path prefix; the token service's
	// routes take its forms, every other route at most MaxBodySize and no multipart.
	BodyRules []BodyRule
	// Webhooks, when Progressed is set, serves the providers' callbacks.
	Webhooks Webhooks
	// Mounts add routes that other packages serve (token endpoint, signer pages).
	// Routes mounted on the root, even under /api/v1, skip the API-key/bearer middleware: they
	// authenticate their own way.
	Mounts []func(e *echo.Echo)
}

// Server implements the generated strict server interface.
type Server struct {
	d Deps
}

var _ gen.StrictServerInterface = (*Server)(nil)

// New returns the HTTP handler of signingd with every route.
func New(d Deps) *echo.Echo {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Expiry == 0 {
		d.Expiry = config.Defaults().Workflow.Expiry
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = errorHandler(d.Logger)
	// One client address for every route: rate limits, lockouts, the audit trail and the signer's
	// evidence read it with clientip.From (or c.RealIP, which asks the same).
	e.Pre(echo.WrapMiddleware(clientip.New(d.TrustedProxies).Handler))
	e.IPExtractor = clientip.From
	e.Pre(limitBodies(append(append(d.BodyRules, tokenEndpointBodies), apiBodies...)))
	e.Use(middleware.RequestID())
	if d.Metrics != nil {
		e.Use(d.Metrics.Middleware())
		if d.ServeMetrics {
			e.GET("/metrics", echo.WrapHandler(d.Metrics.Handler()))
		}
	}
	if d.Tracer != nil {
		e.Use(tracing.Middleware(d.Tracer))
	}
	e.Use(requestLogger(d.Logger))
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{DisablePrintStack: true,
		LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			d.Logger.Error("panic", "err", err, "stack", string(stack))
			return err
		}}))

	e.GET("/healthz", func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]string{"status": "ok"}) })
	e.GET("/readyz", func(c echo.Context) error {
		ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
		defer cancel()
		if d.Ready != nil {
			if err := d.Ready(ctx); err != nil {
				d.Logger.Warn("not ready", "err", err)
				return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": readyReason(err)})
			}
		}
		return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
	})
	mountDocs(e)

	s := &Server{d: d}
	v1 := e.Group("/api/v1", authenticate(d.Auth))
	gen.RegisterHandlers(v1GroupRouter{v1}, gen.NewStrictHandler(s, nil))
	if d.Webhooks.Progressed != nil {
		e.POST("/api/v1/providers/:name/webhook", d.webhook)
	}
	for _, m := range d.Mounts {
		m(e)
	}
	return e
}

func readyReason(err error) string {
	if errors.Is(err, store.ErrSchemaBehind) {
		return "database schema is behind"
	}
	return "database unreachable"
}

// v1GroupRouter registers the generated routes (full paths) on the /api/v1 group.
type v1GroupRouter struct{ g *echo.Group }

func (r v1GroupRouter) route(method, path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.g.Add(method, strings.TrimPrefix(path, "/api/v1"), h, m...)
}
func (r v1GroupRouter) CONNECT(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.route(http.MethodConnect, p, h, m...)
}
func (r v1GroupRouter) DELETE(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.route(http.MethodDelete, p, h, m...)
}
func (r v1GroupRouter) GET(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.route(http.MethodGet, p, h, m...)
}
func (r v1GroupRouter) HEAD(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.route(http.MethodHead, p, h, m...)
}
func (r v1GroupRouter) OPTIONS(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.route(http.MethodOptions, p, h, m...)
}
func (r v1GroupRouter) PATCH(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.route(http.MethodPatch, p, h, m...)
}
func (r v1GroupRouter) POST(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.route(http.MethodPost, p, h, m...)
}
func (r v1GroupRouter) PUT(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.route(http.MethodPut, p, h, m...)
}
func (r v1GroupRouter) TRACE(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.route(http.MethodTrace, p, h, m...)
}

func principal(ctx context.Context) (auth.Principal, error) {
	p, ok := PrincipalFrom(ctx)
	if !ok {
		return p, signingd.Errorf(signingd.EUNAUTHORIZED, "Authentication required.")
	}
	return p, nil
}

// providerFor returns the provider that signs for an organisation and what a trigger may ask of
// it. An organisation without one, or whose provider is not running here, cannot sign: its trigger
// is refused before anything is stored.
func (s *Server) providerFor(rsin string) (string, signing.ValidateOptions, error) {
	p, ok := s.d.Landscape.ProviderFor(rsin)
	if !ok {
		return "", signing.ValidateOptions{}, signingd.Errorf(signingd.EUNAVAILABLE, "No signing provider is configured for this organisation.")
	}
	running, ok := s.d.Webhooks.Providers[p.Name]
	if !ok {
		s.d.Logger.Error("the organisation's provider is not running", "rsin", rsin, "provider", p.Name)
		return "", signing.ValidateOptions{}, signingd.Errorf(signingd.EUNAVAILABLE, "The signing provider of this organisation is not available.")
	}
	// What the provider can do, narrowed to what the operator allows in the landscape.
	info := running.Info()
	methods := info.AuthMethods
	if len(p.AuthMethods) > 0 {
		methods = slices.DeleteFunc(slices.Clone(methods), func(m string) bool { return !slices.Contains(p.AuthMethods, m) })
	}
	return p.Name, signing.ValidateOptions{AuthMethods: methods, Sequential: !info.Parallel, NoDocuments: info.NoDocuments}, nil
}

// CreateTransaction is the intake of a trigger message.
func (s *Server) CreateTransaction(ctx context.Context, req gen.CreateTransactionRequestObject) (gen.CreateTransactionResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	provider, opts, err := s.providerFor(p.RSIN)
	if err != nil {
		return nil, err
	}
	if s.d.CheckURL != nil {
		opts.CheckURL = func(kind, u string) error {
			if err := s.d.CheckURL(p.RSIN, kind, u); err != nil {
				return &signingd.Error{Code: signingd.EINVALID, Message: err.Error()}
			}
			return nil
		}
	}
	var body []byte
	if req.Body != nil {
		body = *req.Body
	}
	trigger, err := signing.DecodeTrigger(body, opts)
	if err != nil {
		return nil, err
	}
	key := ""
	if req.Params.IdempotencyKey != nil {
		key = *req.Params.IdempotencyKey
		if !validIdempotencyKey(key) {
			return nil, &signingd.Error{Code: signingd.EINVALID, Message: "The Idempotency-Key header is invalid.",
				Fields: []signingd.FieldError{{Name: "Idempotency-Key", Code: "invalid",
					Reason: "Use 1 to 255 visible ASCII characters, e.g. a UUID."}}}
		}
	}
	now := s.d.Now().UTC()
	id, created, err := s.d.Store.CreateTransaction(ctx, store.NewTransaction{
		ID: uuid.New(), OrganisationID: p.OrganisationID, ClientID: p.ClientUUID, Provider: provider,
		Trigger: trigger, Now: now, Deadline: now.Add(s.d.Expiry), IdempotencyKey: key, Actor: "client:" + p.ClientID,
		Traceparent: tracing.Traceparent(ctx),
	})
	if err != nil {
		return nil, err
	}
	tracing.SetTransaction(ctx, id.String())
	l := loggerFrom(ctx, s.d.Logger).With("transaction_id", id)
	if created {
		l.InfoContext(ctx, "transaction received", "documents", len(trigger.Documenten), "signers", len(trigger.Ondertekenaars))
	} else {
		l.InfoContext(ctx, "idempotent replay")
	}
	return gen.CreateTransaction200JSONResponse{TransactionId: id.String()}, nil
}

// GetTransaction answers the state of one transaction of the caller's organisation.
func (s *Server) GetTransaction(ctx context.Context, req gen.GetTransactionRequestObject) (gen.GetTransactionResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	t, err := s.d.Store.Transaction(ctx, p.OrganisationID, req.Id)
	if err != nil {
		return nil, err
	}
	return gen.GetTransaction200JSONResponse(toTransaction(t)), nil
}

// ListTransactions pages through the caller's organisation's transactions.
func (s *Server) ListTransactions(ctx context.Context, req gen.ListTransactionsRequestObject) (gen.ListTransactionsResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	f := signing.ListFilter{Page: 1, PageSize: 100}
	var bad []signingd.FieldError
	if req.Params.Zaak != nil {
		f.Zaak = *req.Params.Zaak
		if !utf8.ValidString(f.Zaak) || strings.IndexByte(f.Zaak, 0) >= 0 {
			bad = append(bad, signingd.FieldError{Name: "zaak", Code: "invalid", Reason: "Not a zaak URL."})
		}
	}
	if req.Params.Status != nil {
		f.State = signing.State(*req.Params.Status)
		if !f.State.Valid() {
			bad = append(bad, signingd.FieldError{Name: "status", Code: "invalid_choice", Reason: "Unknown status."})
		}
	}
	if req.Params.Page != nil {
		if f.Page = *req.Params.Page; f.Page < 1 || f.Page > maxPage {
			bad = append(bad, signingd.FieldError{Name: "page", Code: "range", Reason: "Must be between 1 and " + strconv.Itoa(maxPage) + "."})
		}
	}
	if req.Params.PageSize != nil {
		if f.PageSize = *req.Params.PageSize; f.PageSize < 1 || f.PageSize > 100 {
			bad = append(bad, signingd.FieldError{Name: "pageSize", Code: "range", Reason: "Must be between 1 and 100."})
		}
	}
	if len(bad) > 0 {
		return nil, &signingd.Error{Code: signingd.EINVALID, Message: "Invalid query parameters.", Fields: bad}
	}
	list, count, err := s.d.Store.Transactions(ctx, p.OrganisationID, f)
	if err != nil {
		return nil, err
	}
	out := gen.TransactionList{Count: count, Results: make([]gen.TransactionSummary, 0, len(list))}
	for _, t := range list {
		out.Results = append(out.Results, toSummary(t))
	}
	if f.Page*f.PageSize < count {
		out.Next = s.pageURL(f, f.Page+1)
	}
	if f.Page > 1 {
		out.Previous = s.pageURL(f, f.Page-1)
	}
	return gen.ListTransactions200JSONResponse(out), nil
}

func (s *Server) pageURL(f signing.ListFilter, page int) *string {
	q := url.Values{}
	if f.Zaak != "" {
		q.Set("zaak", f.Zaak)
	}
	if f.State != "" {
		q.Set("status", string(f.State))
	}
	if f.PageSize != 100 {
		q.Set("pageSize", strconv.Itoa(f.PageSize))
	}
	q.Set("page", strconv.Itoa(page))
	u := strings.TrimRight(s.d.PublicURL, "/") + "/api/v1/transactions?" + q.Encode()
	return &u
}

// CancelTransaction withdraws a signing.
func (s *Server) CancelTransaction(ctx context.Context, req gen.CancelTransactionRequestObject) (gen.CancelTransactionResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	reden := "Ingetrokken"
	if req.Body != nil && req.Body.Reden != nil {
		r := strings.TrimSpace(*req.Body.Reden)
		if utf8.RuneCountInString(r) > 500 {
			return nil, &signingd.Error{Code: signingd.EINVALID, Message: "Invalid cancel request.",
				Fields: []signingd.FieldError{{Name: "reden", Code: "max_length", Reason: "At most 500 characters."}}}
		}
		if strings.IndexByte(r, 0) >= 0 { // Postgres text cannot hold it
			return nil, &signingd.Error{Code: signingd.EINVALID, Message: "Invalid cancel request.",
				Fields: []signingd.FieldError{{Name: "reden", Code: "invalid", Reason: "May not contain a NUL character."}}}
		}
		if r != "" {
			reden = "Ingetrokken: " + r
		}
	}
	if err := s.d.Store.RequestCancel(ctx, p.OrganisationID, req.Id, reden, "client:"+p.ClientID, s.d.Now().UTC()); err != nil {
		return nil, err
	}
	loggerFrom(ctx, s.d.Logger).InfoContext(ctx, "cancel requested", "transaction_id", req.Id)
	t, err := s.d.Store.Transaction(ctx, p.OrganisationID, req.Id)
	if err != nil {
		return nil, err
	}
	return gen.CancelTransaction200JSONResponse(toTransaction(t)), nil
}

func toSummary(t signing.Transaction) gen.TransactionSummary {
	return gen.TransactionSummary{
		TransactionId: t.ID.String(),
		Status:        gen.State(t.State),
		Naam:          t.Naam,
		Eigenaar:      nonEmpty(t.Eigenaar),
		Zaak:          gen.Zaak{Uuid: t.Zaak.UUID, Url: t.Zaak.URL},
		Reden:         nonEmpty(t.Reden),
		CreatedAt:     t.CreatedAt,
		UpdatedAt:     t.UpdatedAt,
		Deadline:      t.Deadline,
		FinishedAt:    t.FinishedAt,
	}
}

func toTransaction(t signing.Transaction) gen.Transaction {
	sum := toSummary(t)
	out := gen.Transaction{
		TransactionId: sum.TransactionId, Status: sum.Status, Naam: sum.Naam, Eigenaar: sum.Eigenaar, Zaak: sum.Zaak,
		Reden: sum.Reden, CreatedAt: sum.CreatedAt, UpdatedAt: sum.UpdatedAt, Deadline: sum.Deadline, FinishedAt: sum.FinishedAt,
		BewijsInformatieobjecttype: nonEmpty(t.BewijsInformatieobjecttype),
		Provider:                   nonEmpty(t.Provider),
		Documenten:                 make([]gen.DocumentStatus, 0, len(t.Documents)),
		Ondertekenaars:             make([]gen.SignerStatus, 0, len(t.Signers)),
		Events:                     make([]gen.Event, 0, len(t.Events)),
	}
	for _, d := range t.Documents {
		out.Documenten = append(out.Documenten, gen.DocumentStatus{
			Uuid: d.UUID, Url: d.URL, Titel: nonEmpty(d.Titel), Bestandsnaam: nonEmpty(d.Bestandsnaam), Versie: d.Versie,
			Status: gen.DocumentStatusStatus(d.Status), VersieSigned: d.VersieSigned, VersieUploaded: d.VersieUploaded,
			Sha256Original: nonEmpty(d.OriginalSHA256), Sha256Signed: nonEmpty(d.SignedSHA256),
		})
	}
	for _, sg := range t.Signers {
		st := gen.SignerStatus{
			EMail: sg.Email, Voornaam: nonEmpty(sg.Voornaam), Achternaam: sg.Achternaam, Identificatie: nonEmpty(sg.Identificatie),
			Volgorde: sg.Volgorde, Status: gen.SignerStatusStatus(sg.Status), SignedAt: sg.SignedAt, DeclinedAt: sg.DeclinedAt,
			Reden: nonEmpty(sg.DeclineReason),
		}
		if a := sg.Authenticatie; a != nil {
			st.Authenticatie = &gen.Authenticatie{Methode: a.Methode, Waarde: nonEmpty(mask(a.Methode, a.Waarde))}
		}
		out.Ondertekenaars = append(out.Ondertekenaars, st)
	}
	for _, ev := range t.Events {
		e := gen.Event{Id: ev.ID, At: ev.At, Type: ev.Type, Status: gen.State(ev.State), Actor: ev.Actor}
		if ev.Detail != nil {
			d := ev.Detail
			e.Detail = &d
		}
		out.Events = append(out.Events, e)
	}
	return out
}

// mask hides most of a phone number: the status API is read by more people than the signer.
func mask(method, v string) string {
	if method != signing.AuthSMS {
		return v
	}
	return text.MaskPhone(v)
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// validIdempotencyKey accepts 1 to 255 visible ASCII characters, as the Idempotency-Key draft's
// examples (UUIDs and the like) do.
func validIdempotencyKey(k string) bool {
	if k == "" || len(k) > 255 {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return false
		}
	}
	return true
}
