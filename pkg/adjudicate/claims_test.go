package adjudicate_test

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/refundguard/refundguard/forensics"
	"github.com/refundguard/refundguard/pkg/adjudicate"
	"github.com/refundguard/refundguard/pkg/claim"
)

func TestFileClaimIsDurable(t *testing.T) {
	eachDialect(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		o := h.order(merchant1, "b1", "T-1")
		d, err := h.svc.FileClaim(ctx, buyer1, claimInput(o.ID, 1, 2))
		if err != nil {
			t.Fatal(err)
		}
		c := d.Claim
		if c.Status != claim.StatusAnalyzing || c.BuyerID != "b1" || c.MerchantID != "m1" ||
			c.Amount != (claim.Money{Value: 129900, Currency: "CNY"}) || d.Replayed || d.Order.ID != o.ID {
			t.Fatalf("filed %+v", d)
		}

		// Everything a 201 promises is on disk: reopen the database as a restarted process would.
		h.store.Close()
		h2 := startHarness(t, h.dsn, h.dataDir)
		got, err := h2.svc.GetClaim(ctx, buyer1, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Evidence) != 2 {
			t.Fatalf("%d evidence rows, want 2", len(got.Evidence))
		}
		for i, ev := range got.Evidence {
			data, err := h2.blobs.Get(ctx, ev.SHA256)
			if err != nil || string(data) != string(photo(i+1)) {
				t.Fatalf("evidence %d bytes: %v", i, err)
			}
			if ev.Source != claim.SourceBuyer || ev.Format != "jpeg" || ev.Report != nil {
				t.Fatalf("evidence %d: %+v", i, ev)
			}
		}
		if depth, _ := h2.store.QueueDepth(ctx); depth != 1 {
			t.Fatalf("queue depth %d, want the claim's analysis job", depth)
		}
		if len(got.Timeline) != 1 || got.Timeline[0].Action != "claim.filed" || got.Timeline[0].Actor != "buyer:b1" ||
			!strings.Contains(string(got.Timeline[0].After), `"status":"analyzing"`) {
			t.Fatalf("timeline %+v", got.Timeline)
		}
		check, err := h2.store.VerifyAudit(ctx)
		if err != nil || !check.OK() {
			t.Fatalf("audit chain: %+v %v", check, err)
		}
	})
}

func TestFileClaimRefusesBadInputAndChangesNothing(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	mine := h.order(merchant1, "b1", "T-1")
	theirs := h.order(merchant1, "b2", "T-2")
	before := h.snapshot()

	tooMany := claimInput(mine.ID, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10)
	for _, tc := range []struct {
		name  string
		p     claim.Principal
		edit  func(*adjudicate.ClaimInput)
		code  claim.Code
		field string
	}{
		{"a merchant cannot file", merchant1, nil, claim.CodeForbidden, ""},
		{"a reviewer cannot file", reviewer, nil, claim.CodeForbidden, ""},
		{"unknown order", buyer1, func(in *adjudicate.ClaimInput) { in.OrderID = "ord_nope" }, claim.CodeNotFound, "order_id"},
		{"another buyer's order looks missing", buyer1, func(in *adjudicate.ClaimInput) { in.OrderID = theirs.ID }, claim.CodeNotFound, "order_id"},
		{"no order", buyer1, func(in *adjudicate.ClaimInput) { in.OrderID = " " }, claim.CodeInvalid, "order_id"},
		{"more than the order's amount", buyer1, func(in *adjudicate.ClaimInput) { in.Amount = 129901 }, claim.CodeInvalid, "amount"},
		{"zero amount", buyer1, func(in *adjudicate.ClaimInput) { in.Amount = 0 }, claim.CodeInvalid, "amount"},
		{"negative amount", buyer1, func(in *adjudicate.ClaimInput) { in.Amount = -100 }, claim.CodeInvalid, "amount"},
		{"unknown reason", buyer1, func(in *adjudicate.ClaimInput) { in.Reason = "changed_my_mind" }, claim.CodeInvalid, "reason"},
		{"unknown refund type", buyer1, func(in *adjudicate.ClaimInput) { in.RefundType = "store_credit" }, claim.CodeInvalid, "refund_type"},
		{"description too long", buyer1, func(in *adjudicate.ClaimInput) { in.Description = strings.Repeat("长", 4001) }, claim.CodeTooLarge, "description"},
		{"description with control characters", buyer1, func(in *adjudicate.ClaimInput) { in.Description = "a\x1b[31mb" }, claim.CodeInvalid, "description"},
		{"description not UTF-8", buyer1, func(in *adjudicate.ClaimInput) { in.Description = "\xff\xfe" }, claim.CodeInvalid, "description"},
		{"no photos", buyer1, func(in *adjudicate.ClaimInput) { in.Photos = nil }, claim.CodeInvalid, "photos"},
		{"ten photos", buyer1, func(in *adjudicate.ClaimInput) { in.Photos = tooMany.Photos }, claim.CodeInvalid, "photos"},
		{"an empty photo", buyer1, func(in *adjudicate.ClaimInput) { in.Photos[0].Data = nil }, claim.CodeInvalid, "photos[0]"},
		{"a photo over 20 MiB", buyer1, func(in *adjudicate.ClaimInput) {
			in.Photos = append(in.Photos, adjudicate.Upload{Name: "big.jpg", Data: append(photo(7), make([]byte, 20<<20)...)})
		}, claim.CodeTooLarge, "photos[1]"},
		{"a file that is not an image, whatever its name", buyer1, func(in *adjudicate.ClaimInput) {
			in.Photos = append(in.Photos, adjudicate.Upload{Name: "crack.jpg", Data: []byte("<html>not a photo</html>")})
		}, claim.CodeUnsupportedMedia, "photos[1]"},
		{"the same photo twice", buyer1, func(in *adjudicate.ClaimInput) { in.Photos = uploads(3, 3) }, claim.CodeInvalid, "photos[1]"},
		{"an Idempotency-Key over 255 characters", buyer1, func(in *adjudicate.ClaimInput) { in.IdempotencyKey = strings.Repeat("k", 256) }, claim.CodeInvalid, "Idempotency-Key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := claimInput(mine.ID, 1)
			if tc.edit != nil {
				tc.edit(&in)
			}
			_, err := h.svc.FileClaim(ctx, tc.p, in)
			wantCode(t, err, tc.code, tc.field)
			if after := h.snapshot(); after != before {
				t.Fatalf("a refused claim changed state: %+v -> %+v", before, after)
			}
		})
	}
}

