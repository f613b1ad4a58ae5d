package vendorapi

import (
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
)

// DoStreamed is Do with a body that write produces while the transport reads it (through a
// pipe), so a request carrying documents never holds them in memory. write's error, if any, is
// the body's read error and so Do's. When the request ends before write is done, write's next
// Write fails and it returns.
func (c *Client) DoStreamed(ctx context.Context, op string, r Request, write func(w io.Writer) error) (*http.Response, error) {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(write(pw)) }()
	r.Body = pr
	resp, err := c.Do(ctx, op, r)
	pr.CloseWithError(io.ErrClosedPipe) // stops the writer when the request ended early
	return resp, err
}

// DoMultipart is DoStreamed with a multipart/form-data body: write adds the parts, DoMultipart
// sets r.ContentType and closes the form. Vendors that take documents as form files (Documenso,
// OneSpan) send them so.
func (c *Client) DoMultipart(ctx context.Context, op string, r Request, write func(mw *multipart.Writer) error) (*http.Response, error) {
	form := multipart.NewWriter(io.Discard)
	r.ContentType = form.FormDataContentType()
	return c.DoStreamed(ctx, op, r, func(w io.Writer) error {
		mw := multipart.NewWriter(w)
		if err := mw.SetBoundary(form.Boundary()); err != nil {
			return err
		}
		if err := write(mw); err != nil {
			return err
		}
		return mw.Close()
	})
}

// JSONPart adds a form-data part called name holding body, typed application/json: the
// "payload" part both multipart vendors expect beside the files.
func JSONPart(mw *multipart.Writer, name string, body []byte) error {
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="`+name+`"`)
	h.Set("Content-Type", "application/json")
	w, err := mw.CreatePart(h)
	if err != nil {
		return err
	}
	_, err = w.Write(body)
	return err
}
