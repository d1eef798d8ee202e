package store

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/refundguard/refundguard/pkg/claim"
	"github.com/refundguard/refundguard/pkg/store/storetest"
)

func TestBlobRefsListsEveryRowsKey(t *testing.T) {
	for _, batch := range []int{1000, 1} { // one page, and a page per row
		t.Run(map[int]string{1000: "one page", 1: "a row per page"}[batch], func(t *testing.T) {
			defer func(b int) { blobRefBatch = b }(blobRefBatch)
			blobRefBatch = batch
			eachDialect(t, func(t *testing.T, e *env) {
				ctx := context.Background()
				f := seed(t, e.Store)
				photo := func(sha string) claim.Evidence {
					return claim.Evidence{ClaimID: f.claim.ID, Source: claim.SourceBuyer, SHA256: sha, Format: "jpeg"}
				}
				analysed, err := e.CreateEvidence(ctx, photo("e1"))
				if err != nil {
					t.Fatal(err)
				}
				pending, err := e.CreateEvidence(ctx, photo("e2"))
				if err != nil {
					t.Fatal(err)
				}
				analysed.Report, analysed.HeatmapSHA = json.RawMessage(`{"risk":10}`), "h1"
				if err := e.SaveAnalysis(ctx, analysed); err != nil {
					t.Fatal(err)
				}
				packing, err := e.CreateReferenceImage(ctx, claim.ReferenceImage{MerchantID: "m1", OrderID: f.order.ID,
					Kind: claim.ImagePacking, SHA256: "r1", Format: "jpeg"})
				if err != nil {
					t.Fatal(err)
				}
				catalog, err := e.CreateReferenceImage(ctx, claim.ReferenceImage{MerchantID: "m1", SKU: "MUG-1",
					Kind: claim.ImageCatalog, SHA256: "e1", Format: "jpeg"}) // the same bytes as a buyer's photo
				if err != nil {
					t.Fatal(err)
				}

				var got []BlobRef
				if err := e.BlobRefs(ctx, func(r BlobRef) error { got = append(got, r); return nil }); err != nil {
					t.Fatal(err)
				}
				want := []BlobRef{
					{"e1", BlobEvidence, analysed.ID, "claim " + f.claim.ID},
					{"h1", BlobHeatmap, analysed.ID, "claim " + f.claim.ID},
					{"e2", BlobEvidence, pending.ID, "claim " + f.claim.ID},
					{"r1", BlobReference, packing.ID, "order " + f.order.ID},
					{"e1", BlobReference, catalog.ID, "merchant m1 sku MUG-1"},
				}
				byKindID := func(a, b BlobRef) int { return strings.Compare(a.Kind+a.ID+a.Key, b.Kind+b.ID+b.Key) }
				slices.SortFunc(got, byKindID)
				slices.SortFunc(want, byKindID)
				if !slices.Equal(got, want) {
					t.Fatalf("refs:\n got %+v\nwant %+v", got, want)
				}
			})
		})
	}
}

// TestBlobRefsCoverEveryKeyColumn fails when a migration adds a column that looks like it
// holds a blob key (its name mentions sha) that BlobRefs does not read: blobs gc would
// delete the blobs such rows reference. Read the column in BlobRefs and list it here.
func TestBlobRefsCoverEveryKeyColumn(t *testing.T) {
	e := openEnv(t, storetest.SQLite(t))
	read := []string{"evidence.heatmap_sha", "evidence.sha256", "reference_images.sha256"}
	tables, err := e.w.Migrator().GetTables()
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, table := range tables {
		cols, err := e.w.Migrator().ColumnTypes(table)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cols {
			if strings.Contains(strings.ToLower(c.Name()), "sha") {
				found = append(found, table+"."+c.Name())
			}
		}
	}
	slices.Sort(found)
	if !slices.Equal(found, read) {
		t.Fatalf("columns that may hold blob keys: %v; BlobRefs reads %v", found, read)
	}
}
