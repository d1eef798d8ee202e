package adjudicate_test

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/refundguard/refundguard/forensics"
	"github.com/refundguard/refundguard/pkg/adjudicate"
	"github.com/refundguard/refundguard/pkg/claim"
)

func TestMerchantResponses(t *testing.T) {
	for _, tc := range []struct {
		name       string
		status     claim.Status
		statement  string
		photos     []adjudicate.Upload
		wantStatus claim.Status
		code       claim.Code
	}{
		{"photos from awaiting_merchant go to analysis", claim.StatusAwaitingMerchant, "packed with foam", uploads(60), claim.StatusAnalyzing, ""},
		{"a statement alone from awaiting_merchant goes to review", claim.StatusAwaitingMerchant, "we dispute this", nil, claim.StatusInReview, ""},
		{"in review the status stays", claim.StatusInReview, "see photos", uploads(61), claim.StatusInReview, ""},
		{"a withdrawn claim takes no responses", claim.StatusWithdrawn, "late", nil, "", claim.CodeConflict},
		{"an empty response", claim.StatusAwaitingMerchant, "  ", nil, "", claim.CodeInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			ctx := context.Background()
			o := h.order(merchant1, "b1", "T-1")
			c := h.file(buyer1, o, 1)
			h.setStatus(c.Claim.ID, tc.status)
			before := h.snapshot()
			r, err := h.svc.RespondToClaim(ctx, merchant1, c.Claim.ID, tc.statement, tc.photos)
			if tc.code != "" {
				wantCode(t, err, tc.code, "")
				if after := h.snapshot(); after != before {
					t.Fatalf("a refused response changed state: %+v -> %+v", before, after)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			d, err := h.svc.GetClaim(ctx, merchant1, c.Claim.ID)
			if err != nil {
				t.Fatal(err)
			}
			if d.Claim.Status != tc.wantStatus || len(d.Responses) != 1 || d.Responses[0].ID != r.ID ||
				d.Responses[0].Statement != strings.TrimSpace(tc.statement) || len(r.EvidenceIDs) != len(tc.photos) {
				t.Fatalf("after the response: status %s, responses %+v", d.Claim.Status, d.Responses)
			}
			if len(tc.photos) > 0 {
				counter := d.Evidence[len(d.Evidence)-1]
				if counter.Source != claim.SourceMerchant || counter.ID != r.EvidenceIDs[0] {
					t.Fatalf("counter-evidence %+v", counter)
				}
				stop := h.runWorkers(adjudicate.WorkerOptions{Workers: 1})
				h.waitIdle()
				h.waitStatus(c.Claim.ID, claim.StatusInReview)
				stop()
				ev, _ := h.store.GetEvidence(ctx, counter.ID)
				if len(ev.Report) == 0 {
					t.Fatal("the merchant's photo was not analysed")
				}
			}
			// The response is recorded; a claim the merchant answered is then routed again.
			last := d.Timeline[len(d.Timeline)-1]
			if last.Action == "claim.routed" {
				if last.Actor != "system:rules" || !strings.Contains(string(last.After), `"merchant-answered"`) {
					t.Fatalf("routed after the response as %+v", last)
				}
				last = d.Timeline[len(d.Timeline)-2]
			}
			if last.Action != "claim.response_added" || last.Actor != "merchant:m1" {
				t.Fatalf("timeline ends with %+v", last)
			}
		})
	}
}

func TestBuyerAddsEvidenceOnlyWhenAsked(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	o := h.order(merchant1, "b1", "T-1")
	c := h.file(buyer1, o, 1)
	before := h.snapshot()
	_, err := h.svc.AddEvidence(ctx, buyer1, c.Claim.ID, uploads(2))
	wantCode(t, err, claim.CodeConflict, "")
	if after := h.snapshot(); after != before {
		t.Fatalf("refused evidence changed state: %+v -> %+v", before, after)
	}

	h.setStatus(c.Claim.ID, claim.StatusAwaitingBuyerEvidence)
	added, err := h.svc.AddEvidence(ctx, buyer1, c.Claim.ID, uploads(2, 3))
	if err != nil || len(added) != 2 || added[0].Source != claim.SourceBuyer {
		t.Fatalf("added %+v %v", added, err)
	}
	d, _ := h.svc.GetClaim(ctx, buyer1, c.Claim.ID)
	if d.Claim.Status != claim.StatusAnalyzing || len(d.Evidence) != 3 {
		t.Fatalf("status %s with %d photos", d.Claim.Status, len(d.Evidence))
	}
	h.runWorkers(adjudicate.WorkerOptions{Workers: 1})
	h.waitStatus(c.Claim.ID, claim.StatusAwaitingMerchant)
	evs, _ := h.store.ListEvidence(ctx, c.Claim.ID)
	for _, ev := range evs {
		if len(ev.Report) == 0 {
			t.Fatalf("evidence %s not analysed", ev.ID)
		}
	}
}

func TestWithdraw(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	o := h.order(merchant1, "b1", "T-1")
	c := h.file(buyer1, o, 1)
	got, err := h.svc.WithdrawClaim(ctx, buyer1, c.Claim.ID)
	if err != nil || got.Status != claim.StatusWithdrawn {
		t.Fatalf("withdraw: %+v %v", got, err)
	}
	_, err = h.svc.WithdrawClaim(ctx, buyer1, c.Claim.ID)
	wantCode(t, err, claim.CodeConflict, "")
	// The analysis still runs (the photos may turn up again), but the claim stays withdrawn.
	h.runWorkers(adjudicate.WorkerOptions{Workers: 1})
	h.waitIdle()
	d, _ := h.svc.GetClaim(ctx, reviewer, c.Claim.ID)
	if d.Claim.Status != claim.StatusWithdrawn || len(d.Evidence[0].Report) == 0 {
		t.Fatalf("after analysis: %s, report %d bytes", d.Claim.Status, len(d.Evidence[0].Report))
	}
	var actions []string
	for _, e := range d.Timeline {
		actions = append(actions, e.Action)
	}
	if strings.Join(actions, ",") != "claim.filed,claim.withdrawn,claim.analyzed" {
		t.Fatalf("timeline %v", actions)
	}
}

func TestEvidenceContent(t *testing.T) {
	h := newHarness(t, withAnalyzer(heatmapAnalyzer{forensics.NewAnalyzer(forensics.AnalyzerOptions{})}))
	ctx := context.Background()
	o := h.order(merchant1, "b1", "T-1")
	c := h.file(buyer1, o, 1)
	unanalysed := c.Evidence[0].ID
	if err := drain(h.svc.EvidenceContent(ctx, reviewer, unanalysed, true)); claim.ErrorCode(err) != claim.CodeNotFound {
		t.Fatalf("heatmap before analysis: %v", err)
	}
	stop := h.runWorkers(adjudicate.WorkerOptions{Workers: 1})
	h.waitStatus(c.Claim.ID, claim.StatusAwaitingMerchant)
	stop()
	ev, _ := h.store.GetEvidence(ctx, unanalysed)

	for _, tc := range []struct {
		name    string
		p       claim.Principal
		heatmap bool
		ctype   string
		sha     string
		audited string
	}{
		{"a reviewer opens the photo", reviewer, false, "image/jpeg", ev.SHA256, "evidence.viewed"},
		{"an admin opens the heatmap", admin, true, "image/png", ev.HeatmapSHA, "heatmap.viewed"},
		{"the merchant opens the photo", merchant1, false, "image/jpeg", ev.SHA256, ""},
		{"the merchant opens the heatmap", merchant1, true, "image/png", ev.HeatmapSHA, ""},
		{"the buyer opens its own photo", buyer1, false, "image/jpeg", ev.SHA256, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := h.store.AuditEvents(ctx, "claim", c.Claim.ID)
			content, err := h.svc.EvidenceContent(ctx, tc.p, ev.ID, tc.heatmap)
			if err != nil {
				t.Fatal(err)
			}
			data, _ := io.ReadAll(content.Body)
			content.Body.Close()
			want, _ := h.blobs.Get(ctx, tc.sha)
			if content.ContentType != tc.ctype || content.SHA256 != tc.sha || content.Size != int64(len(want)) || string(data) != string(want) {
				t.Fatalf("content %+v (%d bytes)", content, len(data))
			}
			after, _ := h.store.AuditEvents(ctx, "claim", c.Claim.ID)
			switch {
			case tc.audited == "" && len(after) != len(before):
				t.Fatalf("non-staff access was audited: %+v", after[len(after)-1])
			case tc.audited != "" && (len(after) != len(before)+1 || after[len(after)-1].Action != tc.audited ||
				after[len(after)-1].Actor != tc.p.Actor() || !strings.Contains(string(after[len(after)-1].After), ev.ID)):
				t.Fatalf("staff access not audited as %s: %+v", tc.audited, after[len(after)-1])
			}
		})
	}
	t.Run("the buyer never gets the heatmap", func(t *testing.T) {
		wantCode(t, drain(h.svc.EvidenceContent(ctx, buyer1, ev.ID, true)), claim.CodeForbidden, "")
	})
	t.Run("the buyer never gets the merchant's counter-evidence", func(t *testing.T) {
		r, err := h.svc.RespondToClaim(ctx, merchant1, c.Claim.ID, "ours", uploads(70))
		if err != nil {
			t.Fatal(err)
		}
		wantCode(t, drain(h.svc.EvidenceContent(ctx, buyer1, r.EvidenceIDs[0], false)), claim.CodeNotFound, "")
	})
	t.Run("unknown evidence", func(t *testing.T) {
		wantCode(t, drain(h.svc.EvidenceContent(ctx, reviewer, "evd_nope", false)), claim.CodeNotFound, "")
	})
}
