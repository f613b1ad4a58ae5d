package auth

import (
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/signingd/signingd/internal/clientip"
	"github.com/signingd/signingd/internal/text"
	"github.com/signingd/signingd/store"
)

// MaxFormSize bounds the body of token, introspection and revocation requests.
const MaxFormSize = 64 << 10

// Mount adds the token service's routes. They authenticate clients themselves, outside the API's
// middleware.
func (s *Service) Mount(e *echo.Echo) {
	e.POST(TokenPath, s.token)
	e.POST(IntrospectionPath, s.introspect)
	e.POST(RevocationPath, s.revoke)
	e.GET(JWKSPath, s.jwks)
	e.GET("/.well-known/jwks.json", s.jwks)
	e.GET("/.well-known/oauth-authorization-server", s.metadata)
	e.GET("/.well-known/openid-configuration", s.metadata)
}

// readForm parses an application/x-www-form-urlencoded or multipart/form-data body. Parameters in
// the query string are ignored, and a parameter sent twice is an error (RFC 6749 §3.2).
func readForm(r *http.Request) (url.Values, *oauthError) {
	ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return nil, invalidRequest("Send the parameters as application/x-www-form-urlencoded.")
	}
	r.Body = http.MaxBytesReader(nil, r.Body, MaxFormSize)
	switch ct {
	case "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			return nil, invalidRequest("The body is not a valid form.")
		}
	case "multipart/form-data":
		err := r.ParseMultipartForm(MaxFormSize)
		if r.MultipartForm != nil {
			defer r.MultipartForm.RemoveAll() //nolint:errcheck // the values are copied; no part may outlive the request
		}
		if err != nil {
			return nil, invalidRequest("The body is not a valid multipart form.")
		}
		if r.MultipartForm != nil && len(r.MultipartForm.File) > 0 {
			return nil, invalidRequest("Files are not accepted.")
		}
	default:
		return nil, invalidRequest("Send the parameters as application/x-www-form-urlencoded.")
	}
	for k, v := range r.PostForm {
		if len(v) > 1 {
			return nil, invalidRequest("Parameter " + k + " appears more than once.")
		}
	}
	return r.PostForm, nil
}

// writeError answers with an RFC 6749 §5.2 error.
func writeError(c echo.Context, e *oauthError) error {
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	if e.retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int((e.retryAfter+time.Second-1)/time.Second)))
	}
	if e.status == http.StatusUnauthorized {
		if e.basic {
			h.Set("WWW-Authenticate", `Basic realm="signingd", charset="UTF-8"`)
		} else {
			h.Set("WWW-Authenticate", `Bearer error="invalid_client"`)
		}
	}
	body := map[string]string{"error": e.code}
	if e.desc != "" {
		body["error_description"] = e.desc
	}
	return c.JSON(e.status, body)
}

// refuse records a refusal in the audit trail and answers with the error.
func (s *Service) refuse(c echo.Context, clientID, method string, e *oauthError) error {
	reason := e.reason
	if e.status >= 500 {
		s.o.Logger.Error("token service", "err", reason)
		reason, e.desc = "internal error", ""
	}
	s.audit.Record(store.AuditEntry{At: s.o.Now(), Event: EventRefused, ClientID: clientID, Address: clientip.From(c.Request()),
		Method: method, Reason: reason})
	s.o.Metrics.TokenRefused(e.code)
	return writeError(c, e)
}

