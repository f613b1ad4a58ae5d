package workflow

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/signingd/signingd/signing"
	"github.com/signingd/signingd/signing/pades"
	"github.com/signingd/signingd/store"
	"github.com/signingd/signingd/zgw"
)

// The checks of the ZGW data before anyone is asked to sign, as the status API names them (the
// "check" of the aborting event's detail).
const (
	checkOwner    = "eigenaar"     // bronorganisatie of the zaak or a document
	checkZaak     = "zaak"         // the zaak is closed
	checkRelation = "zaakrelatie"  // the document is not related to the zaak
	checkVersie   = "versie"       // not the latest version
	checkStatus   = "status"       // the document cannot take a new version
	checkLock     = "vergrendeld"  // locked by someone else for too long
	checkContent  = "inhoud"       // the downloaded bytes are not what the DRC describes
	checkEvidence = "bewijstype"   // the evidence type is not allowed for the zaaktype
	checkFormat   = "bestandstype" // neither a PDF nor a type the provider converts
	checkSecured  = "beveiligd"    // a PDF that opens only with a password or a certificate
)

// checkFailed ends the transaction with reden: a check of the ZGW data failed, and retrying will
// not change that.
func checkFailed(check, reden string) error {
	return &abortError{check: check, reden: reden, err: errors.New(reden)}
}

// checkZaak checks the zaak and the evidence type before any document is fetched: the zaak is the
// organisation's (or one it signs for), open unless the landscape allows closed ones, and its
// zaaktype allows the evidence informatieobjecttype.
func (wf *Workflow) checkZaak(ctx context.Context, c *zgw.Client, w store.Work, log *slog.Logger) error {
	policy := wf.cfg.Registry.DataPolicy(w.RSIN)
	z, err := c.RetrieveZaak(ctx, w.Zaak.URL)
	if err != nil {
		return failAt(signing.StepFetch, "", fmt.Errorf("zaak: %w", err))
	}
	name := zaakName(z)
	if !owns(w.RSIN, policy, z.Bronorganisatie) {
		return checkFailed(checkOwner, fmt.Sprintf("Zaak %s is niet van deze organisatie (bronorganisatie %s)", name, z.Bronorganisatie))
	}
	if z.Einddatum != "" && !policy.ClosedZaken {
		return checkFailed(checkZaak, fmt.Sprintf("Zaak %s is afgesloten (einddatum %s)", name, z.Einddatum))
	}
	if w.BewijsInformatieobjecttype == "" {
		return nil
	}
	if _, ok := wf.cfg.Registry.Root(w.RSIN, zgw.KindZTC); !ok {
		return nil // config check says so: without a Catalogi API the type is not checked
	}
	if err := wf.cfg.Registry.CheckURL(w.RSIN, zgw.KindZTC, z.Zaaktype); err != nil {
		log.WarnContext(ctx, "zaaktype not under a configured Catalogi API; evidence type not checked", "zaaktype", z.Zaaktype)
		return nil
	}
	allowed, err := c.ListZaaktypeInformatieObjectTypen(ctx, z.Zaaktype)
	if err != nil {
		return failAt(signing.StepFetch, "", fmt.Errorf("zaaktype-informatieobjecttypen: %w", err))
	}
	iot, err := c.RetrieveInformatieObjectType(ctx, w.BewijsInformatieobjecttype)
	if err != nil {
		return failAt(signing.StepFetch, "", fmt.Errorf("bewijs_informatieobjecttype: %w", err))
	}
	// Catalogi 1.3 names the type by its omschrijving; some implementations give its URL.
	if !slices.ContainsFunc(allowed, func(r zgw.ZaaktypeInformatieObjectType) bool {
		return r.Informatieobjecttype == iot.Omschrijving || r.Informatieobjecttype == w.BewijsInformatieobjecttype
	}) {
		return checkFailed(checkEvidence, fmt.Sprintf("Het bewijs-informatieobjecttype %q is niet toegestaan bij het zaaktype van zaak %s", iot.Omschrijving, name))
	}
	return nil
}

