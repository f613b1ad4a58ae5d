package pades

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/md5"
	"crypto/rand"
	"crypto/rc4"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"fmt"
	"io"
)

// Encrypted PDFs (ISO 32000-1 7.6, ISO 32000-2 7.6): the standard security handler with an empty
// user password, the "protected" PDF that opens without a password and whose permissions (/P)
// only ask viewers not to print, copy or change it. The reader decrypts what it reads with the
// document's key, and an update encrypts what it adds with the same key, keeping /Encrypt, the
// first /ID and so the permissions as they are. A file that needs a password to open, or a
// certificate (public-key security handlers), is refused with ErrEncrypted naming why.

// cryptMethod is how a crypt filter encrypts: not at all, RC4, AES-128 or AES-256 (all CBC with
// the IV before the data).
type cryptMethod int

const (
	cryptNone cryptMethod = iota
	cryptRC4
	cryptAESV2
	cryptAESV3
)

// security is the standard security handler of an encrypted document, opened with the empty
// user password.
type security struct {
	key      []byte // the file encryption key
	v, r     int
	str, stm cryptMethod          // for strings and for streams
	filters  map[name]cryptMethod // named crypt filters, for a stream's /Crypt filter
	metadata bool                 // whether /Type /Metadata streams are encrypted
	encNum   int                  // the /Encrypt dictionary's object, never encrypted (0: direct)
}

// padding is the 32 bytes that pad a password in revisions 2 to 4 (ISO 32000-1 7.6.3.3).
var padding = []byte{
	0x28, 0xbf, 0x4e, 0x5e, 0x4e, 0x75, 0x8a, 0x41, 0x64, 0x00, 0x4e, 0x56, 0xff, 0xfa, 0x01, 0x08,
	0x2e, 0x2e, 0x00, 0xb6, 0xd0, 0x68, 0x3e, 0x80, 0x2f, 0x0c, 0xa9, 0xfe, 0x64, 0x53, 0x69, 0x7a,
}

func encrypted(format string, args ...any) error {
	return &FormatError{Kind: ErrEncrypted, Offset: -1, Msg: fmt.Sprintf(format, args...)}
}

// needsPassword is the message for a document its empty user password does not open.
const needsPassword = "the document needs a password to open (its user password is not empty); only PDFs that open without a password can be signed"