// token is the token endpoint (client credentials grant only).
func (s *Service) token(c echo.Context) error {
	r := c.Request()
	addr := clientip.From(r)
	now := s.o.Now()
	form, oe := readForm(r)
	if oe != nil {
		return s.refuse(c, "", "", oe)
	}
	cl, clientID, oe := s.authenticateClient(r.Context(), r, form)
	if oe != nil {
		return s.refuse(c, clientID, methodOf(r, form), oe)
	}
	switch gt := form.Get("grant_type"); gt {
	case "client_credentials":
	case "":
		return s.refuse(c, cl.ClientID, cl.method, invalidRequest("grant_type is required."))
	default:
		return s.refuse(c, cl.ClientID, cl.method, &oauthError{status: http.StatusBadRequest, code: "unsupported_grant_type",
			desc: "Only client_credentials is supported.", reason: "grant_type " + trunc(gt)})
	}
	scopes := cl.Scopes
	if form.Has("scope") {
		scopes = nil
		for sc := range strings.FieldsSeq(form.Get("scope")) {
			if !slices.Contains(cl.Scopes, sc) {
				return s.refuse(c, cl.ClientID, cl.method, &oauthError{status: http.StatusBadRequest, code: "invalid_scope",
					desc: "The client may not ask for scope " + trunc(sc) + ".", reason: "scope " + trunc(sc) + " not allowed"})
			}
			if !slices.Contains(scopes, sc) {
				scopes = append(scopes, sc)
			}
		}
		if len(scopes) == 0 {
			return s.refuse(c, cl.ClientID, cl.method, &oauthError{status: http.StatusBadRequest, code: "invalid_scope",
				desc: "scope is empty.", reason: "empty scope"})
		}
	}
	tok, jti, exp, err := s.issue(r.Context(), cl.Client, scopes)
	if err != nil {
		return s.refuse(c, cl.ClientID, cl.method, &oauthError{status: http.StatusInternalServerError, code: "server_error", reason: err.Error()})
	}
	scope := strings.Join(scopes, " ")
	s.audit.Record(store.AuditEntry{At: now, Event: EventIssued, ClientID: cl.ClientID, Address: addr, Method: cl.method, JTI: jti, Scope: scope})
	s.o.Metrics.TokenIssued()
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	return c.JSON(http.StatusOK, tokenResponse{AccessToken: tok, TokenType: "Bearer", ExpiresIn: int(exp.Sub(now).Seconds()), Scope: scope})
}

type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
	Scope       string `json:"scope"`
}

// methodOf names the authentication method a request attempted, for the audit trail.
func methodOf(r *http.Request, form url.Values) string {
	if _, _, ok := r.BasicAuth(); ok {
		return MethodSecretBasic
	}
	if form.Has("client_assertion") {
		return MethodPrivateKeyJWT
	}
	if form.Has("client_secret") {
		return MethodSecretPost
	}
	return ""
}

// trunc keeps caller-chosen strings short in answers and the audit trail.
func trunc(s string) string { return text.Truncate(s, 65) }

