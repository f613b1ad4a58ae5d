package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/signingd/signingd"
)

// statusOf is the one table from application error codes to HTTP statuses.
var statusOf = map[string]int{
	signingd.EINVALID:       http.StatusBadRequest,
	signingd.EUNAUTHORIZED:  http.StatusUnauthorized,
	signingd.EFORBIDDEN:     http.StatusForbidden,
	signingd.ENOTFOUND:      http.StatusNotFound,
	signingd.ECONFLICT:      http.StatusConflict,
	signingd.EUNPROCESSABLE: http.StatusUnprocessableEntity,
	signingd.EUNAVAILABLE:   http.StatusServiceUnavailable,
	signingd.EINTERNAL:      http.StatusInternalServerError,
}

// problem is an RFC 9457 problem document with the ZGW invalidParams extension.
type problem struct {
	Type          string                `json:"type,omitempty"`
	Code          string                `json:"code"`
	Title         string                `json:"title"`
	Status        int                   `json:"status"`
	Detail        string                `json:"detail,omitempty"`
	Instance      string                `json:"instance,omitempty"`
	InvalidParams []signingd.FieldError `json:"invalidParams,omitempty"`
}

// errorHandler writes every error as application/problem+json. Internal errors are logged and their
// text never reaches the caller.
func errorHandler(logger *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		p := toProblem(err)
		p.Instance = "urn:request:" + c.Response().Header().Get(echo.HeaderXRequestID)
		if p.Status >= 500 {
			loggerFrom(c.Request().Context(), logger).Error("request failed", "err", err, "status", p.Status)
		}
		if p.Status == http.StatusUnauthorized {
			// RFC 6750 §3.1: a request without credentials gets the challenge alone, no error code.
			challenge := `Bearer error="invalid_token"`
			if r := c.Request(); r.Header.Get(echo.HeaderAuthorization) == "" && r.Header.Get("X-API-Key") == "" {
				challenge = "Bearer"
			}
			c.Response().Header().Set("WWW-Authenticate", challenge)
		}
		c.Response().Header().Set(echo.HeaderContentType, "application/problem+json")
		if c.Request().Method == http.MethodHead {
			c.NoContent(p.Status) //nolint:errcheck
			return
		}
		c.JSON(p.Status, p) //nolint:errcheck // the connection is gone when this fails
	}
}

func toProblem(err error) problem {
	var appErr *signingd.Error
	var httpErr *echo.HTTPError
	switch {
	case errors.As(err, &appErr):
		status := statusOf[appErr.Code]
		if status == 0 {
			status = http.StatusInternalServerError
		}
		p := problem{Code: appErr.Code, Status: status, Title: http.StatusText(status), Detail: appErr.Message, InvalidParams: appErr.Fields}
		if status == http.StatusInternalServerError {
			p.Detail = ""
		}
		return p
	case bodyTooLarge(err): // a decoder read past the route's limit
		return problem{Code: "request_entity_too_large", Status: http.StatusRequestEntityTooLarge,
			Title: http.StatusText(http.StatusRequestEntityTooLarge), Detail: "The body is larger than this route accepts."}
	case errors.As(err, &httpErr):
		return fromHTTPError(httpErr)
	case errors.Is(err, context.Canceled):
		return problem{Code: "canceled", Status: 499, Title: "Client closed request"}
	default:
		return problem{Code: signingd.EINTERNAL, Status: http.StatusInternalServerError, Title: http.StatusText(http.StatusInternalServerError)}
	}
}

// fromHTTPError covers what Echo and the generated binding code report: unknown routes, bad
// parameters, malformed JSON, wrong content type and oversized bodies.
func fromHTTPError(e *echo.HTTPError) problem {
	p := problem{Status: e.Code, Title: http.StatusText(e.Code), Code: strings.ToLower(strings.ReplaceAll(http.StatusText(e.Code), " ", "_"))}
	msg, _ := e.Message.(string)
	switch e.Code {
	case http.StatusBadRequest:
		p.Code = signingd.EINVALID
		p.Detail = "The request is invalid."
		if name, ok := strings.CutPrefix(msg, "Invalid format for parameter "); ok {
			name, _, _ = strings.Cut(name, ":")
			p.InvalidParams = []signingd.FieldError{{Name: name, Code: "invalid", Reason: "Invalid format."}}
		} else {
			// Echo's bind errors: malformed or mistyped JSON.
			p.InvalidParams = []signingd.FieldError{{Name: "body", Code: "parse", Reason: "The body is not valid JSON."}}
		}
	case http.StatusUnsupportedMediaType:
		p.Detail = "This route does not accept a body of this media type."
		if msg != "" && msg != http.StatusText(e.Code) {
			p.Detail = msg
		}
	case http.StatusRequestEntityTooLarge:
		p.Detail = msg
		if msg == "" || msg == http.StatusText(e.Code) {
			p.Detail = "The body is larger than " + sizeText(MaxBodySize) + "."
		}
	default:
		p.Detail = msg
	}
	return p
}

// respondProblem writes err as problem+json without logging it: for expected answers, such as a
// 503 that asks the caller to retry.
func respondProblem(c echo.Context, err error) error {
	p := toProblem(err)
	p.Instance = "urn:request:" + c.Response().Header().Get(echo.HeaderXRequestID)
	c.Response().Header().Set(echo.HeaderContentType, "application/problem+json")
	return c.JSON(p.Status, p)
}
