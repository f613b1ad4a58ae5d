package onespansim

import (
	"bytes"
	"mime/multipart"
	"net/textproto"
)

func multipartWriter(buf *bytes.Buffer, payload, name string, file []byte) string {
	mw := multipart.NewWriter(buf)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="payload"`)
	w, _ := mw.CreatePart(h)
	_, _ = w.Write([]byte(payload))
	fw, _ := mw.CreateFormFile("file", name)
	_, _ = fw.Write(file)
	_ = mw.Close()
	return mw.FormDataContentType()
}
