package adjudicate_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"

	"github.com/refundguard/refundguard/forensics"
	"github.com/refundguard/refundguard/pkg/adjudicate"
	"github.com/refundguard/refundguard/pkg/claim"
)

// instance is another service on h's database and blob store, as a second process behind
// the same load balancer would be: it shares nothing with h's service but the database, and
// keeps a duplicate-evidence index of its own.
func (h *harness) instance() *harness {
	h.t.Helper()
	other := *h
	other.observed = &observer{}
	var err error
	other.svc, err = adjudicate.New(adjudicate.Config{Store: h.store, Blobs: h.blobs, Analyzer: h.analyzer,
		Clock: h.clock.Now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Observer: other.observed})
	if err != nil {
		h.t.Fatal(err)
	}
	if err := other.svc.Prepare(context.Background()); err != nil {
		h.t.Fatal(err)
	}
	return &other
}

// analyse runs h's workers until the claim is routed, then stops them, so that the lookups
// for the claim's photos are h's.
func (h *harness) analyse(id string) claim.Claim {
	h.t.Helper()
	stop := h.runWorkers(adjudicate.WorkerOptions{Workers: 1})
	defer stop()
	return h.waitRouted(id)
}

// duplicateFinding returns the details of the duplicate_evidence finding on the claim's first
// photo, or nil.
func duplicateFinding(t *testing.T, h *harness, claimID string) map[string]any {
	t.Helper()
	evs, err := h.store.ListEvidence(context.Background(), claimID)
	if err != nil || len(evs) == 0 {
		t.Fatalf("evidence of %s: %v %v", claimID, evs, err)
	}
	var rep struct {
		Findings []struct {
			Code    string         `json:"code"`
			Details map[string]any `json:"details"`
		} `json:"findings"`
	}
	if err := json.Unmarshal(evs[0].Report, &rep); err != nil {
		t.Fatalf("report of %s: %v", claimID, err)
	}
	for _, f := range rep.Findings {
		if f.Code == string(forensics.CodeDuplicateEvidence) {
			return f.Details
		}
	}
	return nil
}

// namedClaims is the finding's "claims" list.
func namedClaims(details map[string]any) []string {
	var out []string
	list, _ := details["claims"].([]any)
	for _, c := range list {
		s, _ := c.(string)
		out = append(out, s)
	}
	return out
}

// Instances on one database see each other's photos without a restart: the lookup reads the
// evidence rows committed since the index last looked.
func TestDuplicateEvidenceAcrossInstances(t *testing.T) {
	shots := [][]byte{texturedPhoto(21), texturedPhoto(22)}
	resaved := [][]byte{texturedPhoto(31), texturedPhoto(32)}
	pdqs := map[string]string{}
	for i := range shots {
		pdqs[sha(resaved[i])] = flipBits(sha(shots[i]), 6) // within PDQ's radius of 31
	}
	analyzer := hashingAnalyzer{forensics.NewAnalyzer(forensics.AnalyzerOptions{}), pdqs}
	eachDialect(t, func(t *testing.T, a *harness) {
		if err := a.svc.Prepare(context.Background()); err != nil {
			t.Fatal(err)
		}
		b := a.instance() // its index is built now, before any photo is filed
		for i, tc := range []struct {
			name          string
			first, second *harness
			again         []byte
		}{
			{"filed through A, re-saved through B", a, b, resaved[0]},
			{"filed through B, the same bytes through A", b, a, shots[1]},
		} {
			t.Run(tc.name, func(t *testing.T) {
				first := tc.first.fileWith(buyer1, fmt.Sprintf("T-x%d-1", i), 9900, shots[i])
				tc.first.analyse(first.Claim.ID)
				second := tc.second.fileWith(buyer2, fmt.Sprintf("T-x%d-2", i), 9900, tc.again)
				if c := tc.second.analyse(second.Claim.ID); c.Status != claim.StatusInReview {
					t.Fatalf("the reused shot routed %s", c.Status)
				}
				d := duplicateFinding(t, tc.second, second.Claim.ID)
				if d == nil || d["claim_id"] != first.Claim.ID || d["buyer_id"] != "b1" ||
					!slices.Equal(namedClaims(d), []string{first.Claim.ID}) {
					t.Fatalf("finding %v, want one naming %s", d, first.Claim.ID)
				}
			})
		}
	}, withAnalyzer(analyzer))
}

