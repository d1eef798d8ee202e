package adjudicate

import (
	"context"
	"errors"
	"fmt"

	"github.com/refundguard/refundguard/forensics"
	"github.com/refundguard/refundguard/pkg/claim"
)

// photo is an upload that passed validation: its bytes and what Fingerprint computed, once.
type photo struct {
	data []byte
	fp   forensics.Fingerprint
}

// checkPhotos validates a request's photos before anything is stored: how many, how large,
// and that each is an image we can analyse, judged by its content (never by its name or the
// client's content type). Errors name the offending file as photos[i].
func (s *Service) checkPhotos(ctx context.Context, uploads []Upload) ([]photo, error) {
	switch {
	case len(uploads) == 0:
		return nil, claim.FieldError("photos", "at least one photo is required")
	case len(uploads) > s.limits.MaxPhotos:
		return nil, claim.FieldError("photos", "at most %d photos per request; this one has %d", s.limits.MaxPhotos, len(uploads))
	}
	// Sizes first: they are free to check, and an oversized file should not be decoded.
	for i, u := range uploads {
		field := photoField(i)
		if len(u.Data) == 0 {
			return nil, claim.FieldError(field, "%s is empty", field)
		}
		if int64(len(u.Data)) > s.limits.MaxPhotoBytes {
			return nil, &claim.Error{Code: claim.CodeTooLarge, Field: field,
				Message: fmt.Sprintf("%s is %s; the limit is %s per photo", field, mib(int64(len(u.Data))), mib(s.limits.MaxPhotoBytes))}
		}
	}
	out := make([]photo, 0, len(uploads))
	seen := make(map[string]int, len(uploads))
	for i, u := range uploads {
		fp, err := s.analyzer.Fingerprint(ctx, u.Data)
		if err != nil {
			return nil, photoError(ctx, err, photoField(i))
		}
		if j, dup := seen[fp.SHA256]; dup {
			return nil, claim.FieldError(photoField(i), "%s is the same file as %s", photoField(i), photoField(j))
		}
		seen[fp.SHA256] = i
		out = append(out, photo{data: u.Data, fp: fp})
	}
	return out, nil
}

func photoField(i int) string { return fmt.Sprintf("photos[%d]", i) }

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// photoError maps why forensics refused a file onto the service's error codes.
func photoError(ctx context.Context, err error, field string) error {
	if ctx.Err() != nil {
		return claim.Wrap(ctx.Err(), claim.CodeUnavailable, "the request was canceled")
	}
	fe := forensics.AsError(err)
	code := claim.CodeInternal
	switch fe.Code {
	case forensics.ErrCodeTooLarge:
		code = claim.CodeTooLarge
	case forensics.ErrCodeUnsupportedFormat:
		code = claim.CodeUnsupportedMedia
	case forensics.ErrCodeCorrupt:
		code = claim.CodeInvalid
	case forensics.ErrCodeCanceled:
		code = claim.CodeUnavailable
	}
	return &claim.Error{Code: code, Field: field, Message: field + ": " + fe.Message, Err: err}
}

// storePhotos writes the photos to the blob store and returns once every one is fsynced.
// It runs before the transaction that references them: a crash in between leaves an
// unreferenced blob (content-addressed, so reused if the photo comes again; `refundguard
// blobs gc` removes it once it is older than any intake could take), never a row pointing
// at missing bytes.
func (s *Service) storePhotos(ctx context.Context, photos []photo) error {
	for _, p := range photos {
		key, err := s.blobs.Put(ctx, p.data)
		if err != nil {
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return claim.Wrap(err, claim.CodeUnavailable, "the request was canceled")
			}
			return claim.Wrap(err, claim.CodeUnavailable, "the evidence store could not save a photo")
		}
		if key != p.fp.SHA256 {
			return claim.Wrap(fmt.Errorf("blob key %s, fingerprint %s", key, p.fp.SHA256), claim.CodeInternal, "photo hashes disagree")
		}
	}
	return nil
}

func hashesOf(fp forensics.Fingerprint) claim.Hashes {
	return claim.Hashes{PDQ: fp.Hashes.PDQ, PDQQuality: fp.Hashes.PDQQuality, PHash: fp.Hashes.PHash, DHash: fp.Hashes.DHash}
}

func (p photo) evidence(claimID string, source claim.EvidenceSource) claim.Evidence {
	return claim.Evidence{ClaimID: claimID, Source: source, SHA256: p.fp.SHA256, Format: p.fp.Format,
		Width: p.fp.Width, Height: p.fp.Height, Size: int64(len(p.data)), Hashes: hashesOf(p.fp)}
}

func (p photo) reference(merchantID, orderID, sku string, kind claim.ImageKind) claim.ReferenceImage {
	return claim.ReferenceImage{MerchantID: merchantID, OrderID: orderID, SKU: sku, Kind: kind, SHA256: p.fp.SHA256,
		Format: p.fp.Format, Width: p.fp.Width, Height: p.fp.Height, Size: int64(len(p.data)), Hashes: hashesOf(p.fp)}
}