// checkDocument checks a document before its content is fetched: the organisation's, related to
// the zaak, the requested versie is the latest, and it can take a new version later. It returns
// the document's metadata.
func (wf *Workflow) checkDocument(ctx context.Context, c *zgw.Client, w store.Work, d store.WorkDocument) (*zgw.EnkelvoudigInformatieObject, error) {
	latest, err := c.RetrieveEIO(ctx, d.URL, 0)
	if err != nil {
		return nil, failAt(signing.StepFetch, docName(d), err)
	}
	name := docName(d)
	if !owns(w.RSIN, wf.cfg.Registry.DataPolicy(w.RSIN), latest.Bronorganisatie) {
		return nil, checkFailed(checkOwner, fmt.Sprintf("Document %s is niet van deze organisatie (bronorganisatie %s)", name, latest.Bronorganisatie))
	}
	zios, err := c.ListZaakInformatieObjecten(ctx, w.Zaak.URL, d.URL)
	if err != nil {
		return nil, failAt(signing.StepFetch, name, err)
	}
	if len(zios) == 0 {
		return nil, checkFailed(checkRelation, fmt.Sprintf("Document %s hoort niet bij de zaak", name))
	}
	if latest.Versie != d.Versie {
		return nil, checkFailed(checkVersie, fmt.Sprintf("Document %s: versie %d is niet de laatste versie (%d)", name, d.Versie, latest.Versie))
	}
	if latest.Status == "gearchiveerd" {
		return nil, checkFailed(checkStatus, fmt.Sprintf("Document %s is gearchiveerd en kan geen ondertekende versie krijgen", name))
	}
	if latest.Locked {
		now := wf.cfg.Now().UTC()
		since, err := wf.store.WaitForLock(ctx, w.ID, d.Position, now)
		if err != nil {
			return nil, err
		}
		if waited := now.Sub(since); waited >= wf.cfg.LockWaitMax {
			return nil, checkFailed(checkLock, fmt.Sprintf("%s: %s (al %s)", redenLockedByOther, name, waited.Round(time.Minute)))
		}
		return nil, errLocked
	}
	return latest, nil
}

// owns reports whether an organisation may have signed data of bronorganisatie.
func owns(rsin string, p zgw.DataPolicy, bronorganisatie string) bool {
	return bronorganisatie == rsin || slices.Contains(p.SignsFor, bronorganisatie)
}

func zaakName(z *zgw.Zaak) string {
	if z.Identificatie != "" {
		return z.Identificatie
	}
	return z.URL
}

// contentCheck follows a download: its size, the digest of the DRC's integriteit where the
// algorithm is one we can compute, and the first bytes, to tell a PDF.
type contentCheck struct {
	r    io.Reader
	n    int64
	h    hash.Hash // nil when integriteit gives nothing to check
	head []byte
}

func newContentCheck(r io.Reader, in *zgw.Integriteit) *contentCheck {
	cc := &contentCheck{r: r}
	if in != nil && in.Waarde != "" {
		switch in.Algoritme {
		case "sha_256":
			cc.h = sha256.New()
		case "sha_512":
			cc.h = sha512.New()
		case "sha_1":
			cc.h = sha1.New()
		case "md5":
			cc.h = md5.New()
		}
	}
	return cc
}

func (cc *contentCheck) Read(p []byte) (int, error) {
	n, err := cc.r.Read(p)
	cc.n += int64(n)
	if cc.h != nil {
		cc.h.Write(p[:n])
	}
	if room := 1024 - len(cc.head); room > 0 {
		cc.head = append(cc.head, p[:min(n, room)]...)
	}
	return n, err
}

// verify compares what was read with the DRC's metadata; "" when it matches.
func (cc *contentCheck) verify(meta *zgw.EnkelvoudigInformatieObject) string {
	if meta.Bestandsomvang != nil && *meta.Bestandsomvang != cc.n {
		return fmt.Sprintf("de gedownloade inhoud is %d bytes, de DRC noemt %d", cc.n, *meta.Bestandsomvang)
	}
	if cc.h != nil && !strings.EqualFold(hex.EncodeToString(cc.h.Sum(nil)), meta.Integriteit.Waarde) {
		return fmt.Sprintf("de gedownloade inhoud komt niet overeen met de integriteit (%s) in de DRC", meta.Integriteit.Algoritme)
	}
	return ""
}

// isPDF reports whether the content starts as a PDF (the header may follow some junk, as
// readers allow within the first kilobyte).
func (cc *contentCheck) isPDF() bool { return bytes.Contains(cc.head, []byte("%PDF-")) }

// checkOpens refuses a PDF that opens only with a password (or a certificate): no one can sign
// it, at any provider, and asking signers to try would only waste their time. A "protected" PDF
// encrypted with an empty user password, whose permissions only ask viewers not to print or
// change it, opens and is signed, keeping its encryption. Other reading problems are not this
// check's business: the provider reports them as it does today.
func (wf *Workflow) checkOpens(ctx context.Context, blob uuid.UUID, name string) error {
	rc, _, err := wf.store.OpenBlob(ctx, blob)
	if err != nil {
		return failAt(signing.StepFetch, name, err)
	}
	f, size, err := spool(rc)
	rc.Close()
	if err != nil {
		return failAt(signing.StepFetch, name, err)
	}
	defer discard(f)
	_, err = pades.Inspect(ctx, f, size)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if errors.Is(err, pades.ErrEncrypted) {
		return &abortError{check: checkSecured, err: err,
			reden: fmt.Sprintf("Document %s is beveiligd: het opent alleen met een wachtwoord of certificaat, en wat niet opent kan niemand ondertekenen", name)}
	}
	return nil
}
