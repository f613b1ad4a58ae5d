package builtin

import (
	"context"
	"crypto/hmac"
	"embed"
	"encoding/base64"
	"errors"
	"html/template"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/signingd/signingd"
	"github.com/signingd/signingd/internal/clientip"
	"github.com/signingd/signingd/internal/text"
	"github.com/signingd/signingd/signing"
	"github.com/signingd/signingd/signing/pades"
	"github.com/signingd/signingd/signing/providers/builtin/records"
)

//go:embed assets/static assets/templates
var assets embed.FS

var templates = template.Must(template.New("").Funcs(template.FuncMap{
	"inc":   func(i int) int { return i + 1 },
	"links": links,
}).ParseFS(assets, "assets/templates/*.html"))

// textPart is a piece of a message body: text, or a link to show as one.
type textPart struct {
	Text string
	Link bool
}

var urlRE = regexp.MustCompile(`https?://[^\s<>"]+`)

// links splits a message body into text and links, so that the dev outbox's links can be clicked.
func links(body string) []textPart {
	var out []textPart
	last := 0
	for _, m := range urlRE.FindAllStringIndex(body, -1) {
		if m[0] > last {
			out = append(out, textPart{Text: body[last:m[0]]})
		}
		out = append(out, textPart{Text: body[m[0]:m[1]], Link: true})
		last = m[1]
	}
	if last < len(body) {
		out = append(out, textPart{Text: body[last:]})
	}
	return out
}

// csp allows only our own scripts, styles, workers (pdf.js) and images; nothing third-party, no
// framing.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; " +
	"worker-src 'self'; font-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// Mount adds the signer pages (and the dev outbox when configured) to the root router.
func (p *Provider) Mount(e *echo.Echo) {
	static, _ := fs.Sub(assets, "assets/static")
	fileServer := http.StripPrefix("/sign/static/", http.FileServer(http.FS(static)))
	e.GET("/sign/static/*", func(c echo.Context) error {
		// Files only: a directory (the root included) is not listed.
		if st, err := fs.Stat(static, c.Param("*")); err != nil || st.IsDir() {
			return echo.ErrNotFound
		}
		h := c.Response().Header()
		secure(h)
		h.Set("Cache-Control", "public, max-age=86400")
		if strings.HasSuffix(c.Request().URL.Path, ".mjs") {
			h.Set("Content-Type", "text/javascript; charset=utf-8")
		}
		fileServer.ServeHTTP(c.Response(), c.Request())
		return nil
	})
	e.GET("/sign/brand/:rsin/logo", p.brandLogo)
	e.GET("/sign/brand/:rsin/style.css", p.brandStyle)
	e.GET("/sign/:token", p.wrap(p.page))
	e.POST("/sign/:token/code", p.wrap(p.postCode))
	e.POST("/sign/:token/verify", p.wrap(p.postVerify))
	e.POST("/sign/:token/sign", p.wrap(p.postSign))
	e.POST("/sign/:token/decline", p.wrap(p.postDecline))
	e.GET("/sign/:token/documents/:pos", p.wrap(p.document))
	if p.o.Outbox != nil {
		e.GET("/dev/outbox", p.outbox)
	}
}

func secure(h http.Header) {
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer") // the link token is in the URL
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
}

// view is the data of every signer page.
type view struct {
	Lang, AltLang, AltLangName, AltURL string
	T                                  map[string]string
	Kind                               string // error, done, auth, sign, confirm-decline
	Status                             int
	Title                              string
	Message, MessageKind               string
	Naam, Eigenaar, Signer             string
	OrgName, LogoURL, StyleURL         string // the organisation's brand
	Base                               string // /sign/{token}
	CSRF                               string
	Method, Destination                string
	CodeSent                           bool
	Documents                          []docView
	Reason                             string
}

type docView struct {
	Pos   int
	Title string
	URL   string
}

// req is one request on a signer link, resolved.
type req struct {
	c       echo.Context
	lang    string
	token   string
	sg      records.Signing
	signer  records.Signer
	session []byte // digest of the session, when the browser has a valid one for this signer
	sid     string
	authed  bool
}

// pageError is an expected outcome rendered as a page with a 4xx status.
type pageError struct {
	status int
	key    string
}

func (e *pageError) Error() string { return e.key }