// openSecurity reads the /Encrypt dictionary and derives the file key from the empty user
// password.
func (d *document) openSecurity() (*security, error) {
	encObj := d.trailer["Encrypt"]
	s := &security{metadata: true}
	if r, ok := encObj.(ref); ok {
		s.encNum = r.num
	}
	enc, err := d.dict(encObj)
	if err != nil {
		return nil, err
	}
	if enc == nil {
		return nil, encrypted("the trailer's /Encrypt is not a dictionary")
	}
	switch f := enc.name("Filter"); f {
	case "Standard":
	case "":
		return nil, encrypted("the /Encrypt dictionary names no security handler")
	case "Adobe.PubSec":
		return nil, encrypted("the document is encrypted for certificates (security handler /Adobe.PubSec), not with a password: it opens only with a recipient's private key")
	default:
		return nil, encrypted("the document is encrypted with the security handler /%s, not the standard password handler: it opens only with that handler's key", f)
	}
	v, _ := integer(enc["V"])
	r, _ := integer(enc["R"])
	s.v, s.r = int(v), int(r)
	if b, ok := enc["EncryptMetadata"].(bool); ok && !b && s.v >= 4 {
		s.metadata = false
	}
	p, _ := integer(enc["P"])
	o, _ := enc["O"].(pdfStr)
	u, _ := enc["U"].(pdfStr)
	var id0 []byte
	if id, ok := d.trailer["ID"].(array); ok && len(id) > 0 {
		id0, _ = id[0].(pdfStr)
	}

	keyLen := 5 // bytes: 40 bits unless /Length says otherwise
	switch s.v {
	case 1:
		s.str, s.stm = cryptRC4, cryptRC4
	case 3:
		return nil, encrypted("the document uses the unpublished encryption algorithm /V 3")
	case 2:
		s.str, s.stm = cryptRC4, cryptRC4
		if l, ok := integer(enc["Length"]); ok {
			if l < 40 || l > 128 || l%8 != 0 {
				return nil, encrypted("the encryption key length %d is not 40 to 128 bits", l)
			}
			keyLen = int(l / 8)
		}
	case 4, 5:
		cf, err := d.dict(enc["CF"])
		if err != nil {
			return nil, err
		}
		s.filters = map[name]cryptMethod{"Identity": cryptNone}
		keyLen = 16
		for fn, fo := range cf {
			fd, err := d.dict(fo)
			if err != nil || fd == nil {
				continue
			}
			m, l, err := cryptFilterMethod(fn, fd, s.v)
			if err != nil {
				return nil, err
			}
			s.filters[fn] = m
			if fn == enc.name("StmF") && m == cryptRC4 && l > 0 {
				keyLen = l
			}
		}
		pick := func(k name) (cryptMethod, error) {
			f := enc.name(k)
			if f == "" {
				f = "Identity"
			}
			m, ok := s.filters[f]
			if !ok {
				return 0, encrypted("the document's %s crypt filter /%s is not defined", k, f)
			}
			return m, nil
		}
		if s.str, err = pick("StrF"); err != nil {
			return nil, err
		}
		if s.stm, err = pick("StmF"); err != nil {
			return nil, err
		}
		if s.v == 5 {
			keyLen = 32
		}
	default:
		return nil, encrypted("the encryption algorithm /V %d is not known", s.v)
	}

	switch s.r {
	case 2, 3, 4:
		if s.v >= 5 || (s.r == 2 && s.v != 1) || (s.r == 4 && s.v != 4) {
			return nil, encrypted("the security handler revision /R %d does not go with /V %d", s.r, s.v)
		}
		if s.r == 2 {
			keyLen = 5
		}
		if len(o) < 32 || len(u) < 32 {
			return nil, encrypted("the /O or /U entry of the security handler is too short")
		}
		s.key = s.fileKey(o[:32], uint32(p), id0, keyLen)
		if !bytes.Equal(s.userHash(id0), userCheckPart(s.r, u)) {
			return nil, encrypted(needsPassword)
		}
	case 5, 6:
		if s.v != 5 {
			return nil, encrypted("the security handler revision /R %d does not go with /V %d", s.r, s.v)
		}
		ue, _ := enc["UE"].(pdfStr)
		if len(u) < 48 || len(ue) < 32 {
			return nil, encrypted("the /U or /UE entry of the security handler is too short")
		}
		check, keySalt := u[32:40], u[40:48]
		var hv, ik []byte
		if s.r == 5 {
			h := sha256.Sum256(check)
			hv = h[:]
			k := sha256.Sum256(keySalt)
			ik = k[:]
		} else {
			hv, ik = hash2B(nil, check, nil), hash2B(nil, keySalt, nil)
		}
		if !bytes.Equal(hv, u[:32]) {
			return nil, encrypted(needsPassword)
		}
		blk, _ := aes.NewCipher(ik) // 32 bytes: no error
		s.key = make([]byte, 32)
		cipher.NewCBCDecrypter(blk, make([]byte, 16)).CryptBlocks(s.key, ue[:32])
	default:
		return nil, encrypted("the security handler revision /R %d is not known", s.r)
	}
	return s, nil
}

// cryptFilterMethod reads a crypt filter dictionary: its method and, for RC4, its key length in
// bytes (0 when not given). /Length is in bits by the standard; some writers give bytes.
func cryptFilterMethod(fn name, fd dict, v int) (cryptMethod, int, error) {
	l, _ := integer(fd["Length"])
	if l > 0 && l < 40 {
		l *= 8
	}
	var m cryptMethod
	switch cfm := fd.name("CFM"); cfm {
	case "", "None":
		m = cryptNone
	case "V2":
		m = cryptRC4
		if l != 0 && (l < 40 || l > 128 || l%8 != 0) {
			return 0, 0, encrypted("crypt filter /%s has a key length of %d bits", fn, l)
		}
	case "AESV2":
		m = cryptAESV2
	case "AESV3":
		m = cryptAESV3
	default:
		return 0, 0, encrypted("crypt filter /%s uses the unknown method /%s", fn, cfm)
	}
	if (v == 5) != (m == cryptAESV3) && m != cryptNone {
		return 0, 0, encrypted("crypt filter /%s method does not go with /V %d", fn, v)
	}
	return m, int(l / 8), nil
}

// fileKey is algorithm 2 of ISO 32000-1 7.6.3.3 for the empty password.
func (s *security) fileKey(o []byte, p uint32, id0 []byte, n int) []byte {
	h := md5.New()
	h.Write(padding)
	h.Write(o)
	binary.Write(h, binary.LittleEndian, p)
	h.Write(id0)
	if s.r >= 4 && !s.metadata {
		h.Write([]byte{0xff, 0xff, 0xff, 0xff})
	}
	key := h.Sum(nil)
	if s.r >= 3 {
		for range 50 {
			sum := md5.Sum(key[:n])
			key = sum[:]
		}
	}
	return key[:n]
}

// userHash is what /U holds for the empty password: algorithm 4 (revision 2) or the first 16
// bytes of algorithm 5 (revisions 3 and 4).
func (s *security) userHash(id0 []byte) []byte {
	if s.r == 2 {
		c, _ := rc4.NewCipher(s.key)
		out := make([]byte, 32)
		c.XORKeyStream(out, padding)
		return out
	}
	h := md5.New()
	h.Write(padding)
	h.Write(id0)
	out := h.Sum(nil)
	k := make([]byte, len(s.key))
	for i := 0; i < 20; i++ {
		for j := range k {
			k[j] = s.key[j] ^ byte(i)
		}
		c, _ := rc4.NewCipher(k)
		c.XORKeyStream(out, out)
	}
	return out
}