// Each photo enters an instance's index once, whichever instance filed it and however many
// lookups read past it, and a finding names each other claim once.
func TestDuplicateEvidenceIndexAddsEachPhotoOnce(t *testing.T) {
	shot := texturedPhoto(41)
	analyzer := hashingAnalyzer{forensics.NewAnalyzer(forensics.AnalyzerOptions{}), nil}
	eachDialect(t, func(t *testing.T, a *harness) {
		if err := a.svc.Prepare(context.Background()); err != nil {
			t.Fatal(err)
		}
		b := a.instance()
		var filed []string
		for i, tc := range []struct {
			through *harness
			buyer   claim.Principal
		}{
			{a, buyer1}, {b, buyer2}, {b, buyer1}, {a, buyer2},
		} {
			d := tc.through.fileWith(tc.buyer, fmt.Sprintf("T-once-%d", i), 9900, shot)
			// Alternate the analysing instance, so each reads past photos the other filed.
			[]*harness{a, b}[i%2].analyse(d.Claim.ID)
			if i > 0 {
				got := namedClaims(duplicateFinding(t, a, d.Claim.ID))
				if !slices.Equal(got, filed) {
					t.Fatalf("claim %d names %v, want %v (each once, in filing order)", i, got, filed)
				}
			}
			filed = append(filed, d.Claim.ID)
		}
		// One more photo through each instance, analysed there, brings its index up to every
		// row (a photo enters an index at a lookup, not when it is filed).
		for i, h := range []*harness{a, b} {
			d := h.fileWith(buyer1, fmt.Sprintf("T-once-extra-%d", i), 9900, texturedPhoto(42+i))
			h.analyse(d.Claim.ID)
			want := len(filed) + 1 + i
			// Removed counts hashes replaced by a second Add of their id (compaction only
			// begins past 1024 of them).
			if st := adjudicate.DuplicateIndexStats(h.svc); st.Len != want || st.Removed != 0 {
				t.Fatalf("instance %d's index: %+v, want %d photos and none replaced", i, st, want)
			}
		}
	}, withAnalyzer(analyzer))
}

// A filing that draws its evidence seq before another's and commits after it (PostgreSQL runs
// intake transactions side by side) leaves a hole below the seq a lookup has read; the index
// reads the hole again at later lookups, so the late photo is found, however many lookups
// passed it while it was uncommitted.
func TestDuplicateEvidenceCommittedOutOfOrder(t *testing.T) {
	cases := []struct {
		name          string
		passedWhile   int // lookups on the other instance while the early filing is uncommitted
		shot, resaved []byte
	}{
		{"one lookup passes it", 1, texturedPhoto(51), texturedPhoto(52)},
		{"three lookups pass it", 3, texturedPhoto(53), texturedPhoto(54)},
	}
	pdqs := map[string]string{}
	for _, tc := range cases {
		pdqs[sha(tc.resaved)] = flipBits(sha(tc.shot), 6)
	}
	analyzer := hashingAnalyzer{forensics.NewAnalyzer(forensics.AnalyzerOptions{}), pdqs}
	eachDialect(t, func(t *testing.T, a *harness) {
		if a.store.Dialect() != "postgres" {
			t.Skip("SQLite runs one write transaction at a time: evidence commits in seq order")
		}
		ctx := context.Background()
		if err := a.svc.Prepare(ctx); err != nil {
			t.Fatal(err)
		}
		b := a.instance()
		for i, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				// The early filing: a claim and its photo inserted in a transaction that stays
				// open (the way FileClaim stores them, without its audit event, whose lock
				// would hold up every other filing).
				o, err := a.svc.CreateOrder(ctx, merchant1, adjudicate.OrderInput{ExternalID: fmt.Sprintf("T-late-%d", i), BuyerID: "b3",
					Amount: claim.Money{Value: 129900, Currency: "CNY"}, Items: []claim.Item{{SKU: "MUG-1", Name: "Mug", Quantity: 1}},
					PlacedAt: placed, ShippedAt: &shipped, DeliveredAt: &delivered})
				if err != nil {
					t.Fatal(err)
				}
				blobSHA, err := a.blobs.Put(ctx, tc.shot)
				if err != nil {
					t.Fatal(err)
				}
				inserted, release, committed := make(chan claim.Claim), make(chan struct{}), make(chan error, 1)
				go func() {
					committed <- a.store.InTx(ctx, func(ctx context.Context) error {
						c, err := a.store.CreateClaim(ctx, claim.Claim{OrderID: o.ID, BuyerID: "b3", MerchantID: o.MerchantID,
							Reason: claim.ReasonDamaged, Description: "broken", Amount: claim.Money{Value: 9900, Currency: "CNY"},
							RefundType: claim.RefundOnly, Status: claim.StatusAnalyzing, RequestHash: sha([]byte(o.ID)), CreatedAt: a.clock.Now()})
						if err != nil {
							close(inserted)
							return err
						}
						if _, err := a.store.CreateEvidence(ctx, claim.Evidence{ClaimID: c.ID, Source: claim.SourceBuyer,
							SHA256: blobSHA, Format: "jpeg", Width: 64, Height: 64, Size: int64(len(tc.shot)),
							Hashes: claim.Hashes{PDQ: sha(tc.shot), PDQQuality: 100}}); err != nil {
							close(inserted)
							return err
						}
						inserted <- c
						<-release
						return nil
					})
				}()
				late, ok := <-inserted
				if !ok {
					t.Fatal(<-committed)
				}
				// Later filings commit above it, and b's lookups read past its seq.
				for j := range tc.passedWhile {
					d := a.fileWith(buyer2, fmt.Sprintf("T-pass-%d-%d", i, j), 9900, texturedPhoto(60+10*i+j))
					b.analyse(d.Claim.ID)
				}
				close(release)
				if err := <-committed; err != nil {
					t.Fatal(err)
				}
				again := b.fileWith(buyer2, fmt.Sprintf("T-again-%d", i), 9900, tc.resaved)
				if c := b.analyse(again.Claim.ID); c.Status != claim.StatusInReview {
					t.Fatalf("the reused shot routed %s", c.Status)
				}
				if d := duplicateFinding(t, b, again.Claim.ID); d == nil || d["claim_id"] != late.ID {
					t.Fatalf("finding %v, want one naming %s", d, late.ID)
				}
			})
		}
	}, withAnalyzer(analyzer))
}