var (
	errInvalid   = &pageError{http.StatusNotFound, "err.invalid"}
	errExpired   = &pageError{http.StatusGone, "err.expired"}
	errGone      = &pageError{http.StatusGone, "err.closed"}
	errForbidden = &pageError{http.StatusForbidden, "err.forbidden"}
	errNotFound  = &pageError{http.StatusNotFound, "err.notfound"}
	errFormType  = &pageError{http.StatusUnsupportedMediaType, "err.form"}
	errFormSize  = &pageError{http.StatusRequestEntityTooLarge, "err.form"}
	// errSignLater: a service the signature needs (the time-stamping authority, an OCSP responder
	// or CRL server) did not answer
	errSignLater = &pageError{http.StatusServiceUnavailable, "err.sign_failed"}
)

// MaxFormSize is the largest form a signer page accepts: a decline reason of 500 characters,
// percent-encoded, and the CSRF token.
const MaxFormSize = 8 << 10

// limitForm refuses, before anything reads it, a body that is not a small urlencoded form.
func limitForm(c echo.Context) error {
	req := c.Request()
	if req.Method != http.MethodPost {
		return nil
	}
	if mt, _, _ := mime.ParseMediaType(req.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
		return errFormType
	}
	if req.ContentLength > MaxFormSize {
		return errFormSize
	}
	req.Body = http.MaxBytesReader(c.Response(), req.Body, MaxFormSize)
	return nil
}

// readForm parses a POST's form once the link resolved, and takes its page language.
func readForm(r *req) error {
	req := r.c.Request()
	if req.Method != http.MethodPost {
		return nil
	}
	if err := req.ParseForm(); err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return errFormSize
		}
		return errForbidden
	}
	if l := req.PostForm.Get("lang"); l == "en" || l == "nl" {
		r.lang = l
	}
	return nil
}

func (p *Provider) wrap(h func(*req) error) echo.HandlerFunc {
	return func(c echo.Context) error {
		secure(c.Response().Header())
		c.Response().Header().Set("Cache-Control", "no-store")
		r := &req{c: c, lang: language(c.Request()), token: c.Param("token")}
		err := limitForm(c)
		if err == nil {
			err = p.resolve(r)
		}
		if err == nil {
			err = readForm(r)
		}
		if err == nil {
			err = h(r)
		}
		var pe *pageError
		switch {
		case err == nil:
			return nil
		case errors.As(err, &pe):
			return p.render(r, view{Kind: "error", Status: pe.status, Title: messages[r.lang]["err.title"], Message: messages[r.lang][pe.key], MessageKind: "error"})
		default:
			p.o.Logger.ErrorContext(c.Request().Context(), "builtin: signer page", "path", routePath(c), "err", err)
			return p.render(r, view{Kind: "error", Status: http.StatusInternalServerError, Title: messages[r.lang]["error"], Message: messages[r.lang]["err.internal"], MessageKind: "error"})
		}
	}
}

// routePath is the route without the token, for logs.
func routePath(c echo.Context) string { return c.Path() }

// resolve finds the signer of the link and the browser's session for it.
func (p *Provider) resolve(r *req) error {
	if len(r.token) != 43 {
		return errInvalid
	}
	ctx := r.c.Request().Context()
	id, pos, err := p.o.Store.BuiltinSignerByToken(ctx, p.digest("link", r.token))
	if signingd.ErrorCode(err) == signingd.ENOTFOUND {
		return errInvalid
	}
	if err != nil {
		return err
	}
	if r.sg, err = p.o.Store.BuiltinSigning(ctx, id); err != nil {
		return err
	}
	if r.signer, err = signerAt(r.sg, pos); err != nil {
		return err
	}
	if ck, err := r.c.Cookie(cookieName); err == nil && ck.Value != "" {
		d := p.digest("session", ck.Value)
		sid, spos, authed, err := p.o.Store.BuiltinSession(ctx, d, p.now())
		switch {
		case err == nil && sid == id && spos == pos:
			r.session, r.sid, r.authed = d, ck.Value, authed
		case err != nil && signingd.ErrorCode(err) != signingd.ENOTFOUND:
			return err
		}
	}
	return nil
}

const cookieName = "signingd_signer"

// open checks that the link may still be used to act.
func (p *Provider) open(r *req) error {
	switch {
	case r.signer.Status == signing.SignerSigned || r.signer.Status == signing.SignerDeclined:
		return nil // the page says what they did
	case r.sg.Status != "pending" || r.signer.Status != signing.SignerInvited:
		return errGone
	case r.signer.LinkExpires == nil || !r.signer.LinkExpires.After(p.now()) || !r.sg.Deadline.After(p.now()):
		return errExpired
	}
	return nil
}

func (r *req) who() actor {
	ua := r.c.Request().UserAgent()
	if len(ua) > 500 {
		ua = ua[:500]
	}
	return actor{IP: clientip.From(r.c.Request()), UserAgent: ua}
}