// userCheckPart is the part of /U that algorithm 6 compares.
func userCheckPart(r int, u []byte) []byte {
	if r == 2 {
		return u[:32]
	}
	return u[:16]
}

// hash2B is algorithm 2.B of ISO 32000-2 7.6.4.3.4 (revision 6).
func hash2B(pw, salt, udata []byte) []byte {
	h := sha256.New()
	h.Write(pw)
	h.Write(salt)
	h.Write(udata)
	k := h.Sum(nil)
	var e []byte
	for i := 0; i < 64 || int(e[len(e)-1]) > i-32; i++ {
		one := make([]byte, 0, len(pw)+len(k)+len(udata))
		one = append(append(append(one, pw...), k...), udata...)
		k1 := bytes.Repeat(one, 64)
		blk, _ := aes.NewCipher(k[:16])
		e = make([]byte, len(k1))
		cipher.NewCBCEncrypter(blk, k[16:32]).CryptBlocks(e, k1)
		sum := 0
		for _, c := range e[:16] {
			sum += int(c)
		}
		switch sum % 3 {
		case 0:
			s := sha256.Sum256(e)
			k = s[:]
		case 1:
			s := sha512.Sum384(e)
			k = s[:]
		default:
			s := sha512.Sum512(e)
			k = s[:]
		}
	}
	return k[:32]
}

// objectKey is the key for one object's strings and streams: algorithm 1 of ISO 32000-1 7.6.2
// for RC4 and AES-128, the file key itself for AES-256.
func (s *security) objectKey(num, gen int, m cryptMethod) []byte {
	if m == cryptAESV3 {
		return s.key
	}
	h := md5.New()
	h.Write(s.key)
	h.Write([]byte{byte(num), byte(num >> 8), byte(num >> 16), byte(gen), byte(gen >> 8)})
	if m == cryptAESV2 {
		h.Write([]byte("sAlT"))
	}
	return h.Sum(nil)[:min(len(s.key)+5, 16)]
}

// decryptString decrypts one string of object num. Data that is not a whole number of AES
// blocks after the IV is returned as it is, as viewers do.
func (s *security) decryptString(num, gen int, b []byte) []byte {
	return s.decrypt(num, gen, s.str, b)
}

func (s *security) decrypt(num, gen int, m cryptMethod, b []byte) []byte {
	switch m {
	case cryptRC4:
		c, _ := rc4.NewCipher(s.objectKey(num, gen, m))
		out := make([]byte, len(b))
		c.XORKeyStream(out, b)
		return out
	case cryptAESV2, cryptAESV3:
		if len(b) < 16 || len(b)%16 != 0 {
			return b
		}
		blk, _ := aes.NewCipher(s.objectKey(num, gen, m))
		out := make([]byte, len(b)-16)
		cipher.NewCBCDecrypter(blk, b[:16]).CryptBlocks(out, b[16:])
		return unpad(out)
	}
	return b
}

// encrypt encrypts data of object num with method m: RC4, or AES-CBC with a random IV before
// the data and PKCS #5 padding.
func (s *security) encrypt(num, gen int, m cryptMethod, b []byte) []byte {
	switch m {
	case cryptRC4:
		c, _ := rc4.NewCipher(s.objectKey(num, gen, m))
		out := make([]byte, len(b))
		c.XORKeyStream(out, b)
		return out
	case cryptAESV2, cryptAESV3:
		blk, _ := aes.NewCipher(s.objectKey(num, gen, m))
		pad := 16 - len(b)%16
		out := make([]byte, 16+len(b)+pad)
		rand.Read(out[:16])
		copy(out[16:], b)
		for i := 16 + len(b); i < len(out); i++ {
			out[i] = byte(pad)
		}
		cipher.NewCBCEncrypter(blk, out[:16]).CryptBlocks(out[16:], out[16:])
		return out
	}
	return b
}

// unpad removes PKCS #5 padding; bad padding is left in place.
func unpad(b []byte) []byte {
	if len(b) == 0 {
		return b
	}
	n := int(b[len(b)-1])
	if n == 0 || n > 16 || n > len(b) {
		return b
	}
	for _, c := range b[len(b)-n:] {
		if int(c) != n {
			return b
		}
	}
	return b[:len(b)-n]
}

// isSigDict reports whether d is a signature dictionary, whose /Contents is never encrypted
// (ISO 32000-1 7.6.1): what a signer signs around must read the same encrypted or not.
func isSigDict(d dict) bool {
	_, ok := d["ByteRange"]
	return ok
}