// tokenRequest reads an introspection or revocation request: the form, the client that must
// authenticate itself, and the token it asks about. When answered is true the refusal has been
// written and err is what the handler returns.
func (s *Service) tokenRequest(c echo.Context) (cl authenticatedClient, form url.Values, answered bool, err error) {
	r := c.Request()
	form, oe := readForm(r)
	if oe != nil {
		return cl, nil, true, s.refuse(c, "", "", oe)
	}
	cl, clientID, oe := s.authenticateClient(r.Context(), r, form)
	if oe != nil {
		return cl, nil, true, s.refuse(c, clientID, methodOf(r, form), oe)
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	if form.Get("token") == "" {
		return cl, nil, true, writeError(c, invalidRequest("token is required."))
	}
	return cl, form, false, nil
}

// introspect is RFC 7662 introspection of our own tokens, for authenticated clients. A client,
// admin or not, learns only about tokens of its own organisation: admin is the power over its own
// organisation's transactions, not a view into other organisations.
func (s *Service) introspect(c echo.Context) error {
	r := c.Request()
	cl, form, answered, err := s.tokenRequest(c)
	if answered {
		return err
	}
	inactive := map[string]any{"active": false}
	tok := form.Get("token")
	t, err := parseJWS(tok)
	if err != nil {
		return c.JSON(http.StatusOK, inactive)
	}
	claims, err := t.claims()
	if err != nil {
		return c.JSON(http.StatusOK, inactive)
	}
	v, err := s.verifyOwn(r.Context(), t, claims)
	if err != nil {
		return c.JSON(http.StatusOK, inactive)
	}
	p, err := s.live(r.Context(), v)
	if err != nil || p.OrganisationID != cl.OrganisationID {
		return c.JSON(http.StatusOK, inactive)
	}
	s.audit.Record(store.AuditEntry{At: s.o.Now(), Event: EventIntrospected, ClientID: cl.ClientID, Address: clientip.From(r), Method: cl.method, JTI: v.Jti})
	return c.JSON(http.StatusOK, map[string]any{
		"active": true, "scope": strings.Join(p.Scopes, " "), "client_id": v.ClientID, "sub": v.Sub,
		"aud": v.Aud[0], "iss": v.Iss, "exp": v.Exp.Unix(), "iat": unixOrZero(v.Iat), "nbf": unixOrZero(v.Nbf),
		"jti": v.Jti, "token_type": "Bearer", "rsin": p.RSIN,
	})
}

func unixOrZero(d *numericDate) int64 {
	if d == nil {
		return 0
	}
	return d.Unix()
}

// revoke is RFC 7009 revocation of our own access tokens by the client they were issued to.
func (s *Service) revoke(c echo.Context) error {
	r := c.Request()
	cl, form, answered, err := s.tokenRequest(c)
	if answered {
		return err
	}
	tok := form.Get("token")
	if h := form.Get("token_type_hint"); h == "refresh_token" {
		return c.NoContent(http.StatusOK) // we issue none; nothing to revoke
	}
	// An invalid, expired or foreign-issuer token needs no revocation: answer 200 (RFC 7009 §2.2).
	t, err := parseJWS(tok)
	if err != nil {
		return c.NoContent(http.StatusOK)
	}
	claims, err := t.claims()
	if err != nil {
		return c.NoContent(http.StatusOK)
	}
	v, err := s.verifyOwn(r.Context(), t, claims)
	if err != nil {
		return c.NoContent(http.StatusOK)
	}
	if v.ClientID != cl.ClientID {
		// The same 200 as for a token that is not valid: revocation tells no one whether a token
		// lives (RFC 7009 §2.2). The attempt is in the audit trail.
		s.audit.Record(store.AuditEntry{At: s.o.Now(), Event: EventRefused, ClientID: cl.ClientID, Address: clientip.From(r),
			Method: cl.method, Reason: "revocation of another client's token"})
		return c.NoContent(http.StatusOK)
	}
	if err := s.o.Store.RevokeToken(r.Context(), v.Jti, v.ClientID, v.Exp.Time); err != nil {
		return s.refuse(c, cl.ClientID, cl.method, &oauthError{status: http.StatusInternalServerError, code: "server_error", reason: err.Error()})
	}
	s.revoked.add(v.Jti)
	s.audit.Record(store.AuditEntry{At: s.o.Now(), Event: EventRevoked, ClientID: cl.ClientID, Address: clientip.From(r), Method: cl.method, JTI: v.Jti})
	return c.NoContent(http.StatusOK)
}

func (s *Service) jwks(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "public, max-age=300")
	return c.Blob(http.StatusOK, "application/jwk-set+json", s.o.Keys.JWKS(c.Request().Context()))
}

// metadata is RFC 8414 authorization server metadata, also served as OpenID discovery.
func (s *Service) metadata(c echo.Context) error {
	iss := s.o.Issuer
	methods := []string{MethodSecretBasic, MethodSecretPost, MethodPrivateKeyJWT}
	c.Response().Header().Set("Cache-Control", "public, max-age=300")
	return c.JSON(http.StatusOK, map[string]any{
		"issuer":                                iss,
		"token_endpoint":                        iss + TokenPath,
		"jwks_uri":                              iss + JWKSPath,
		"introspection_endpoint":                iss + IntrospectionPath,
		"revocation_endpoint":                   iss + RevocationPath,
		"grant_types_supported":                 []string{"client_credentials"},
		"response_types_supported":              []string{"token"},
		"token_endpoint_auth_methods_supported": methods,
		"token_endpoint_auth_signing_alg_values_supported":         assertionAlgs,
		"introspection_endpoint_auth_methods_supported":            methods,
		"introspection_endpoint_auth_signing_alg_values_supported": assertionAlgs,
		"revocation_endpoint_auth_methods_supported":               methods,
		"revocation_endpoint_auth_signing_alg_values_supported":    assertionAlgs,
		"scopes_supported":                      AllAuthScopes,
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{s.o.Keys.keys(c.Request().Context()).current.alg},
	})
}