// startSession gives the browser a new, unauthenticated session of this signer.
func (p *Provider) startSession(r *req) error {
	sid, d := p.newSessionID()
	now := p.now()
	if err := p.o.Store.CreateBuiltinSession(r.c.Request().Context(), d, r.sg.ID, r.signer.Position, now,
		now.Add(sessionLifetime), maxSessionsPerSigner); err != nil {
		return err
	}
	p.setSessionCookie(r, sid)
	return nil
}

// newSessionID returns a fresh session id and the digest it is stored under.
func (p *Provider) newSessionID() (string, []byte) {
	sid := newToken()
	return sid, p.digest("session", sid)
}

func (p *Provider) setSessionCookie(r *req, sid string) {
	r.c.SetCookie(&http.Cookie{Name: cookieName, Value: sid, Path: "/sign/" + r.token, HttpOnly: true,
		Secure: strings.HasPrefix(p.o.PublicURL, "https://"), SameSite: http.SameSiteStrictMode, MaxAge: int(sessionLifetime.Seconds())})
	r.session, r.sid = p.digest("session", sid), sid
}

// event records what the signer's browser did, within the per-type bound.
func (p *Provider) event(r *req, typ string, detail map[string]any) error {
	who := r.who()
	_, err := p.o.Store.AddBuiltinPageEvent(r.c.Request().Context(), r.sg.ID, r.signer.Position, typ, who.IP, who.UserAgent,
		detail, p.now(), maxPageEventsPerType)
	return err
}

// page shows the link's current step: authentication, signing, or what was done.
func (p *Provider) page(r *req) error {
	if err := p.open(r); err != nil {
		return err
	}
	ctx := r.c.Request().Context()
	t := messages[r.lang]
	switch r.signer.Status {
	case signing.SignerSigned:
		return p.render(r, view{Kind: "done", Title: t["title"], Message: t["done.signed"], MessageKind: "ok"})
	case signing.SignerDeclined:
		return p.render(r, view{Kind: "done", Title: t["title"], Message: t["done.declined"], MessageKind: "ok"})
	}
	fresh := r.session == nil
	if fresh {
		if err := p.startSession(r); err != nil {
			return err
		}
		if err := p.event(r, "opened", nil); err != nil {
			return err
		}
	}
	if !r.authed && r.signer.AuthMethod == "null" {
		sid, renewed := r.sid, r.session
		if !fresh { // a session the browser brought gets a new id once authenticated (no fixation)
			sid, renewed = p.newSessionID()
		}
		if err := p.o.Store.AuthenticateBuiltinSession(ctx, r.session, renewed, p.now()); err != nil {
			return err
		}
		if !fresh {
			p.setSessionCookie(r, sid)
		}
		if err := p.event(r, "authenticated", map[string]any{"authenticatie": signing.AuthWords("")}); err != nil {
			return err
		}
		r.authed = true
	}
	v := view{Message: t["m."+r.c.QueryParam("m")]}
	if v.Message != "" {
		v.MessageKind = "info"
		if k := r.c.QueryParam("m"); k != "code_sent" {
			v.MessageKind = "error"
		}
	}
	if !r.authed {
		v.Kind, v.Title, v.Method = "auth", t["auth.title"], r.signer.AuthMethod
		v.Destination = r.signer.AuthValue
		if r.signer.AuthMethod == "sms" {
			v.Destination = text.MaskPhone(r.signer.AuthValue)
		}
		v.CodeSent = r.signer.OTPSentAt != nil && r.signer.OTPSentAt.Add(CodeValidity).After(p.now())
		if r.signer.LockedUntil != nil && r.signer.LockedUntil.After(p.now()) {
			v.Message, v.MessageKind = t["m.locked"], "error"
		}
		return p.render(r, v)
	}
	v.Kind, v.Title = "sign", t["title"]
	for _, d := range r.sg.Documents {
		title := d.Titel
		if title == "" {
			title = d.Bestandsnaam
		}
		v.Documents = append(v.Documents, docView{Pos: d.Position, Title: title, URL: "/sign/" + r.token + "/documents/" + strconv.Itoa(d.Position)})
	}
	return p.render(r, v)
}

// checkPost guards every form: a live session of this very signer and its CSRF token, and, when
// the browser sends one, an Origin of ours.
func (p *Provider) checkPost(r *req) error {
	if err := p.open(r); err != nil {
		return err
	}
	if r.signer.Status != signing.SignerInvited || r.session == nil {
		return errForbidden
	}
	if o := r.c.Request().Header.Get("Origin"); o != "" && o != "null" {
		u, err := url.Parse(o)
		if err != nil || u.Host != r.c.Request().Host {
			return errForbidden
		}
	}
	want := p.csrf(r.sid)
	got := r.c.FormValue("csrf")
	if !hmac.Equal([]byte(got), []byte(want)) {
		return errForbidden
	}
	return nil
}