// rejectingAnalyzer refuses files the way the full decoder will (corrupt, over the pixel
// limit), which the interim Fingerprint cannot yet tell from good ones.
type rejectingAnalyzer struct {
	adjudicate.Analyzer
	code string
}

func (a rejectingAnalyzer) Fingerprint(ctx context.Context, data []byte) (forensics.Fingerprint, error) {
	if string(data) == string(photo(66)) {
		return forensics.Fingerprint{}, &forensics.Error{Code: a.code, Message: "refused by " + a.code}
	}
	return a.Analyzer.Fingerprint(ctx, data)
}

func TestPhotosTheAnalyzerRefusesMapToClientErrors(t *testing.T) {
	for _, tc := range []struct {
		forensics string
		code      claim.Code
	}{
		{forensics.ErrCodeCorrupt, claim.CodeInvalid},
		{forensics.ErrCodeUnsupportedFormat, claim.CodeUnsupportedMedia},
		{forensics.ErrCodeTooLarge, claim.CodeTooLarge},
	} {
		t.Run(tc.forensics, func(t *testing.T) {
			h := newHarness(t, withAnalyzer(rejectingAnalyzer{forensics.NewAnalyzer(forensics.AnalyzerOptions{}), tc.forensics}))
			o := h.order(merchant1, "b1", "T-1")
			before := h.snapshot()
			_, err := h.svc.FileClaim(context.Background(), buyer1, claimInput(o.ID, 1, 66))
			wantCode(t, err, tc.code, "photos[1]")
			if !strings.Contains(claim.ErrorMessage(err), "photos[1]") {
				t.Fatalf("the message does not name the file: %q", claim.ErrorMessage(err))
			}
			if after := h.snapshot(); after != before {
				t.Fatalf("state changed: %+v -> %+v", before, after)
			}
		})
	}
}

