package zgw

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

func versieQuery(versie int) url.Values {
	if versie <= 0 {
		return nil
	}
	return url.Values{"versie": {strconv.Itoa(versie)}}
}

// RetrieveEIO reads the metadata of a document; versie 0 means the latest version.
func (c *Client) RetrieveEIO(ctx context.Context, eioURL string, versie int) (*EnkelvoudigInformatieObject, error) {
	var eio EnkelvoudigInformatieObject
	err := c.doJSON(ctx, request{op: "retrieve document", kind: KindDRC, method: http.MethodGet,
		url: eioURL, query: versieQuery(versie), okStatus: []int{http.StatusOK}}, nil, &eio)
	if err != nil {
		return nil, err
	}
	return &eio, nil
}

// Download streams the content of a document version (versie 0: the latest). The caller reads and
// closes the body; nothing is buffered here, so documents of any size pass through. A connection
// dropped mid-body surfaces as a read error that IsTransient recognises.
func (c *Client) Download(ctx context.Context, eioURL string, versie int) (io.ReadCloser, error) {
	u := strings.TrimSuffix(eioURL, "/") + "/download"
	return c.download(ctx, u, versieQuery(versie))
}

// DownloadInhoud streams the content behind an inhoud URL taken from a document's metadata. The URL
// must lie under a DRC root of the organisation like any other.
func (c *Client) DownloadInhoud(ctx context.Context, inhoudURL string) (io.ReadCloser, error) {
	return c.download(ctx, inhoudURL, nil)
}

func (c *Client) download(ctx context.Context, u string, q url.Values) (io.ReadCloser, error) {
	resp, err := c.send(ctx, request{op: "download", kind: KindDRC, method: http.MethodGet, url: u, query: q,
		header: http.Header{"Accept": {"*/*"}}, okStatus: []int{http.StatusOK}})
	if err != nil {
		return nil, err
	}
	return &bodyReader{rc: resp.Body, op: "download", url: resp.Request.URL.String()}, nil
}

// bodyReader adds context to read errors of a streamed body.
type bodyReader struct {
	rc  io.ReadCloser
	op  string
	url string
}

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("zgw: %s %s: read: %w", b.op, b.url, err)
	}
	return n, err
}

func (b *bodyReader) Close() error { return b.rc.Close() }

// Lock locks a document and returns the lock id needed for updates and the unlock.
func (c *Client) Lock(ctx context.Context, eioURL string) (string, error) {
	var out struct {
		Lock string `json:"lock"`
	}
	// The OAS requires Content-Type: application/json on the lock call, which has no body.
	err := c.doJSON(ctx, request{op: "lock", kind: KindDRC, method: http.MethodPost,
		url: strings.TrimSuffix(eioURL, "/") + "/lock", ctype: "application/json",
		okStatus: []int{http.StatusOK}}, nil, &out)
	if err != nil {
		return "", err
	}
	if out.Lock == "" {
		return "", fmt.Errorf("zgw: lock %s: the answer holds no lock id", eioURL)
	}
	return out.Lock, nil
}

// Unlock releases our lock. With a pending chunked upload this is when the DRC assembles the
// parts, so an error here can mean the upload was incomplete.
func (c *Client) Unlock(ctx context.Context, eioURL, lock string) error {
	if lock == "" {
		return fmt.Errorf("zgw: unlock %s: empty lock id (use ForceUnlock)", eioURL)
	}
	return c.doJSON(ctx, request{op: "unlock", kind: KindDRC, method: http.MethodPost,
		url: strings.TrimSuffix(eioURL, "/") + "/unlock", okStatus: []int{http.StatusNoContent, http.StatusOK}},
		map[string]string{"lock": lock}, nil)
}

// ForceUnlock releases someone else's lock; it needs the scope documenten.geforceerd-unlock.
func (c *Client) ForceUnlock(ctx context.Context, eioURL string) error {
	return c.doJSON(ctx, request{op: "force unlock", kind: KindDRC, method: http.MethodPost,
		url: strings.TrimSuffix(eioURL, "/") + "/unlock", okStatus: []int{http.StatusNoContent, http.StatusOK}},
		struct{}{}, nil)
}

