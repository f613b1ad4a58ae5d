package auth

import (
	"context"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/signingd/signingd/config"
	"github.com/signingd/signingd/store"
)

// keyReloadInterval bounds how long a replica signs with a key another replica has rotated away,
// and how often an unknown kid of our own may make it look in the database again.
const keyReloadInterval = 30 * time.Second

// signingKey is one of our keys: with the private half when it can sign.
type signingKey struct {
	kid, alg, state string
	priv            crypto.Signer
	pub             crypto.PublicKey
	header          string // the base64url JOSE header of tokens signed with it
}

type keySet struct {
	current *signingKey
	byKID   map[string]*signingKey
	jwks    []byte
	loaded  time.Time
}

// KeyRing holds the keys signingd signs its tokens with: the current key signs, the previous one
// (and one retired less than MaxTokenTTL ago) still verifies, and the next one is published ahead
// so caches of relying parties know it before it signs. Keys live sealed in the database, or come
// from PEM files.
type KeyRing struct {
	st       *store.Store // nil for file keys
	aead     cipher.AEAD
	alg      string
	interval time.Duration
	now      func() time.Time
	logger   *slog.Logger

	set    atomic.Pointer[keySet]
	mu     sync.Mutex // one reload at a time
	tried  atomic.Int64
	static bool
}

// KeyRingOptions configure a database key ring.
type KeyRingOptions struct {
	Store *store.Store
	// KEK is the 32-byte key-encryption key sealing the private keys.
	KEK []byte
	// Alg of new keys: ES256 (default) or RS256.
	Alg string
	// RotationInterval is the schedule of Run; 0 means rotation only by command.
	RotationInterval time.Duration
	Now              func() time.Time
	Logger           *slog.Logger
}

// NewKeyRing opens the database key ring, creating the first keys when there are none.
func NewKeyRing(ctx context.Context, o KeyRingOptions) (*KeyRing, error) {
	if len(o.KEK) != 32 {
		return nil, errors.New("auth: key-encryption key must be 32 bytes")
	}
	block, err := aes.NewCipher(o.KEK)
	if err != nil {
		return nil, fmt.Errorf("auth: key-encryption key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("auth: key-encryption key: %w", err)
	}
	if o.Alg == "" {
		o.Alg = "ES256"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	k := &KeyRing{st: o.Store, aead: aead, alg: o.Alg, interval: o.RotationInterval, now: o.Now, logger: o.Logger}
	if err := o.Store.EnsureSigningKeys(ctx, k.now(), k.generate); err != nil {
		return nil, fmt.Errorf("auth: create signing keys: %w", err)
	}
	if err := k.reload(ctx); err != nil {
		return nil, err
	}
	return k, nil
}

// NewFileKeyRing signs with the first PEM private key of paths and accepts the others too, for
// operators who manage keys outside signingd. Rotation is theirs: replace the files and restart.
func NewFileKeyRing(paths []string) (*KeyRing, error) {
	k := &KeyRing{now: time.Now, static: true, logger: slog.Default()}
	set := &keySet{byKID: map[string]*signingKey{}}
	var jwks JWKS
	for i, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("auth: signing key file: %w", err)
		}
		priv, err := parsePEMPrivate(b)
		if err != nil {
			return nil, fmt.Errorf("auth: signing key file %s: %w", p, err)
		}
		alg, err := algFor(priv.Public())
		if err != nil {
			return nil, fmt.Errorf("auth: signing key file %s: %w", p, err)
		}
		state := store.KeyPrevious
		if i == 0 {
			state = store.KeyCurrent
		}
		sk, jwk, err := newSigningKey(priv, alg, state)
		if err != nil {
			return nil, err
		}
		set.byKID[sk.kid] = sk
		if i == 0 {
			set.current = sk
		}
		jwks.Keys = append(jwks.Keys, jwk)
	}
	if set.current == nil {
		return nil, errors.New("auth: no signing key files")
	}
	set.jwks, _ = json.Marshal(jwks)
	set.loaded = time.Now()
	k.set.Store(set)
	return k, nil
}

