package workflow

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"strings"
	"testing"

	"github.com/signingd/signingd/zgw"
)

// TestContentCheck: a download is compared with the DRC's bestandsomvang and integriteit (for the
// algorithms we can compute), and a PDF is told by its header.
func TestContentCheck(t *testing.T) {
	t.Parallel()
	const body = "%PDF-1.7 inhoud"
	sum := func(h []byte) string { return hex.EncodeToString(h) }
	s256 := sha256.Sum256([]byte(body))
	m5 := md5.Sum([]byte(body))
	size := func(n int64) *int64 { return &n }
	tests := []struct {
		name string
		meta zgw.EnkelvoudigInformatieObject
		want string // part of the complaint; "" when it matches
	}{
		{name: "nothing to compare", meta: zgw.EnkelvoudigInformatieObject{}},
		{name: "size and sha_256 match", meta: zgw.EnkelvoudigInformatieObject{Bestandsomvang: size(int64(len(body))),
			Integriteit: &zgw.Integriteit{Algoritme: "sha_256", Waarde: strings.ToUpper(sum(s256[:]))}}},
		{name: "md5 matches", meta: zgw.EnkelvoudigInformatieObject{Integriteit: &zgw.Integriteit{Algoritme: "md5", Waarde: sum(m5[:])}}},
		{name: "size differs", meta: zgw.EnkelvoudigInformatieObject{Bestandsomvang: size(83)}, want: "is 15 bytes, de DRC noemt 83"},
		{name: "sha_256 differs", meta: zgw.EnkelvoudigInformatieObject{Integriteit: &zgw.Integriteit{Algoritme: "sha_256", Waarde: sum(m5[:])}},
			want: "integriteit (sha_256)"},
		{name: "an algorithm we do not compute is not held against it",
			meta: zgw.EnkelvoudigInformatieObject{Integriteit: &zgw.Integriteit{Algoritme: "crc_32", Waarde: "deadbeef"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cc := newContentCheck(strings.NewReader(body), tt.meta.Integriteit)
			if _, err := io.Copy(io.Discard, cc); err != nil {
				t.Fatal(err)
			}
			got := cc.verify(&tt.meta)
			if tt.want == "" && got != "" || tt.want != "" && !strings.Contains(got, tt.want) {
				t.Errorf("verify = %q, want %q", got, tt.want)
			}
			if !cc.isPDF() {
				t.Error("a PDF header not seen")
			}
		})
	}
	cc := newContentCheck(strings.NewReader("PK\x03\x04 docx"), nil)
	_, _ = io.Copy(io.Discard, cc)
	if cc.isPDF() {
		t.Error("a zip taken for a PDF")
	}
}
