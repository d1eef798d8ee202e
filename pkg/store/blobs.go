package store

import (
	"context"
)

// Kinds of row that reference a blob.
const (
	BlobEvidence  = "evidence"  // an evidence photo (evidence.sha256)
	BlobHeatmap   = "heatmap"   // an evidence photo's forensic heatmap (evidence.heatmap_sha)
	BlobReference = "reference" // a merchant's packing, catalog... photo (reference_images.sha256)
)

// BlobRef is one row's reference to a blob in the evidence store.
type BlobRef struct {
	Key   string // the blob's key as the row holds it (not validated)
	Kind  string // BlobEvidence, BlobHeatmap or BlobReference
	ID    string // the evidence's or the reference image's id
	Owner string // what the row belongs to: "claim ID", "order ID" or "merchant ID sku SKU"
}

// blobRefBatch is how many rows BlobRefs reads per query (a variable for tests).
var blobRefBatch = 1000

// BlobRefs calls fn for every reference a row makes to a blob, table by table, and stops at
// the first error fn returns. A key referenced by several rows is passed once per row.
//
// Every column that holds a blob key is read here: evidence.sha256, evidence.heatmap_sha
// (empty until analysed, then skipped) and reference_images.sha256. A new one must be added
// (TestBlobRefsCoverEveryKeyColumn fails until it is), or blobs gc would delete its blobs.
//
// Rows are read in pages of blobRefBatch by primary key, fn running between queries, so no
// read transaction stays open while the caller hashes or deletes files. Rows committed
// while it runs may or may not be seen: callers that delete must protect recent blobs
// another way (blobs gc spares blobs stored after its cutoff).
func (s *Store) BlobRefs(ctx context.Context, fn func(BlobRef) error) error {
	var lastSeq int64
	for {
		var rows []evidenceRow
		err := s.read(ctx).Select("seq", "id", "claim_id", "sha256", "heatmap_sha").
			Where("seq > ?", lastSeq).Order("seq").Limit(blobRefBatch).Find(&rows).Error
		if err != nil {
			return s.translate(err, "evidence")
		}
		for _, r := range rows {
			if err := fn(BlobRef{Key: r.SHA256, Kind: BlobEvidence, ID: r.ID, Owner: "claim " + r.ClaimID}); err != nil {
				return err
			}
			if r.HeatmapSHA != "" {
				if err := fn(BlobRef{Key: r.HeatmapSHA, Kind: BlobHeatmap, ID: r.ID, Owner: "claim " + r.ClaimID}); err != nil {
					return err
				}
			}
			lastSeq = r.Seq
		}
		if len(rows) < blobRefBatch {
			break
		}
	}
	lastID := ""
	for {
		var rows []referenceImageRow
		err := s.read(ctx).Select("id", "merchant_id", "sku", "order_id", "sha256").
			Where("id > ?", lastID).Order("id").Limit(blobRefBatch).Find(&rows).Error
		if err != nil {
			return s.translate(err, "reference images")
		}
		for _, r := range rows {
			owner := "merchant " + r.MerchantID + " sku " + r.SKU
			if r.OrderID != nil {
				owner = "order " + *r.OrderID
			}
			if err := fn(BlobRef{Key: r.SHA256, Kind: BlobReference, ID: r.ID, Owner: owner}); err != nil {
				return err
			}
			lastID = r.ID
		}
		if len(rows) < blobRefBatch {
			return nil
		}
	}
}