func algFor(pub crypto.PublicKey) (string, error) {
	switch p := pub.(type) {
	case *ecdsa.PublicKey:
		if p.Curve == elliptic.P256() {
			return "ES256", nil
		}
	case *rsa.PublicKey:
		if p.N.BitLen() >= minRSABits {
			return "RS256", nil
		}
	}
	return "", fmt.Errorf("want an EC P-256 or an RSA (≥ %d bits) key, got %T", minRSABits, pub)
}

func newSigningKey(priv crypto.Signer, alg, state string) (*signingKey, JWK, error) {
	jwk, err := NewJWK(priv.Public(), "", alg)
	if err != nil {
		return nil, jwk, err
	}
	jwk.Kid = jwk.Thumbprint()
	h, _ := json.Marshal(map[string]string{"alg": alg, "kid": jwk.Kid, "typ": "at+jwt"})
	return &signingKey{kid: jwk.Kid, alg: alg, state: state, priv: priv, pub: priv.Public(), header: b64.EncodeToString(h)}, jwk, nil
}

// generate makes a new key of the ring's algorithm, sealed for the store.
func (k *KeyRing) generate() (store.SigningKey, error) {
	var priv crypto.Signer
	var err error
	switch k.alg {
	case "RS256":
		priv, err = rsa.GenerateKey(rand.Reader, 3072)
	default:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("auth: generate signing key: %w", err)
	}
	sk, jwk, err := newSigningKey(priv, k.alg, "")
	if err != nil {
		return store.SigningKey{}, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("auth: marshal signing key: %w", err)
	}
	nonce := make([]byte, k.aead.NonceSize())
	_, _ = rand.Read(nonce)
	// The kid is the associated data: a sealed key can't be swapped under another kid.
	sealed := k.aead.Seal(nonce, nonce, der, []byte(sk.kid))
	pub, _ := json.Marshal(jwk)
	return store.SigningKey{KID: sk.kid, Alg: k.alg, PrivateEnc: sealed, PublicJWK: pub}, nil
}

func (k *KeyRing) open(sk store.SigningKey) (crypto.Signer, error) {
	n := k.aead.NonceSize()
	if len(sk.PrivateEnc) < n {
		return nil, errors.New("sealed key too short")
	}
	der, err := k.aead.Open(nil, sk.PrivateEnc[:n], sk.PrivateEnc[n:], []byte(sk.KID))
	if err != nil {
		return nil, errors.New("cannot unseal: wrong KEY_ENCRYPTION_KEY?")
	}
	priv, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, err
	}
	s, ok := priv.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("unsupported key %T", priv)
	}
	return s, nil
}

// reload reads the keys from the database.
func (k *KeyRing) reload(ctx context.Context) error {
	now := k.now()
	rows, err := k.st.SigningKeys(ctx, now.Add(-config.MaxTokenTTL-Leeway))
	if err != nil {
		return fmt.Errorf("auth: load signing keys: %w", err)
	}
	set := &keySet{byKID: map[string]*signingKey{}, loaded: now}
	var jwks JWKS
	for _, r := range rows {
		var jwk JWK
		if err := json.Unmarshal(r.PublicJWK, &jwk); err != nil {
			return fmt.Errorf("auth: signing key %s: %w", r.KID, err)
		}
		pub, err := jwk.PublicKey()
		if err != nil {
			return fmt.Errorf("auth: signing key %s: %w", r.KID, err)
		}
		h, _ := json.Marshal(map[string]string{"alg": r.Alg, "kid": r.KID, "typ": "at+jwt"})
		sk := &signingKey{kid: r.KID, alg: r.Alg, state: r.State, pub: pub, header: b64.EncodeToString(h)}
		if r.State == store.KeyCurrent {
			if sk.priv, err = k.open(r); err != nil {
				return fmt.Errorf("auth: signing key %s: %w", r.KID, err)
			}
			set.current = sk
		}
		set.byKID[r.KID] = sk
		jwks.Keys = append(jwks.Keys, jwk)
	}
	if set.current == nil {
		return errors.New("auth: no current signing key")
	}
	set.jwks, _ = json.Marshal(jwks)
	k.set.Store(set)
	return nil
}