func (p *Provider) csrf(sid string) string {
	return base64.RawURLEncoding.EncodeToString(p.digest("csrf", sid))
}

// back redirects to the link's page with a message (Post/Redirect/Get).
func (p *Provider) back(r *req, msg string) error {
	u := "/sign/" + r.token + "?lang=" + r.lang
	if msg != "" {
		u += "&m=" + msg
	}
	return r.c.Redirect(http.StatusSeeOther, u)
}

func (p *Provider) postCode(r *req) error {
	if err := p.checkPost(r); err != nil {
		return err
	}
	if r.authed || r.signer.AuthMethod == "null" {
		return p.back(r, "")
	}
	ctx := r.c.Request().Context()
	code := newCode()
	now := p.now()
	ok, err := p.o.Store.SetBuiltinOTP(ctx, r.sg.ID, r.signer.Position, p.otpDigest(r, code), now.Add(CodeValidity), now, codeResendGap)
	if err != nil {
		return err
	}
	if !ok {
		if r.signer.LockedUntil != nil && r.signer.LockedUntil.After(now) {
			return p.back(r, "locked")
		}
		return p.back(r, "code_wait")
	}
	text := codeText(code, r.lang)
	if r.signer.AuthMethod == "sms" {
		err = p.o.SMS.SendSMS(ctx, r.signer.AuthValue, text)
	} else {
		subject := "Uw code om te ondertekenen"
		if r.lang == "en" {
			subject = "Your signing code"
		}
		err = p.o.Mailer.SendMail(ctx, Mail{To: r.signer.AuthValue, Subject: subject, Body: text})
	}
	if err != nil {
		p.o.Logger.WarnContext(ctx, "builtin: send code failed", "ref", r.sg.ID, "signer", r.signer.Position, "method", r.signer.AuthMethod, "err", err)
		return p.back(r, "send_failed")
	}
	if err := p.event(r, "code_sent", map[string]any{"authenticatie": signing.AuthWords(r.signer.AuthMethod)}); err != nil {
		return err
	}
	return p.back(r, "code_sent")
}

// otpDigest binds a code to its signing and signer, so a code is worth nothing elsewhere.
func (p *Provider) otpDigest(r *req, code string) []byte {
	return p.digest("otp", r.sg.ID.String(), strconv.Itoa(r.signer.Position), code)
}

func (p *Provider) postVerify(r *req) error {
	if err := p.checkPost(r); err != nil {
		return err
	}
	if r.authed || r.signer.AuthMethod == "null" {
		return p.back(r, "")
	}
	code := strings.ReplaceAll(strings.TrimSpace(r.c.FormValue("code")), " ", "")
	if len(code) != 6 || strings.Trim(code, "0123456789") != "" {
		return p.back(r, "code_format")
	}
	ctx := r.c.Request().Context()
	now := p.now()
	sid, renewed := p.newSessionID() // the session's id changes once authenticated (no fixation)
	res, err := p.o.Store.VerifyBuiltinOTP(ctx, r.sg.ID, r.signer.Position, r.session, renewed, p.otpDigest(r, code), now, MaxCodeAttempts, p.o.OTPLockout)
	if err != nil {
		return err
	}
	if res == records.OTPOK {
		p.setSessionCookie(r, sid)
	}
	outcomes := map[records.OTPResult]struct{ event, msg string }{
		records.OTPOK: {"authenticated", ""}, records.OTPWrong: {"code_wrong", "code_wrong"},
		records.OTPExpired: {"code_expired", "code_expired"}, records.OTPLocked: {"locked", "locked"},
	}
	event, msg := outcomes[res].event, outcomes[res].msg
	if err := p.event(r, event, map[string]any{"authenticatie": signing.AuthWords(r.signer.AuthMethod)}); err != nil {
		return err
	}
	if res != records.OTPOK {
		p.o.Logger.InfoContext(ctx, "builtin: code refused", "ref", r.sg.ID, "signer", r.signer.Position, "outcome", event)
	}
	return p.back(r, msg)
}

