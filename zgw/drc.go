package zgw

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/signingd/signingd/config"
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
	err := c.doJSON(ctx, request{op: "retrieve document", kind: config.KindDRC, method: http.MethodGet,
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
	resp, err := c.send(ctx, request{op: "download", kind: config.KindDRC, method: http.MethodGet, url: u, query: q,
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
	err := c.doJSON(ctx, request{op: "lock", kind: config.KindDRC, method: http.MethodPost,
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
	return c.doJSON(ctx, request{op: "unlock", kind: config.KindDRC, method: http.MethodPost,
		url: strings.TrimSuffix(eioURL, "/") + "/unlock", okStatus: []int{http.StatusNoContent, http.StatusOK}},
		map[string]string{"lock": lock}, nil)
}

// ForceUnlock releases someone else's lock; it needs the scope documenten.geforceerd-unlock.
func (c *Client) ForceUnlock(ctx context.Context, eioURL string) error {
	return c.doJSON(ctx, request{op: "force unlock", kind: config.KindDRC, method: http.MethodPost,
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
	r := request{op: "update document", kind: config.KindDRC, method: http.MethodPatch, url: eioURL,
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
// organisation's first DRC when drcRoot is empty. Large content goes as bestandsdelen: the DRC
// locks the new document, the parts are uploaded and the document is unlocked again, after which
// the final metadata is returned.
func (c *Client) CreateEIO(ctx context.Context, drcRoot string, fields EIOFields, content *Content) (*EnkelvoudigInformatieObject, error) {
	if drcRoot == "" {
		var ok bool
		if drcRoot, ok = c.reg.Root(c.rsin, config.KindDRC); !ok {
			return nil, fmt.Errorf("zgw: create document: organisation %s has no DRC", c.rsin)
		}
	}
	r := request{op: "create document", kind: config.KindDRC, method: http.MethodPost,
		url: strings.TrimSuffix(drcRoot, "/") + "/enkelvoudiginformatieobjecten", okStatus: []int{http.StatusCreated}}
	eio, err := c.writeEIO(ctx, r, fields, "", content)
	if err != nil {
		return nil, err
	}
	if content == nil || content.Size < c.upload.PartThreshold {
		return eio, nil
	}
	if eio.Lock == "" {
		return nil, fmt.Errorf("zgw: create document %s: chunked upload started without a lock", eio.URL)
	}
	if err := c.uploadParts(ctx, eio.Bestandsdelen, eio.Lock, content); err != nil {
		// Leave no half-created, locked document behind us; the unlock fails as the parts are
		// incomplete, which is fine, the lock is what matters.
		_ = c.Unlock(context.WithoutCancel(ctx), eio.URL, eio.Lock)
		return nil, err
	}
	if err := c.Unlock(ctx, eio.URL, eio.Lock); err != nil {
		return nil, err
	}
	return c.RetrieveEIO(ctx, eio.URL, 0)
}