// keys returns the key set, reloading it first when it is older than keyReloadInterval. Only one
// caller reloads; the others go on with the set they have.
func (k *KeyRing) keys(ctx context.Context) *keySet {
	set := k.set.Load()
	if k.static || k.now().Sub(set.loaded) < keyReloadInterval || !k.mu.TryLock() {
		return set
	}
	defer k.mu.Unlock()
	if err := k.reload(ctx); err != nil {
		k.logger.Warn("reload signing keys", "err", err)
		// Try again after another interval rather than on every request.
		stale := *set
		stale.loaded = k.now()
		k.set.Store(&stale)
	}
	return k.set.Load()
}

// lookup returns the verifying key with the kid. An unknown kid makes the ring look in the
// database again, at most once per keyReloadInterval: another replica may have rotated.
func (k *KeyRing) lookup(ctx context.Context, kid string) (*signingKey, bool) {
	if sk, ok := k.keys(ctx).byKID[kid]; ok {
		return sk, true
	}
	if k.static {
		return nil, false
	}
	now := k.now().UnixNano()
	last := k.tried.Load()
	if now-last < int64(keyReloadInterval) || !k.tried.CompareAndSwap(last, now) {
		return nil, false
	}
	k.mu.Lock()
	err := k.reload(ctx)
	k.mu.Unlock()
	if err != nil {
		k.logger.Warn("reload signing keys", "err", err)
		return nil, false
	}
	sk, ok := k.set.Load().byKID[kid]
	return sk, ok
}

// JWKS returns the published key set: next, current, previous (and recently retired) keys.
func (k *KeyRing) JWKS(ctx context.Context) []byte { return k.keys(ctx).jwks }

// Rotate makes the next key current, the current one previous and creates a new next key, then
// reloads. Tokens of the previous key keep verifying until they expire.
func (k *KeyRing) Rotate(ctx context.Context) error {
	if k.static {
		return errors.New("auth: signing keys come from SIGNING_KEY_FILES; rotate by replacing the files")
	}
	if err := k.st.RotateSigningKeys(ctx, k.now(), 0, k.generate); err != nil {
		return fmt.Errorf("auth: rotate signing keys: %w", err)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.reload(ctx)
}

// Run rotates the keys on schedule and keeps the ring fresh until ctx ends. Several replicas may
// run it: the store rotates only when the current key is older than the interval.
func (k *KeyRing) Run(ctx context.Context) {
	if k.static {
		return
	}
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if k.interval > 0 {
			err := k.st.RotateSigningKeys(ctx, k.now(), k.interval, k.generate)
			switch {
			case err == nil:
				k.logger.Info("signing keys rotated on schedule")
			case !errors.Is(err, store.ErrNotDue):
				k.logger.Error("rotate signing keys", "err", err)
			}
		}
		k.mu.Lock()
		if err := k.reload(ctx); err != nil && ctx.Err() == nil {
			k.logger.Warn("reload signing keys", "err", err)
		}
		k.mu.Unlock()
		if err := k.st.PruneAuth(ctx, k.now()); err != nil && ctx.Err() == nil {
			k.logger.Warn("prune auth tables", "err", err)
		}
	}
}

// KeyInfo describes a key for `signingd keys list`.
type KeyInfo struct {
	KID, Alg, State string
}

// List describes the keys of the ring, newest first.
func (k *KeyRing) List(ctx context.Context) []KeyInfo {
	set := k.keys(ctx)
	var out []KeyInfo
	var jwks JWKS
	_ = json.Unmarshal(set.jwks, &jwks)
	for _, j := range jwks.Keys {
		sk := set.byKID[j.Kid]
		out = append(out, KeyInfo{KID: sk.kid, Alg: sk.alg, State: sk.state})
	}
	return out
}

// ParseKEK reads a key-encryption key: 32 bytes as base64 (standard or URL) or hex.
func ParseKEK(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, dec := range []func(string) ([]byte, error){
		hex.DecodeString, base64.StdEncoding.DecodeString, base64.RawStdEncoding.DecodeString,
		base64.URLEncoding.DecodeString, base64.RawURLEncoding.DecodeString,
	} {
		if b, err := dec(s); err == nil && len(b) == 32 {
			return b, nil
		}
	}
	return nil, errors.New("KEY_ENCRYPTION_KEY: want 32 bytes as base64 or hex (e.g. `openssl rand -base64 32`)")
}