func (p *Provider) postSign(r *req) error {
	if err := p.checkPost(r); err != nil {
		return err
	}
	if !r.authed {
		return errForbidden
	}
	if r.c.FormValue("consent") != "yes" {
		return p.back(r, "consent")
	}
	ctx := context.WithoutCancel(r.c.Request().Context()) // a signature, once begun, is finished
	if err := p.sign(ctx, r.sg.ID, r.signer.Position, r.who()); err != nil {
		if errors.Is(err, errClosed) {
			return errGone
		}
		if errors.Is(err, pades.ErrTimestamp) {
			p.o.Logger.WarnContext(ctx, "signature not made: the time-stamping authority failed", "err", err)
			return errSignLater
		}
		if errors.Is(err, pades.ErrRevocation) {
			p.o.Logger.WarnContext(ctx, "signature not made: no usable revocation data for the long-term document", "err", err)
			return errSignLater
		}
		return err // a revoked certificate (pades.ErrRevoked) among them: logged, for the operator
	}
	return p.back(r, "")
}

func (p *Provider) postDecline(r *req) error {
	if err := p.checkPost(r); err != nil {
		return err
	}
	if !r.authed {
		return errForbidden
	}
	reason := strings.TrimSpace(r.c.FormValue("reason"))
	if reason == "" || utf8.RuneCountInString(reason) > 500 || !utf8.ValidString(reason) || strings.IndexByte(reason, 0) >= 0 {
		return p.back(r, "reason")
	}
	if r.c.FormValue("confirm") != "yes" {
		// Declining ends the signing for everyone: one more, deliberate click, with the reason shown.
		t := messages[r.lang]
		return p.render(r, view{Kind: "confirm-decline", Title: t["title"], Reason: reason})
	}
	if err := p.decline(r.c.Request().Context(), r.sg.ID, r.signer.Position, reason, r.who()); err != nil {
		if errors.Is(err, errClosed) {
			return errGone
		}
		return err
	}
	return p.back(r, "")
}

// document streams a document's current version to its authenticated signer, for the preview.
func (p *Provider) document(r *req) error {
	if err := p.open(r); err != nil {
		return err
	}
	if r.session == nil || !r.authed {
		return errForbidden
	}
	pos, err := strconv.Atoi(r.c.Param("pos"))
	if err != nil {
		return errNotFound
	}
	for _, d := range r.sg.Documents {
		if d.Position != pos {
			continue
		}
		rc, size, err := p.o.Store.OpenBlob(r.c.Request().Context(), d.CurrentBlob)
		if err != nil {
			return err
		}
		defer rc.Close()
		h := r.c.Response().Header()
		h.Set("Content-Type", "application/pdf")
		h.Set("Content-Length", strconv.FormatInt(size, 10))
		h.Set("Content-Disposition", "inline; filename*=UTF-8''"+url.PathEscape(d.Bestandsnaam))
		r.c.Response().WriteHeader(http.StatusOK)
		_, err = io.Copy(r.c.Response(), rc)
		return err
	}
	return errNotFound
}

func (p *Provider) render(r *req, v view) error {
	v.Lang, v.T = r.lang, messages[r.lang]
	v.AltLang, v.AltLangName = "en", "English"
	if r.lang == "en" {
		v.AltLang, v.AltLangName = "nl", "Nederlands"
	}
	if r.sg.ID != uuid.Nil {
		v.Naam, v.Eigenaar, v.Signer = r.sg.Naam, r.sg.Eigenaar, signerName(r.signer)
		b := p.brand(r.sg.RSIN)
		v.OrgName = b.Name
		if len(b.Logo) > 0 {
			v.LogoURL = "/sign/brand/" + r.sg.RSIN + "/logo"
		}
		if b.Colour != "" {
			v.StyleURL = "/sign/brand/" + r.sg.RSIN + "/style.css"
		}
	}
	if r.token != "" && r.sg.ID != uuid.Nil {
		v.Base = "/sign/" + r.token
		v.AltURL = v.Base + "?lang=" + v.AltLang
	}
	if r.sid != "" {
		v.CSRF = p.csrf(r.sid)
	}
	if v.Status == 0 {
		v.Status = http.StatusOK
	}
	h := r.c.Response().Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Language", v.Lang)
	r.c.Response().WriteHeader(v.Status)
	return templates.ExecuteTemplate(r.c.Response(), "page.html", v)
}

// outbox shows the dev outbox: every e-mail and SMS, newest first.
func (p *Provider) outbox(c echo.Context) error {
	secure(c.Response().Header())
	c.Response().Header().Set("Cache-Control", "no-store")
	c.Response().Header().Set("Content-Type", "text/html; charset=utf-8")
	lang := language(c.Request())
	return templates.ExecuteTemplate(c.Response(), "outbox.html", struct {
		Lang     string
		Messages []Message
		Now      time.Time
	}{lang, p.o.Outbox.Messages(), p.now()})
}