func TestIdempotentFiling(t *testing.T) {
	eachDialect(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		o := h.order(merchant1, "b1", "T-1")
		in := claimInput(o.ID, 1)
		in.IdempotencyKey = "8d2c-retry-me"
		first, err := h.svc.FileClaim(ctx, buyer1, in)
		if err != nil {
			t.Fatal(err)
		}
		base := h.snapshot()

		t.Run("a replay returns the same claim", func(t *testing.T) {
			again := in
			again.Photos = []adjudicate.Upload{{Name: "renamed.jpg", Data: photo(1)}}
			d, err := h.svc.FileClaim(ctx, buyer1, again)
			if err != nil || !d.Replayed || d.Claim.ID != first.Claim.ID {
				t.Fatalf("replay: %+v %v", d.Claim.ID, err)
			}
			if after := h.snapshot(); after != base {
				t.Fatalf("a replay changed state: %+v -> %+v", base, after)
			}
		})
		for _, tc := range []struct {
			name string
			edit func(*adjudicate.ClaimInput)
		}{
			{"another amount", func(in *adjudicate.ClaimInput) { in.Amount = 100 }},
			{"another photo", func(in *adjudicate.ClaimInput) { in.Photos = uploads(2) }},
			{"another description", func(in *adjudicate.ClaimInput) { in.Description = "lost" }},
		} {
			t.Run("the same key with "+tc.name+" is a conflict", func(t *testing.T) {
				other := in
				tc.edit(&other)
				_, err := h.svc.FileClaim(ctx, buyer1, other)
				wantCode(t, err, claim.CodeConflict, "Idempotency-Key")
				if after := h.snapshot(); after != base {
					t.Fatalf("a conflict changed state: %+v -> %+v", base, after)
				}
			})
		}
		t.Run("keys are per buyer", func(t *testing.T) {
			o2 := h.order(merchant1, "b2", "T-2")
			other := claimInput(o2.ID, 1)
			other.IdempotencyKey = in.IdempotencyKey
			d, err := h.svc.FileClaim(ctx, buyer2, other)
			if err != nil || d.Replayed || d.Claim.ID == first.Claim.ID {
				t.Fatalf("buyer 2 with buyer 1's key: %+v %v", d.Claim.ID, err)
			}
		})
		t.Run("concurrent retries file one claim", func(t *testing.T) {
			o3 := h.order(merchant2, "b1", "T-3")
			race := claimInput(o3.ID, 5)
			race.IdempotencyKey = "double-click"
			var wg sync.WaitGroup
			ids := make([]string, 6)
			errs := make([]error, 6)
			for i := range ids {
				wg.Add(1)
				go func() {
					defer wg.Done()
					d, err := h.svc.FileClaim(ctx, buyer1, race)
					ids[i], errs[i] = d.Claim.ID, err
				}()
			}
			wg.Wait()
			for i := range ids {
				if errs[i] != nil || ids[i] != ids[0] {
					t.Fatalf("retry %d: %s %v (first %s)", i, ids[i], errs[i], ids[0])
				}
			}
		})
	})
}

