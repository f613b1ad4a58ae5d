package pades

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/signingd/signingd/internal/testkit"
)

// encVariant is a qpdf encryption of a corpus file.
type encVariant struct {
	name string
	file string   // corpus file
	args []string // qpdf arguments before the input
	// want in qpdf --show-encryption of the input, so the variant is what its name says
	want []string
}

// encVariants are the ways a PDF is encrypted with an empty user password: every revision of
// the standard security handler, RC4 and AES, and permissions that forbid nearly everything.
var encVariants = []encVariant{
	{"R2 RC4 40", "placeholder", []string{"--allow-weak-crypto", "--encrypt", "", "eigenaar", "40", "--"},
		[]string{"R = 2", "P = -4"}},
	{"R3 RC4 128", "placeholder", []string{"--allow-weak-crypto", "--encrypt", "", "eigenaar", "128", "--use-aes=n", "--"},
		[]string{"R = 3", "P = -4"}},
	{"R4 RC4 crypt filter", "placeholder", []string{"--allow-weak-crypto", "--encrypt", "", "eigenaar", "128", "--use-aes=n", "--force-V4", "--"},
		[]string{"R = 4", "stream encryption method: RC4"}},
	{"R4 AESV2", "placeholder", []string{"--encrypt", "", "eigenaar", "128", "--use-aes=y", "--"},
		[]string{"R = 4", "stream encryption method: AESv2"}},
	{"R4 AESV2 cleartext metadata", "libreoffice", []string{"--encrypt", "", "eigenaar", "128", "--use-aes=y", "--cleartext-metadata", "--"},
		[]string{"R = 4", "stream encryption method: AESv2"}},
	{"R5 AESV3", "placeholder", []string{"--allow-weak-crypto", "--encrypt", "", "eigenaar", "256", "--force-R5", "--"},
		[]string{"R = 5", "stream encryption method: AESv3"}},
	{"R6 AESV3", "placeholder", []string{"--encrypt", "", "eigenaar", "256", "--"},
		[]string{"R = 6", "stream encryption method: AESv3"}},
	{"R6 AESV3 object streams", "libreoffice", []string{"--object-streams=generate", "--encrypt", "", "eigenaar", "256", "--"},
		[]string{"R = 6", "stream encryption method: AESv3"}},
	{"R6 AESV3 linearized", "libreoffice", []string{"--linearize", "--encrypt", "", "eigenaar", "256", "--"},
		[]string{"R = 6", "stream encryption method: AESv3"}},
	{"R6 no modify no print", "placeholder", []string{"--encrypt", "", "eigenaar", "256", "--modify=none", "--print=none", "--extract=n", "--"},
		[]string{"R = 6", "modify anything: not allowed", "print high resolution: not allowed", "extract for any purpose: not allowed"}},
	{"R3 no modify no annotate", "placeholder", []string{"--allow-weak-crypto", "--encrypt", "", "eigenaar", "128", "--use-aes=n", "--modify=none", "--annotate=n", "--form=n", "--"},
		[]string{"R = 3", "modify forms: not allowed", "modify annotations: not allowed"}},
}

// encrypt writes the variant of its corpus file, encrypted by qpdf, into dir.
func (v encVariant) encrypt(t *testing.T, dir string) string {
	t.Helper()
	testkit.NeedTool(t, "qpdf")
	var src string
	for _, f := range corpus(t) {
		if f.name == v.file {
			src = f.path
		}
	}
	if src == "" {
		t.Fatalf("%s not in the corpus", v.file)
	}
	out := filepath.Join(dir, "encrypted.pdf")
	if _, err := run(context.Background(), dir, "qpdf", append(append([]string{}, v.args...), src, out)...); err != nil {
		t.Fatal(err)
	}
	show := showEncryption(t, out)
	for _, w := range v.want {
		if !strings.Contains(show, w) {
			t.Fatalf("qpdf made no %s: --show-encryption lacks %q:\n%s", v.name, w, show)
		}
	}
	return out
}

