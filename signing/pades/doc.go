// Package pades signs PDF documents with PAdES baseline signatures
// (ETSI EN 319 142-1) without leaving Go.
//
// Every operation appends one incremental update and leaves the bytes before
// it untouched, so earlier signatures stay valid:
//
//   - Sign adds a signature (B-B; B-T when Options.TSA is set): a signature
//     field and widget, a /SubFilter /ETSI.CAdES.detached signature
//     dictionary and a detached CMS with content-type, message-digest and
//     signing-certificate-v2 (no signing-time: the time is in /M). Keys are
//     used through crypto.Signer: RSA PKCS #1 v1.5, RSA-PSS, ECDSA.
//   - AddDSS adds certificates and revocation data in a /DSS (B-LT).
//   - Timestamp adds a document time-stamp, /SubFilter /ETSI.RFC3161 (B-LTA).
//
// The visible appearance shows a label, the signer's name and the date in an
// embedded subset of the Go font, which covers every Latin name. It is placed
// at a placeholder text such as "{{Signer1}}", in a prepared empty signature
// field, or in the next slot of a signature page appended for the purpose.
// On a page shown rotated (/Rotate) it is placed as the page is shown and
// reads upright there; Options describes the convention.
//
// An encrypted PDF that opens without a password (the standard security
// handler with an empty user password: RC4 or AES, revisions 2 to 6, as a
// "protected" PDF that only restricts printing or changes is) is read with
// the document's key, and each update encrypts what it adds with that key,
// keeping /Encrypt, the permissions and the first /ID; the /Contents of a
// signature is never encrypted. One that needs a password or a certificate
// to open is refused with ErrEncrypted.
//
// The package reads only the objects it needs with its own small parser
// (cross-reference tables and streams, object streams, incremental updates,
// linearized files), looking up cross-reference entries on demand; the input
// is streamed twice, once to hash and once to copy. Memory use therefore does
// not grow with the size of the file or its number of objects.
//
// Failures are reported with sentinel errors (ErrNotPDF, ErrMalformed,
// ErrEncrypted, ErrLocked, ErrUnsupported, ErrInvalidOptions, ErrTimestamp)
// for errors.Is, so callers can map them to a reason for the user.
package pades
