package zgw

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"sort"
)

// writeEIO sends a create or PATCH with the fields, the lock (PATCH only) and the content: base64
// inline below the threshold, inhoud null + bestandsomvang above it. The body is streamed through a
// pipe and never held whole in memory.
func (c *Client) writeEIO(ctx context.Context, r request, fields EIOFields, lock string, content *Content) (*EnkelvoudigInformatieObject, error) {
	meta, err := json.Marshal(fields)
	if err != nil {
		return nil, fmt.Errorf("zgw: %s: encode: %w", r.op, err)
	}
	// meta is a JSON object; extra members are appended before its closing brace.
	var head bytes.Buffer
	head.Write(meta[:len(meta)-1])
	sep := func() {
		if head.Len() > 1 {
			head.WriteByte(',')
		}
	}
	if lock != "" {
		sep()
		lb, _ := json.Marshal(lock)
		head.WriteString(`"lock":`)
		head.Write(lb)
	}
	var inline *Content
	switch {
	case content == nil:
		head.WriteByte('}')
	case content.Size < 0:
		return nil, fmt.Errorf("zgw: %s: negative content size", r.op)
	case content.Size >= c.upload.PartThreshold:
		sep()
		fmt.Fprintf(&head, `"bestandsomvang":%d,"inhoud":null}`, content.Size)
	default:
		sep()
		fmt.Fprintf(&head, `"bestandsomvang":%d,"inhoud":"`, content.Size)
		inline = content
	}
	r.ctype = "application/json"
	if inline == nil {
		r.body, r.length = bytes.NewReader(head.Bytes()), int64(head.Len())
	} else {
		tail := `"}`
		r.length = int64(head.Len()) + int64(base64.StdEncoding.EncodedLen(int(inline.Size))) + int64(len(tail))
		pr, pw := io.Pipe()
		done := make(chan struct{})
		go func() {
			defer close(done)
			pw.CloseWithError(streamBase64(pw, head.Bytes(), inline, tail))
		}()
		// The DRC may answer before it read the body: the writer then fails on the closed pipe,
		// and the caller gets control back only once nothing reads its content any more (it
		// closes it next).
		defer func() { pr.Close(); <-done }()
		r.body = pr
	}
	resp, err := c.send(ctx, r)
	if err != nil {
		return nil, err
	}
	var eio EnkelvoudigInformatieObject
	if err := decode(r.op, resp, &eio); err != nil {
		return nil, err
	}
	return &eio, nil
}

// streamBase64 writes head, the base64 of exactly content.Size bytes, and tail.
func streamBase64(w io.Writer, head []byte, content *Content, tail string) error {
	if _, err := w.Write(head); err != nil {
		return err
	}
	enc := base64.NewEncoder(base64.StdEncoding, w)
	n, err := io.Copy(enc, io.LimitReader(content.Reader, content.Size))
	if err != nil {
		return fmt.Errorf("read content: %w", err)
	}
	if n != content.Size {
		return fmt.Errorf("read content: got %d of %d bytes", n, content.Size)
	}
	if err := enc.Close(); err != nil {
		return err
	}
	_, err = io.WriteString(w, tail)
	return err
}

// uploadParts PUTs the content split exactly into the announced parts, in volgnummer order.
func (c *Client) uploadParts(ctx context.Context, parts []BestandsDeel, lock string, content *Content) error {
	if len(parts) == 0 {
		return errors.New("zgw: upload parts: the DRC announced no bestandsdelen")
	}
	parts = append([]BestandsDeel(nil), parts...)
	sort.Slice(parts, func(i, j int) bool { return parts[i].Volgnummer < parts[j].Volgnummer })
	var total int64
	for _, p := range parts {
		if p.Omvang < 0 {
			return fmt.Errorf("zgw: upload parts: part %d has negative size", p.Volgnummer)
		}
		total += p.Omvang
	}
	if total != content.Size {
		return fmt.Errorf("zgw: upload parts: the parts add up to %d bytes, the content has %d", total, content.Size)
	}
	for _, p := range parts {
		if err := c.putPart(ctx, p, lock, io.LimitReader(content.Reader, p.Omvang)); err != nil {
			return err
		}
	}
	return nil
}

// putPart streams one part as multipart/form-data with the fields lock and inhoud. The exact body
// length is computed beforehand, so the request carries a Content-Length, which some servers
// require for uploads.
func (c *Client) putPart(ctx context.Context, p BestandsDeel, lock string, data io.Reader) error {
	boundary := multipart.NewWriter(io.Discard).Boundary()
	overhead, err := writeMultipart(io.Discard, boundary, lock, p, nil)
	if err != nil {
		return fmt.Errorf("zgw: upload part %d: %w", p.Volgnummer, err)
	}
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, err := writeMultipart(pw, boundary, lock, p, data)
		pw.CloseWithError(err)
	}()
	// as in writeEIO: return only once the content is no longer read (the next part reads on)
	defer func() { pr.Close(); <-done }()
	resp, err := c.send(ctx, request{op: fmt.Sprintf("upload part %d", p.Volgnummer), kind: KindDRC,
		method: http.MethodPut, url: p.URL, body: pr, length: overhead + p.Omvang,
		ctype: "multipart/form-data; boundary=" + boundary, okStatus: []int{http.StatusOK}})
	if err != nil {
		return err
	}
	var out BestandsDeel
	if err := decode("upload part", resp, &out); err != nil {
		return err
	}
	return nil
}

// writeMultipart writes the form; with data nil it writes only the envelope and returns its size.
func writeMultipart(w io.Writer, boundary, lock string, p BestandsDeel, data io.Reader) (int64, error) {
	cw := &countWriter{w: w}
	mw := multipart.NewWriter(cw)
	if err := mw.SetBoundary(boundary); err != nil {
		return 0, err
	}
	if err := mw.WriteField("lock", lock); err != nil {
		return 0, err
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="inhoud"; filename="deel-%d"`, p.Volgnummer))
	h.Set("Content-Type", "application/octet-stream")
	fw, err := mw.CreatePart(h)
	if err != nil {
		return 0, err
	}
	if data != nil {
		n, err := io.Copy(fw, data)
		if err != nil {
			return 0, fmt.Errorf("read content: %w", err)
		}
		if n != p.Omvang {
			return 0, fmt.Errorf("read content: got %d of %d bytes for part %d", n, p.Omvang, p.Volgnummer)
		}
	}
	if err := mw.Close(); err != nil {
		return 0, err
	}
	return cw.n, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
