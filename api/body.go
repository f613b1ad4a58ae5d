package api

import (
	"errors"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/signingd/signingd/auth"
)

// BodyRule is what the routes under Prefix accept as a request body: at most Limit bytes, and only
// the media types listed (none listed: any type but multipart, which only a route that asks for it
// gets, since net/http spools large parts to temporary files).
type BodyRule struct {
	Prefix    string
	Limit     int64
	Types     []string
	Multipart bool // multipart/form-data is accepted too
	// TypeRequired refuses a body without Content-Type (415 naming the header), where a guess
	// would turn into a confusing parse error.
	TypeRequired bool
}

// tokenEndpointBodies are the token service's forms; OneGround's examples send them as multipart.
// Other types are refused by the service itself, in OAuth's error format.
var tokenEndpointBodies = BodyRule{Prefix: "/oauth2/", Limit: auth.MaxFormSize, Multipart: true}

// apiBodies are the API's own JSON bodies (the trigger, a cancel). Vendors' webhooks, under
// /api/v1/providers/, are read however the vendor sends them.
var apiBodies = []BodyRule{
	{Prefix: "/api/v1/providers/", Limit: MaxBodySize},
	{Prefix: "/api/v1/", Limit: MaxBodySize, Types: []string{"application/json"}, TypeRequired: true},
}

// limitBodies applies the first matching rule (else MaxBodySize, no multipart) to every request
// before routing, so that no handler or middleware can read more than its route allows.
func limitBodies(rules []BodyRule) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			rule := BodyRule{Limit: MaxBodySize}
			for _, x := range rules {
				if strings.HasPrefix(r.URL.Path, x.Prefix) {
					rule = x
					break
				}
			}
			if r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
				if err := rule.check(r.Header.Get(echo.HeaderContentType)); err != nil {
					return err
				}
			}
			if r.ContentLength > rule.Limit {
				return tooLarge(rule.Limit)
			}
			r.Body = http.MaxBytesReader(c.Response(), r.Body, rule.Limit)
			return next(c)
		}
	}
}

func (b BodyRule) check(contentType string) error {
	if contentType == "" {
		if b.TypeRequired {
			return echo.NewHTTPError(http.StatusUnsupportedMediaType, "The Content-Type header is missing: send "+strings.Join(b.Types, " or ")+".")
		}
		return nil // the handler refuses what it cannot read
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return unsupported()
	}
	if b.Multipart && mt == "multipart/form-data" {
		return nil
	}
	if len(b.Types) == 0 {
		if strings.HasPrefix(mt, "multipart/") {
			return unsupported()
		}
		return nil
	}
	for _, t := range b.Types {
		if mt == t {
			return nil
		}
	}
	return unsupported()
}

func tooLarge(limit int64) error {
	return echo.NewHTTPError(http.StatusRequestEntityTooLarge, "The body is larger than "+sizeText(limit)+".")
}

func unsupported() error {
	return echo.NewHTTPError(http.StatusUnsupportedMediaType)
}

// sizeText writes a byte count the way people read it: 1 MiB, 8 KiB, 100 bytes.
func sizeText(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + " KiB"
	default:
		return strconv.FormatInt(n, 10) + " bytes"
	}
}

// bodyTooLarge reports whether err comes from reading past a body limit.
func bodyTooLarge(err error) bool {
	var mb *http.MaxBytesError
	return errors.As(err, &mb)
}
