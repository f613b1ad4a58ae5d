package signingd

import (
	"errors"
	"fmt"
)

// Error codes. The API maps each to one HTTP status in one place.
const (
	ECONFLICT      = "conflict"      // state does not allow the operation (409)
	EINTERNAL      = "internal"      // a bug or an unexpected failure (500)
	EINVALID       = "invalid"       // the caller's input is wrong (400)
	ENOTFOUND      = "not_found"     // no such resource for this caller (404)
	EUNAUTHORIZED  = "unauthorized"  // no or bad credentials (401)
	EFORBIDDEN     = "forbidden"     // credentials lack a permission (403)
	EUNPROCESSABLE = "unprocessable" // well-formed but cannot be honoured, e.g. an idempotency key reused (422)
	EUNAVAILABLE   = "unavailable"   // a dependency is down; try again (503)
)

// Error is the application error: a code the API maps to a status, a message safe to show the caller,
// and for EINVALID the offending fields.
type Error struct {
	Code    string
	Message string
	Fields  []FieldError
}

// FieldError names one invalid field by its JSON path, e.g. "ondertekenaars.0.e-mail".
type FieldError struct {
	Name   string `json:"name"`
	Code   string `json:"code"`
	Reason string `json:"reason"`
}

func (e *Error) Error() string {
	if len(e.Fields) > 0 {
		return fmt.Sprintf("%s: %s (%d invalid fields)", e.Code, e.Message, len(e.Fields))
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for other errors and ""
// for nil.
func ErrorCode(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	default:
		return EINTERNAL
	}
}

// ErrorMessage returns the caller-safe message of err. Internal errors never reveal their text.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}