// showEncryption is what qpdf --show-encryption says: revision, permissions, methods.
func showEncryption(t *testing.T, path string) string {
	t.Helper()
	out, err := run(context.Background(), "", "qpdf", "--show-encryption", path)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// TestSignEncrypted signs PDFs encrypted with an empty user password, each encryption variant
// twice at its placeholders. Both signatures must be valid and trusted in pdfsig, qpdf --check
// clean, the encryption and permissions as qpdf shows them unchanged, the original pages' text
// unchanged, and qpdf must decrypt the strings the update added (the signature's /Reason), which
// shows they were encrypted with the document's key.
func TestSignEncrypted(t *testing.T) {
	testkit.NeedTool(t, "pdfsig", "qpdf", "pdftotext", "pdfinfo")
	p := getPKI(t)
	corpus(t)
	for _, v := range encVariants {
		t.Run(strings.ReplaceAll(v.name, " ", "_"), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			in := v.encrypt(t, dir)
			first, second := p.signers["rsa"].options(), p.signers["ecdsa"].options()
			first.Placeholder, second.Placeholder = "{{Signer1}}", "{{Signer2}}"
			second.Reason = "Gezien en akkoord (tweede)"
			for _, o := range []*Options{&first, &second} {
				o.Placed = func(at Placement) {
					if !at.AtPlaceholder {
						t.Errorf("%s: not placed at the placeholder: %+v", o.Placeholder, at)
					}
				}
			}
			one, two := filepath.Join(dir, "one.pdf"), filepath.Join(dir, "two.pdf")
			signFile(t, in, one, first)
			checkSigned(t, one, 1)
			data := signFile(t, one, two, second)
			checkSigned(t, two, 2)

			if a, b := showEncryption(t, in), showEncryption(t, two); a != b {
				t.Errorf("qpdf --show-encryption changed:\nbefore\n%s\nafter\n%s", a, b)
			}
			pages := pageCount(t, in)
			signedText := pdfText(t, two, "-l", pages)
			sameTextAndStamps(t, pdfText(t, in, "-l", pages), signedText, stamps(t, data))
			// poppler decrypts the appearance streams and the font the update added
			if n := strings.Count(signedText, "Digitaal ondertekend"); n != 2 {
				t.Errorf("poppler reads %d stamps on the original pages, want 2", n)
			}
			if got := pageCount(t, two); got != pages {
				t.Errorf("%s pages after signing, %s before: a signature page was added", got, pages)
			}
			// the strings we wrote are encrypted: not readable in the file, readable once
			// qpdf decrypts it
			if bytes.Contains(data, []byte("Gezien en akkoord")) {
				t.Error("the update has the /Reason in the clear")
			}
			dec := filepath.Join(dir, "decrypted.pdf")
			if _, err := run(context.Background(), dir, "qpdf", "--decrypt", "--qdf", "--object-streams=disable", two, dec); err != nil {
				t.Fatal(err)
			}
			plain, _ := os.ReadFile(dec)
			for _, want := range []string{"/Reason (Gezien en akkoord \\(tweede\\))", "/Reason (Akkoord)", "/Location (Utrecht)"} {
				if !bytes.Contains(plain, []byte(want)) {
					t.Errorf("qpdf --decrypt: no %s", want)
				}
			}
			// our own reader: both signatures verify, the last covers the file
			ins, err := Verify(context.Background(), bytes.NewReader(data), int64(len(data)))
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if len(ins.Signatures) != 2 || ins.SignaturePages != 0 {
				t.Errorf("Verify: %d signatures, %d signature pages", len(ins.Signatures), ins.SignaturePages)
			}
			// a signature's /Contents is not encrypted, so the reader must not decrypt it: it
			// reads as the bytes in the ByteRange's gap
			doc, err := openDocument(bytes.NewReader(data), int64(len(data)))
			if err != nil {
				t.Fatal(err)
			}
			fields, err := doc.signatureFields()
			if err != nil || len(fields) != 2 {
				t.Fatalf("%d signature fields (%v)", len(fields), err)
			}
			var names []string
			for _, f := range fields {
				br, _ := doc.array(f.sig["ByteRange"])
				start, _ := integer(br[1])
				end, _ := integer(br[2])
				gap, err := hex.DecodeString(string(data[start+1 : end-1]))
				if c, _ := f.sig["Contents"].(pdfStr); err != nil || !bytes.Equal(c, gap) {
					t.Errorf("%s: /Contents reads as %d bytes, not the %d of the ByteRange gap", f.name, len(c), len(gap))
				}
				n, _ := f.sig["Name"].(pdfStr)
				names = append(names, decodeText(n))
			}
			if want := []string{first.Name, second.Name}; !slices.Equal(names, want) {
				t.Errorf("the signatures' /Name read as %q, want %q", names, want)
			}
			for _, s := range stamps(t, data) {
				if s.text == "" {
					t.Errorf("the stamp on page %d has no text", s.page)
				}
			}
		})
	}
}