func TestOneOpenClaimPerOrder(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	o := h.order(merchant1, "b1", "T-1")
	first := h.file(buyer1, o, 1)
	_, err := h.svc.FileClaim(ctx, buyer1, claimInput(o.ID, 2))
	wantCode(t, err, claim.CodeConflict, "order_id")
	if _, err := h.svc.WithdrawClaim(ctx, buyer1, first.Claim.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.FileClaim(ctx, buyer1, claimInput(o.ID, 2)); err != nil {
		t.Fatalf("a new claim after withdrawing the first: %v", err)
	}
}

func TestListClaimsIsScopedAndPaged(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	var mine []string
	for i := range 5 {
		o := h.order(merchant1, "b1", fmt.Sprintf("T-%d", i))
		mine = append([]string{h.file(buyer1, o, i).Claim.ID}, mine...)
	}
	o := h.order(merchant2, "b2", "U-1")
	theirs := h.file(buyer2, o, 9).Claim.ID
	h.setStatus(mine[0], claim.StatusInReview)

	ids := func(p claim.Principal, f adjudicate.ClaimFilter) []string {
		t.Helper()
		var out []string
		for {
			page, err := h.svc.ListClaims(ctx, p, f)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range page.Claims {
				out = append(out, c.ID)
			}
			if page.NextCursor == "" {
				return out
			}
			f.Cursor = page.NextCursor
		}
	}
	for _, tc := range []struct {
		name string
		p    claim.Principal
		f    adjudicate.ClaimFilter
		want []string
	}{
		{"a buyer pages through its own, newest first", buyer1, adjudicate.ClaimFilter{Limit: 2}, mine},
		{"another buyer sees only its own", buyer2, adjudicate.ClaimFilter{}, []string{theirs}},
		{"a merchant sees the claims on its orders", merchant1, adjudicate.ClaimFilter{}, mine},
		{"status filter", merchant1, adjudicate.ClaimFilter{Status: claim.StatusInReview}, mine[:1]},
		{"staff see all", reviewer, adjudicate.ClaimFilter{Limit: 4}, append([]string{theirs}, mine...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ids(tc.p, tc.f); fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
	_, err := h.svc.ListClaims(ctx, buyer1, adjudicate.ClaimFilter{Status: "lost"})
	wantCode(t, err, claim.CodeInvalid, "status")
	_, err = h.svc.ListClaims(ctx, buyer1, adjudicate.ClaimFilter{Cursor: "bogus"})
	wantCode(t, err, claim.CodeInvalid, "cursor")
}

// TestScoping tries every claim operation with someone else's ids: each answers as if the
// record did not exist (or refuses the role outright), and nothing changes.
func TestScoping(t *testing.T) {
	h := newHarness(t, withAnalyzer(heatmapAnalyzer{forensics.NewAnalyzer(forensics.AnalyzerOptions{})}))
	ctx := context.Background()
	o := h.order(merchant1, "b1", "T-1")
	c := h.file(buyer1, o, 1)
	stop := h.runWorkers(adjudicate.WorkerOptions{Workers: 1})
	h.waitStatus(c.Claim.ID, claim.StatusAwaitingMerchant)
	stop()
	h.setStatus(c.Claim.ID, claim.StatusAwaitingBuyerEvidence)
	evID := c.Evidence[0].ID
	before := h.snapshot()

	ops := map[string]func(p claim.Principal) error{
		"get order": func(p claim.Principal) error { _, err := h.svc.GetOrder(ctx, p, o.ID); return err },
		"update order": func(p claim.Principal) error {
			_, err := h.svc.UpdateOrder(ctx, p, o.ID, adjudicate.OrderPatch{DeliveredAt: &delivered})
			return err
		},
		"add order images": func(p claim.Principal) error {
			_, err := h.svc.AddOrderImages(ctx, p, o.ID, claim.ImagePacking, uploads(50))
			return err
		},
		"get claim": func(p claim.Principal) error { _, err := h.svc.GetClaim(ctx, p, c.Claim.ID); return err },
		"respond": func(p claim.Principal) error {
			_, err := h.svc.RespondToClaim(ctx, p, c.Claim.ID, "no", nil)
			return err
		},
		"add evidence": func(p claim.Principal) error {
			_, err := h.svc.AddEvidence(ctx, p, c.Claim.ID, uploads(51))
			return err
		},
		"withdraw":         func(p claim.Principal) error { _, err := h.svc.WithdrawClaim(ctx, p, c.Claim.ID); return err },
		"evidence content": func(p claim.Principal) error { return drain(h.svc.EvidenceContent(ctx, p, evID, false)) },
		"evidence heatmap": func(p claim.Principal) error { return drain(h.svc.EvidenceContent(ctx, p, evID, true)) },
	}
	// For each stranger: the code each operation must give. not_found hides the record;
	// forbidden is for roles that may never do the thing at all.
	for _, tc := range []struct {
		p    claim.Principal
		want map[string]claim.Code
	}{
		{buyer2, map[string]claim.Code{"get order": claim.CodeNotFound, "update order": claim.CodeForbidden,
			"add order images": claim.CodeForbidden, "get claim": claim.CodeNotFound, "respond": claim.CodeForbidden,
			"add evidence": claim.CodeNotFound, "withdraw": claim.CodeNotFound, "evidence content": claim.CodeNotFound,
			"evidence heatmap": claim.CodeNotFound}},
		{merchant2, map[string]claim.Code{"get order": claim.CodeNotFound, "update order": claim.CodeNotFound,
			"add order images": claim.CodeNotFound, "get claim": claim.CodeNotFound, "respond": claim.CodeNotFound,
			"add evidence": claim.CodeForbidden, "withdraw": claim.CodeForbidden, "evidence content": claim.CodeNotFound,
			"evidence heatmap": claim.CodeNotFound}},
		{buyer1, map[string]claim.Code{"update order": claim.CodeForbidden, "add order images": claim.CodeForbidden,
			"respond": claim.CodeForbidden, "evidence heatmap": claim.CodeForbidden}},
		{merchant1, map[string]claim.Code{"add evidence": claim.CodeForbidden, "withdraw": claim.CodeForbidden}},
		{reviewer, map[string]claim.Code{"update order": claim.CodeForbidden, "add order images": claim.CodeForbidden,
			"respond": claim.CodeForbidden, "add evidence": claim.CodeForbidden, "withdraw": claim.CodeForbidden}},
	} {
		for name, op := range ops {
			want, refused := tc.want[name]
			if !refused {
				continue // allowed operations are exercised by the other tests
			}
			t.Run(tc.p.Actor()+" "+name, func(t *testing.T) {
				wantCode(t, op(tc.p), want, "")
			})
		}
	}
	if after := h.snapshot(); after != before {
		t.Fatalf("refused operations changed state: %+v -> %+v", before, after)
	}
}

func drain(c adjudicate.Content, err error) error {
	if err == nil {
		io.Copy(io.Discard, c.Body)
		c.Body.Close()
	}
	return err
}
