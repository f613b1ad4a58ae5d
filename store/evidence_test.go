package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/signingd/signingd/store"
	"github.com/signingd/signingd/store/dbtest"
)

// The evidence upload: recorded before the parts, ended by the evidence URL, forgotten with the
// intent when the document is gone; the evidence content, once stored, never changes.
func TestEvidenceUpload(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := store.New(dbtest.Pool(t), store.Jobs{})
	in := newTransaction(t, s, "")
	if _, _, err := s.CreateTransaction(ctx, in); err != nil {
		t.Fatal(err)
	}
	id := in.ID
	setState := func(st string) {
		t.Helper()
		if _, err := dbtest.Pool(t).Exec(ctx, `UPDATE transactions SET state = $2 WHERE id = $1`, id, st); err != nil {
			t.Fatal(err)
		}
	}
	work := func() store.Work {
		t.Helper()
		w, err := s.Work(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return w
	}

	if b, err := s.EvidenceContent(ctx, id); b != nil || err != nil {
		t.Fatalf("evidence content before any: %+v %v", b, err)
	}
	first, err := s.PutBlob(ctx, id, strings.NewReader("het rapport"))
	if err != nil {
		t.Fatal(err)
	}
	second, err := s.PutBlob(ctx, id, strings.NewReader("een later rapport"))
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []store.Blob{first, second} {
		if err := s.KeepEvidenceBlob(ctx, id, b.ID); err != nil {
			t.Fatal(err)
		}
	}
	if b, err := s.EvidenceContent(ctx, id); err != nil || b == nil || *b != first {
		t.Fatalf("evidence content %+v %v, want the first %+v", b, err, first)
	}

	setState("uploading")
	now := time.Now().UTC()
	if err := s.SetEvidenceIntent(ctx, id, now); err != nil {
		t.Fatal(err)
	}
	if err := s.SetEvidenceUpload(ctx, id, "http://drc.test/eio/1", "lock-1"); err != nil {
		t.Fatal(err)
	}
	if w := work(); w.EvidenceUploadURL != "http://drc.test/eio/1" || w.EvidenceUploadLock != "lock-1" || w.EvidenceRequestedAt == nil {
		t.Fatalf("recorded upload %q %q intent %v", w.EvidenceUploadURL, w.EvidenceUploadLock, w.EvidenceRequestedAt)
	}
	// The document is gone: upload and intent are forgotten, so the next create announces itself anew.
	if err := s.ClearEvidenceUpload(ctx, id); err != nil {
		t.Fatal(err)
	}
	if w := work(); w.EvidenceUploadURL != "" || w.EvidenceUploadLock != "" || w.EvidenceRequestedAt != nil {
		t.Fatalf("after clear: %q %q %v", w.EvidenceUploadURL, w.EvidenceUploadLock, w.EvidenceRequestedAt)
	}
	if err := s.SetEvidenceIntent(ctx, id, now); err != nil {
		t.Fatal(err)
	}
	if err := s.SetEvidenceUpload(ctx, id, "http://drc.test/eio/2", "lock-2"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetEvidenceURL(ctx, id, "http://drc.test/eio/2", now); err != nil {
		t.Fatal(err)
	}
	w := work()
	if w.EvidenceURL != "http://drc.test/eio/2" || w.EvidenceUploadURL != "" || w.EvidenceUploadLock != "" {
		t.Fatalf("after the evidence URL: %q, upload %q %q", w.EvidenceURL, w.EvidenceUploadURL, w.EvidenceUploadLock)
	}
	// A recorded evidence document is not forgotten by a clear.
	if err := s.ClearEvidenceUpload(ctx, id); err != nil {
		t.Fatal(err)
	}
	if w := work(); w.EvidenceRequestedAt == nil || w.EvidenceURL == "" {
		t.Errorf("clear after the evidence URL dropped the intent")
	}

	// No upload is recorded once the transaction has moved on (a cancel).
	setState("aborting")
	if err := s.SetEvidenceUpload(ctx, id, "http://drc.test/eio/3", "lock-3"); !errors.Is(err, store.ErrStale) {
		t.Errorf("upload recorded while aborting: %v", err)
	}
}