// TestEncryptedLongTerm adds validation data (AddDSS) and a document time-stamp to a signed
// encrypted PDF: both updates go through the same writer and must keep the encryption.
func TestEncryptedLongTerm(t *testing.T) {
	testkit.NeedTool(t, "pdfsig", "qpdf")
	p := getPKI(t)
	_, srv := newTestTSA(t)
	tsa := &TSA{URL: srv.URL}
	for _, v := range encVariants {
		if v.name != "R4 AESV2" && v.name != "R2 RC4 40" {
			continue
		}
		t.Run(strings.ReplaceAll(v.name, " ", "_"), func(t *testing.T) {
			dir := t.TempDir()
			in := v.encrypt(t, dir)
			o := p.signers["rsa"].options()
			o.Placeholder, o.TSA = "{{Signer1}}", tsa
			bt := filepath.Join(dir, "bt.pdf")
			data := signFile(t, in, bt, o)
			var lt bytes.Buffer
			vd := ValidationData{Certs: append(p.signers["rsa"].chain, p.tsa.chain[0])}
			if err := AddDSS(context.Background(), bytes.NewReader(data), int64(len(data)), &lt, vd); err != nil {
				t.Fatalf("AddDSS: %v", err)
			}
			doc, err := openDocument(bytes.NewReader(lt.Bytes()), int64(lt.Len()))
			if err != nil {
				t.Fatal(err)
			}
			cat, _ := doc.catalog()
			dss, _ := doc.dict(cat["DSS"])
			certs, _ := doc.array(dss["Certs"])
			if len(certs) != 4 {
				t.Fatalf("DSS /Certs has %d entries, want 4", len(certs))
			}
			// the certificates read back decrypted: DER, not ciphertext
			cs, _ := doc.resolve(certs[0])
			if der, err := doc.decode(cs.(*stream), maxDecoded); err != nil || !bytes.Equal(der, vd.Certs[0].Raw) {
				t.Errorf("DSS certificate reads back as %d bytes (%v), not the certificate", len(der), err)
			}
			var lta bytes.Buffer
			if err := Timestamp(context.Background(), bytes.NewReader(lt.Bytes()), int64(lt.Len()), &lta, tsa); err != nil {
				t.Fatalf("Timestamp: %v", err)
			}
			out := filepath.Join(dir, "lta.pdf")
			if err := os.WriteFile(out, lta.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			res, raw := pdfsig(t, out)
			if len(res) != 2 || res[0].fields["Signature Validation"] != "Signature is Valid." || !res[1].total {
				t.Errorf("pdfsig after DSS and document time-stamp:\n%s", raw)
			}
			qpdfCheck(t, out)
			if a, b := showEncryption(t, in), showEncryption(t, out); a != b {
				t.Errorf("qpdf --show-encryption changed:\nbefore\n%s\nafter\n%s", a, b)
			}
			ins, err := Verify(context.Background(), bytes.NewReader(lta.Bytes()), int64(lta.Len()))
			if err != nil || len(ins.Signatures) != 2 {
				t.Errorf("Verify: %v", err)
			}
		})
	}
}

// TestEncryptedRefused checks that what needs a password or a certificate to open is refused
// with ErrEncrypted, saying so.
func TestEncryptedRefused(t *testing.T) {
	testkit.NeedTool(t, "qpdf")
	p := getPKI(t)
	files := corpus(t)
	dir := t.TempDir()
	pubsec := bytes.Replace(makePDF(genPDF{pages: [][]string{{"Versleuteld voor een certificaat"}}}),
		[]byte("trailer\n<< /Size"), []byte("trailer\n<< /Encrypt << /Filter /Adobe.PubSec /SubFilter /adbe.pkcs7.s5 /V 4 /R 4 >> /Size"), 1)
	tests := []struct {
		name string
		args []string
		data []byte
		want string
	}{
		{"R6 user password", []string{"--encrypt", "geheim", "eigenaar", "256", "--"}, nil, "needs a password"},
		{"R4 AESV2 user password", []string{"--encrypt", "geheim", "eigenaar", "128", "--use-aes=y", "--"}, nil, "needs a password"},
		{"R2 user password", []string{"--allow-weak-crypto", "--encrypt", "geheim", "eigenaar", "40", "--"}, nil, "needs a password"},
		{"R5 user password", []string{"--allow-weak-crypto", "--encrypt", "geheim", "eigenaar", "256", "--force-R5", "--"}, nil, "needs a password"},
		{"public key", nil, pubsec, "encrypted for certificates (security handler /Adobe.PubSec)"},
		{"unknown handler", nil, bytes.Replace(pubsec, []byte("/Adobe.PubSec"), []byte("/FOPN_fLock"), 1), "security handler /FOPN_fLock, not the standard password handler"},
		{"unknown revision", nil, bytes.Replace(pubsec, []byte("/Filter /Adobe.PubSec /SubFilter /adbe.pkcs7.s5 /V 4 /R 4"),
			[]byte("/Filter /Standard /V 7 /R 9 /O <00> /U <00> /P -4"), 1), "encryption algorithm /V 7 is not known"},
	}
	for i, tc := range tests {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			data := tc.data
			if data == nil {
				out := filepath.Join(dir, "enc"+itoa(i)+".pdf")
				if _, err := run(context.Background(), dir, "qpdf", append(append([]string{}, tc.args...), files[0].path, out)...); err != nil {
					t.Fatal(err)
				}
				data, _ = os.ReadFile(out)
			}
			err := Sign(context.Background(), bytes.NewReader(data), int64(len(data)), &bytes.Buffer{}, p.signers["rsa"].options())
			var fe *FormatError
			if !errors.Is(err, ErrEncrypted) || !errors.As(err, &fe) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want ErrEncrypted saying %q", err, tc.want)
			}
			if _, err := Inspect(context.Background(), bytes.NewReader(data), int64(len(data))); !errors.Is(err, ErrEncrypted) {
				t.Errorf("Inspect: got %v, want ErrEncrypted", err)
			}
		})
	}
}

// sameTextAndStamps checks that the signed pages' text is the original's, in its order, with
// only the stamps' words added (poppler reads a widget's appearance as text of the page).
func sameTextAndStamps(t *testing.T, orig, signed string, st []stampInfo) {
	t.Helper()
	var stampText strings.Builder
	for _, s := range st {
		stampText.WriteString(s.text + "\n")
	}
	lines := func(s string) []string {
		var out []string
		for _, l := range strings.Split(s, "\n") {
			if l = strings.TrimSpace(strings.Trim(l, "\f")); l != "" {
				out = append(out, l)
			}
		}
		return out
	}
	want, got := lines(orig), lines(signed)
	i := 0
	for _, l := range got {
		if i < len(want) && l == want[i] {
			i++
			continue
		}
		if !strings.Contains(stampText.String(), l) {
			t.Errorf("the signed pages have %q, neither the original's text nor a stamp's", l)
		}
	}
	if i < len(want) {
		t.Errorf("the signed pages lack the original's %q", want[i])
	}
}