// Content is document content to upload: exactly Size bytes are read from Reader.
type Content struct {
	Reader io.Reader
	Size   int64
}

// UpdateEIO writes a new version of a locked document with one PATCH carrying the metadata and,
// when content is given, the content: base64 inside the JSON below the part threshold, else as
// bestandsdelen. It does not unlock: the caller unlocks (always, in a defer-like step), and for a
// chunked upload that unlock is when the DRC assembles the new content. It returns the PATCH answer.
func (c *Client) UpdateEIO(ctx context.Context, eioURL, lock string, fields EIOFields, content *Content) (*EnkelvoudigInformatieObject, error) {
	if lock == "" {
		return nil, fmt.Errorf("zgw: update document %s: no lock", eioURL)
	}
	r := request{op: "update document", kind: KindDRC, method: http.MethodPatch, url: eioURL,
		okStatus: []int{http.StatusOK}}
	eio, err := c.writeEIO(ctx, r, fields, lock, content)
	if err != nil {
		return nil, err
	}
	if content != nil && content.Size >= c.upload.PartThreshold {
		if err := c.uploadParts(ctx, eio.Bestandsdelen, lock, content); err != nil {
			return nil, err
		}
	}
	return eio, nil
}

// CreateEIO creates a document (the evidence document) in the DRC under drcRoot, or the
// organisation's first DRC when drcRoot is empty, and returns its final metadata. Large content
// goes as bestandsdelen: StartCreateEIO, then FinishUpload. When the parts fail, the document stays
// locked (the DRC refuses to unlock incomplete parts) and the error is an *UploadPendingError with
// the document and its lock, so that the upload can be resumed with FinishUpload.
//
// A caller that must survive a crash mid-upload uses StartCreateEIO and FinishUpload itself and
// records the document's URL and lock in between.
func (c *Client) CreateEIO(ctx context.Context, drcRoot string, fields EIOFields, content *Content) (*EnkelvoudigInformatieObject, error) {
	eio, err := c.StartCreateEIO(ctx, drcRoot, fields, content)
	if err != nil || eio.Lock == "" {
		return eio, err
	}
	final, err := c.FinishUpload(ctx, eio, eio.Lock, content)
	if err != nil {
		return nil, &UploadPendingError{Document: eio, Lock: eio.Lock, Err: err}
	}
	return final, nil
}

// StartCreateEIO creates a document in the DRC under drcRoot (the organisation's first DRC when
// empty). Content below the part threshold goes inline, base64 in the JSON, and the document is
// complete on return, Lock empty. Content at or above it starts a chunked upload: the DRC creates
// the document without content, locks it and announces its bestandsdelen; StartCreateEIO returns
// that answer at once, with Lock set and no part sent. The caller keeps URL and lock where a crash
// cannot lose them, then calls FinishUpload (as often as it takes).
func (c *Client) StartCreateEIO(ctx context.Context, drcRoot string, fields EIOFields, content *Content) (*EnkelvoudigInformatieObject, error) {
	if drcRoot == "" {
		var ok bool
		if drcRoot, ok = c.reg.Root(c.rsin, KindDRC); !ok {
			return nil, fmt.Errorf("zgw: create document: organisation %s has no DRC", c.rsin)
		}
	}
	r := request{op: "create document", kind: KindDRC, method: http.MethodPost,
		url: strings.TrimSuffix(drcRoot, "/") + "/enkelvoudiginformatieobjecten", okStatus: []int{http.StatusCreated}}
	eio, err := c.writeEIO(ctx, r, fields, "", content)
	if err != nil {
		return nil, err
	}
	chunked := content != nil && content.Size >= c.upload.PartThreshold
	switch {
	case chunked && eio.Lock == "":
		return nil, fmt.Errorf("zgw: create document %s: chunked upload started without a lock", eio.URL)
	case !chunked:
		eio.Lock = "" // nothing to finish
	}
	return eio, nil
}

