package pades

import (
	"errors"
	"fmt"
)

// Sentinel errors let callers map failures to a user-facing reason with
// errors.Is, whatever detail the wrapping error carries.
var (
	// ErrNotPDF means the input does not start like a PDF file.
	ErrNotPDF = errors.New("pades: not a PDF file")
	// ErrMalformed means the PDF structure could not be read.
	ErrMalformed = errors.New("pades: malformed PDF")
	// ErrEncrypted means the PDF is encrypted so that it cannot be opened
	// without a password or a certificate (or with an encryption this package
	// does not know); the FormatError's Msg says which. A PDF encrypted with an
	// empty user password, which opens without one, is read and signed.
	ErrEncrypted = errors.New("pades: PDF is encrypted")
	// ErrLocked means an earlier certification signature forbids further changes.
	ErrLocked = errors.New("pades: PDF is locked by a certification signature")
	// ErrUnsupported means the PDF uses a feature this package cannot handle.
	ErrUnsupported = errors.New("pades: unsupported PDF feature")
	// ErrInvalidOptions means the Options are incomplete or inconsistent.
	ErrInvalidOptions = errors.New("pades: invalid options")
	// ErrTimestamp means the time-stamp authority failed or answered wrongly.
	ErrTimestamp = errors.New("pades: timestamp failed")
)

// FormatError describes where the PDF structure is broken. It matches
// ErrMalformed (or another sentinel in Kind) under errors.Is.
type FormatError struct {
	Kind   error // ErrMalformed, ErrNotPDF, ErrUnsupported or ErrEncrypted
	Offset int64 // byte offset in the file, -1 when unknown
	Msg    string
}

func (e *FormatError) Error() string {
	if e.Offset >= 0 {
		return fmt.Sprintf("%v: %s (at byte %d)", e.Kind, e.Msg, e.Offset)
	}
	return fmt.Sprintf("%v: %s", e.Kind, e.Msg)
}

// Unwrap lets errors.Is match the sentinel kind.
func (e *FormatError) Unwrap() error { return e.Kind }

func malformed(off int64, format string, args ...any) error {
	return &FormatError{Kind: ErrMalformed, Offset: off, Msg: fmt.Sprintf(format, args...)}
}

func unsupported(format string, args ...any) error {
	return &FormatError{Kind: ErrUnsupported, Offset: -1, Msg: fmt.Sprintf(format, args...)}
}
