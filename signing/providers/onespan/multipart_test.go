package onespan_test

import (
	"bytes"
	"mime/multipart"
	"net/textproto"
)

// newMultipart writes a payload part and one file part, as the two-step document upload sends
// them, and returns the content type.
func newMultipart(buf *bytes.Buffer, payload string, file []byte) string {
	mw := multipart.NewWriter(buf)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="payload"`)
	w, _ := mw.CreatePart(h)
	_, _ = w.Write([]byte(payload))
	fw, _ := mw.CreateFormFile("file", "a.pdf")
	_, _ = fw.Write(file)
	_ = mw.Close()
	return mw.FormDataContentType()
}