// FinishUpload completes the chunked upload of a document locked with lock: it sends every part of
// eio.Bestandsdelen that is not voltooid, cut from content (read from its first byte; the bytes of
// finished parts are skipped), and unlocks, which is when the DRC checks the parts and assembles
// the content. It returns the document as the DRC then shows it: unlocked, with its content.
//
// eio is the document as last seen: the answer that started the upload, or a fresh RetrieveEIO
// after a failure, whose voltooid flags tell what is left. Sending a part again is harmless (the
// DRC replaces it), so FinishUpload may be repeated until it succeeds. On failure the document
// stays locked: an unlock with incomplete parts is refused anyway (Open Zaak: incomplete-upload).
func (c *Client) FinishUpload(ctx context.Context, eio *EnkelvoudigInformatieObject, lock string, content *Content) (*EnkelvoudigInformatieObject, error) {
	if lock == "" {
		return nil, fmt.Errorf("zgw: finish upload of %s: no lock", eio.URL)
	}
	if len(eio.Bestandsdelen) == 0 {
		return nil, fmt.Errorf("zgw: finish upload of %s: the DRC shows no bestandsdelen", eio.URL)
	}
	parts := slices.SortedFunc(slices.Values(eio.Bestandsdelen), func(a, b BestandsDeel) int { return a.Volgnummer - b.Volgnummer })
	var total int64
	for _, p := range parts {
		if p.Omvang < 0 {
			return nil, fmt.Errorf("zgw: finish upload of %s: part %d has negative size", eio.URL, p.Volgnummer)
		}
		total += p.Omvang
	}
	if total != content.Size {
		return nil, fmt.Errorf("zgw: finish upload of %s: the parts add up to %d bytes, the content has %d", eio.URL, total, content.Size)
	}
	for _, p := range parts {
		data := io.LimitReader(content.Reader, p.Omvang)
		if p.Voltooid {
			if n, err := io.Copy(io.Discard, data); err != nil || n != p.Omvang {
				return nil, fmt.Errorf("zgw: finish upload of %s: skip part %d: read content: got %d of %d bytes: %v", eio.URL, p.Volgnummer, n, p.Omvang, err)
			}
			continue
		}
		if err := c.putPart(ctx, p, lock, data); err != nil {
			return nil, err
		}
	}
	if err := c.Unlock(ctx, eio.URL, lock); err != nil {
		return nil, err
	}
	return c.RetrieveEIO(ctx, eio.URL, 0)
}

// UploadPendingError is a chunked upload that failed after the DRC created or versioned the
// document: it is locked with Lock until FinishUpload completes it (or someone forces it open).
type UploadPendingError struct {
	Document *EnkelvoudigInformatieObject
	Lock     string
	Err      error
}

func (e *UploadPendingError) Error() string {
	return fmt.Sprintf("zgw: upload of %s left pending: %v", e.Document.URL, e.Err)
}

func (e *UploadPendingError) Unwrap() error { return e.Err }

// DeleteEIO deletes a document with all its versions; it needs the scope documenten.verwijderen.
// The DRC refuses (400) while the document is locked or related to a zaak or besluit (drc-008).
func (c *Client) DeleteEIO(ctx context.Context, eioURL string) error {
	return c.doJSON(ctx, request{op: "delete document", kind: KindDRC, method: http.MethodDelete,
		url: eioURL, okStatus: []int{http.StatusNoContent}}, nil, nil)
}

// PartsLock is the lock shown with the document's pending bestandsdelen: the OAS makes it a
// required field of every BestandsDeel, and Open Zaak and OneGround fill it with the document's
// lock. Empty when no upload is pending or the DRC does not show it.
func (e *EnkelvoudigInformatieObject) PartsLock() string {
	for _, p := range e.Bestandsdelen {
		if p.Lock != "" {
			return p.Lock
		}
	}
	return ""
}

// IsIdentificatieTaken reports a create refused because the bronorganisatie already has a document
// with this identificatie (Open Zaak: identificatie-niet-uniek).
func IsIdentificatieTaken(err error) bool {
	var ze *Error
	if !errors.As(err, &ze) || ze.Status != http.StatusBadRequest {
		return false
	}
	for _, p := range ze.InvalidParams {
		code := strings.ToLower(p.Code)
		if strings.EqualFold(p.Name, "identificatie") && (strings.Contains(code, "uniek") || strings.Contains(code, "unique")) {
			return true
		}
	}
	return false
}
