package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// BlobChunkSize is the size of one stored chunk: large enough to keep the row count low, small
// enough that a chunk in flight costs little memory.
const BlobChunkSize = 1 << 20

// Blob is stored content: its id, size and SHA-256 (hex).
type Blob struct {
	ID     uuid.UUID
	Size   int64
	SHA256 string
}

// PutBlob streams r into a new blob of the transaction, chunk by chunk, and returns it with its
// size and SHA-256. The blob is committed on its own; a crash leaves an incomplete blob that the
// cleanup removes with its transaction. A blob whose transaction does not exist (the built-in
// signer used without the workflow) belongs to no transaction.
func (s *Store) PutBlob(ctx context.Context, transactionID uuid.UUID, r io.Reader) (Blob, error) {
	b := Blob{ID: uuid.New()}
	h := sha256.New()
	buf := make([]byte, BlobChunkSize)
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO blobs (id, transaction_id) VALUES ($1, (SELECT id FROM transactions WHERE id = $2))`, b.ID, transactionID); err != nil {
			return err
		}
		for seq := 0; ; seq++ {
			n, rerr := io.ReadFull(r, buf)
			if n > 0 {
				h.Write(buf[:n])
				b.Size += int64(n)
				if _, err := tx.Exec(ctx, `INSERT INTO blob_chunks (blob_id, seq, data) VALUES ($1, $2, $3)`, b.ID, seq, buf[:n]); err != nil {
					return err
				}
			}
			if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
				break
			}
			if rerr != nil {
				return fmt.Errorf("read content: %w", rerr)
			}
		}
		b.SHA256 = hex.EncodeToString(h.Sum(nil))
		_, err := tx.Exec(ctx, `UPDATE blobs SET size = $2, sha256 = $3, complete = true WHERE id = $1`, b.ID, b.Size, b.SHA256)
		return err
	})
	if err != nil {
		return Blob{}, fmt.Errorf("store: put blob: %w", err)
	}
	return b, nil
}

// OpenBlob streams a complete blob, reading one chunk at a time.
func (s *Store) OpenBlob(ctx context.Context, id uuid.UUID) (io.ReadCloser, int64, error) {
	var size int64
	var complete bool
	if err := s.pool.QueryRow(ctx, `SELECT size, complete FROM blobs WHERE id = $1`, id).Scan(&size, &complete); err != nil {
		return nil, 0, fmt.Errorf("store: open blob %s: %w", id, translate(err, "Blob"))
	}
	if !complete {
		return nil, 0, fmt.Errorf("store: open blob %s: incomplete", id)
	}
	return &blobReader{ctx: ctx, s: s, id: id}, size, nil
}

type blobReader struct {
	ctx  context.Context
	s    *Store
	id   uuid.UUID
	seq  int
	buf  []byte
	done bool
}

func (r *blobReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if r.done {
			return 0, io.EOF
		}
		err := r.s.pool.QueryRow(r.ctx, `SELECT data FROM blob_chunks WHERE blob_id = $1 AND seq = $2`, r.id, r.seq).Scan(&r.buf)
		if errors.Is(err, pgx.ErrNoRows) {
			r.done = true
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("store: read blob %s chunk %d: %w", r.id, r.seq, err)
		}
		r.seq++
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

func (r *blobReader) Close() error { r.done, r.buf = true, nil; return nil }

// DeleteFinishedBlobs removes the stored content of transactions that ended before cutoff. The
// audit trail (hashes, events) stays.
func (s *Store) DeleteFinishedBlobs(ctx context.Context, cutoff, now time.Time) (int64, error) {
	var n int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `UPDATE transactions SET blobs_deleted_at = $2
			WHERE finished_at < $1 AND blobs_deleted_at IS NULL RETURNING id`, cutoff, now)
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		tag, err := tx.Exec(ctx, `DELETE FROM blobs WHERE transaction_id = ANY($1)`, ids)
		n = tag.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: delete finished blobs: %w", err)
	}
	return n, nil
}
