package builtin

import (
	"context"
	"io"
	"time"

	"github.com/google/uuid"

	"github.com/signingd/signingd/signing/providers/builtin/records"
)

// Store is what the built-in signer keeps, in its own terms; the service's store implements it
// (store.BuiltinStore). Every change that must happen together with others is one method, or runs
// inside LockBuiltinSigning through the records.Tx it hands out.
type Store interface {
	BuiltinSigningByTransaction(ctx context.Context, transactionID uuid.UUID) (uuid.UUID, bool, error)
	CreateBuiltinSigning(ctx context.Context, sg records.Signing) (uuid.UUID, error)
	BuiltinSigning(ctx context.Context, id uuid.UUID) (records.Signing, error)
	// LockBuiltinSigning runs fn holding the signing's lock; what fn changes through tx commits
	// when it returns nil.
	LockBuiltinSigning(ctx context.Context, id uuid.UUID, fn func(tx records.Tx, sg records.Signing) error) error
	ExpireBuiltinSignings(ctx context.Context, now time.Time) ([]uuid.UUID, error)

	BuiltinSignerByToken(ctx context.Context, digest []byte) (uuid.UUID, int, error)
	UninviteBuiltinSigner(ctx context.Context, id uuid.UUID, pos int, reason string, now time.Time) error
	ClaimBuiltinReminders(ctx context.Context, every time.Duration, now time.Time) ([]records.Ref, error)
	ClaimBuiltinExpiryWarnings(ctx context.Context, before time.Duration, now time.Time) ([]records.Ref, error)

	CreateBuiltinSession(ctx context.Context, digest []byte, id uuid.UUID, pos int, now, expires time.Time, max int) error
	BuiltinSession(ctx context.Context, digest []byte, now time.Time) (uuid.UUID, int, bool, error)
	AuthenticateBuiltinSession(ctx context.Context, session, renewed []byte, now time.Time) error
	SetBuiltinOTP(ctx context.Context, id uuid.UUID, pos int, digest []byte, expires, now time.Time, minGap time.Duration) (bool, error)
	VerifyBuiltinOTP(ctx context.Context, id uuid.UUID, pos int, session, renewed, candidate []byte, now time.Time, maxFailures int, lockout time.Duration) (records.OTPResult, error)

	AddBuiltinEvent(ctx context.Context, id uuid.UUID, pos *int, typ, ip, userAgent string, detail map[string]any, now time.Time) error
	AddBuiltinPageEvent(ctx context.Context, id uuid.UUID, pos int, typ, ip, userAgent string, detail map[string]any, now time.Time, max int) (bool, error)
	BuiltinEvents(ctx context.Context, id uuid.UUID) ([]records.Event, error)

	PutBlob(ctx context.Context, transactionID uuid.UUID, r io.Reader) (records.Blob, error)
	OpenBlob(ctx context.Context, id uuid.UUID) (io.ReadCloser, int64, error)
}