// decryptObject decrypts the strings of object num, which was read from the file as it is
// (not from an object stream), in place, and marks its stream for decryption.
func (s *security) decryptObject(num, gen int, o object) object {
	if num == s.encNum && s.encNum != 0 {
		return o
	}
	var walk func(o object, depth int) object
	walk = func(o object, depth int) object {
		if depth > maxDepth {
			return o
		}
		switch v := o.(type) {
		case pdfStr:
			return pdfStr(s.decryptString(num, gen, v))
		case array:
			for i, e := range v {
				v[i] = walk(e, depth+1)
			}
		case dict:
			sig := isSigDict(v)
			for k, e := range v {
				if sig && k == "Contents" {
					continue
				}
				v[k] = walk(e, depth+1)
			}
		case *stream:
			walk(v.dict, depth+1)
			v.crypt = s.streamMethod(v.dict)
			v.num, v.gen = num, gen
		}
		return o
	}
	return walk(o, 0)
}

// streamMethod is how a stream with dictionary sd is encrypted: cross-reference streams never
// are, metadata streams not when /EncryptMetadata is false, and a /Crypt filter names its own.
func (s *security) streamMethod(sd dict) cryptMethod {
	switch sd.name("Type") {
	case "XRef":
		return cryptNone
	case "Metadata":
		if !s.metadata {
			return cryptNone
		}
	}
	if f, ok := firstFilter(sd["Filter"]); ok && f == "Crypt" {
		fn := name("Identity")
		var parms object = sd["DecodeParms"]
		if a, ok := parms.(array); ok && len(a) > 0 {
			parms = a[0]
		}
		if p, ok := parms.(dict); ok && p.name("Name") != "" {
			fn = p.name("Name")
		}
		if m, ok := s.filters[fn]; ok {
			return m
		}
		return cryptNone
	}
	return s.stm
}

func firstFilter(f object) (name, bool) {
	switch v := f.(type) {
	case name:
		return v, true
	case array:
		if len(v) > 0 {
			n, ok := v[0].(name)
			return n, ok
		}
	}
	return "", false
}

// decryptReader decrypts the raw data of a stream, n bytes from r.
func (s *security) decryptReader(num, gen int, m cryptMethod, r io.Reader, n int64) io.Reader {
	switch m {
	case cryptRC4:
		c, _ := rc4.NewCipher(s.objectKey(num, gen, m))
		return cipher.StreamReader{S: c, R: r}
	case cryptAESV2, cryptAESV3:
		var iv [16]byte
		if n < 16 {
			return bytes.NewReader(nil)
		}
		if _, err := io.ReadFull(r, iv[:]); err != nil {
			return bytes.NewReader(nil)
		}
		blk, _ := aes.NewCipher(s.objectKey(num, gen, m))
		return &cbcReader{r: r, left: (n - 16) / 16 * 16, mode: cipher.NewCBCDecrypter(blk, iv[:]), buf: make([]byte, 8192)}
	}
	return r
}

// cbcReader decrypts AES-CBC data of a known length, removing the padding at its end.
type cbcReader struct {
	r    io.Reader
	left int64
	mode cipher.BlockMode
	buf  []byte
	out  []byte
}

func (c *cbcReader) Read(p []byte) (int, error) {
	for len(c.out) == 0 {
		if c.left < 16 {
			return 0, io.EOF
		}
		chunk := c.buf[:min(c.left, int64(len(c.buf)))]
		if _, err := io.ReadFull(c.r, chunk); err != nil {
			return 0, err
		}
		c.left -= int64(len(chunk))
		c.mode.CryptBlocks(chunk, chunk)
		if c.left < 16 {
			chunk = unpad(chunk)
		}
		c.out = chunk
	}
	n := copy(p, c.out)
	c.out = c.out[n:]
	return n, nil
}

// encryptObject returns a copy of o, the new object num of an update, with its strings and
// stream data encrypted; o itself, which may share parts with objects read, is not changed.
func (s *security) encryptObject(num, gen int, o object) object {
	var walk func(o object) object
	walk = func(o object) object {
		switch v := o.(type) {
		case pdfStr:
			return pdfStr(s.encrypt(num, gen, s.str, v))
		case array:
			c := make(array, len(v))
			for i, e := range v {
				c[i] = walk(e)
			}
			return c
		case dict:
			c := make(dict, len(v))
			sig := isSigDict(v)
			for k, e := range v {
				if sig && k == "Contents" {
					c[k] = e
					continue
				}
				c[k] = walk(e)
			}
			return c
		case *stream:
			sd := walk(v.dict).(dict)
			return &stream{dict: sd, data: s.encrypt(num, gen, s.streamMethod(sd), v.data)}
		}
		return o
	}
	return walk(o)
}
