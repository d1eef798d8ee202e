package adjudicate_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/refundguard/refundguard/forensics"
	"github.com/refundguard/refundguard/pkg/adjudicate"
	"github.com/refundguard/refundguard/pkg/claim"
)

// TestCaseFileMerchantCopy: the merchant's copy of a case file keeps the claim, photos,
// reports, decisions and the routes of the rules, but not the buyer's record across
// merchants (facts.buyer, buyer.* rule inputs) nor the reviewers' evidence openings; the
// staff copy keeps both.
func TestCaseFileMerchantCopy(t *testing.T) {
	h := newHarness(t, withAnalyzer(heatmapAnalyzer{forensics.NewAnalyzer(forensics.AnalyzerOptions{})}))
	ctx := context.Background()
	stop := h.runWorkers(adjudicate.WorkerOptions{Workers: 1})
	defer stop()
	c := reviewClaim(t, h, buyer1, "T-mc", 9900, 14)
	d, err := h.svc.GetClaim(ctx, reviewer, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	content, err := h.svc.EvidenceContent(ctx, reviewer, d.Evidence[0].ID, true)
	if err != nil {
		t.Fatal(err)
	}
	content.Body.Close()

	read := func(p claim.Principal) map[string][]byte {
		t.Helper()
		var buf bytes.Buffer
		if err := h.svc.WriteCaseFile(ctx, p, c.ID, &buf); err != nil {
			t.Fatal(err)
		}
		zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		if err != nil {
			t.Fatal(err)
		}
		files := map[string][]byte{}
		for _, f := range zr.File {
			rc, _ := f.Open()
			files[f.Name], _ = io.ReadAll(rc)
			rc.Close()
		}
		return files
	}
	type decision struct {
		Rules []claim.RuleHit            `json:"rules"`
		Facts map[string]json.RawMessage `json:"facts"`
	}
	inspect := func(files map[string][]byte) (buyerFacts, buyerInputs, matched int, heatmapViews int) {
		var ds []decision
		if err := json.Unmarshal(files["decisions.json"], &ds); err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			if _, ok := d.Facts["buyer"]; ok {
				buyerFacts++
			}
			for _, r := range d.Rules {
				if r.Matched {
					matched++
				}
				for k := range r.Inputs {
					if strings.HasPrefix(k, "buyer.") {
						buyerInputs++
					}
				}
			}
		}
		heatmapViews = strings.Count(string(files["audit.json"]), `"heatmap.viewed"`)
		return
	}

	tests := []struct {
		name      string
		who       claim.Principal
		wantBuyer bool
	}{
		{"reviewer", reviewer, true},
		{"admin", admin, true},
		{"merchant", merchant1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := read(tt.who)
			buyerFacts, buyerInputs, matched, views := inspect(files)
			if matched == 0 {
				t.Errorf("no matched rule in decisions.json: %s", files["decisions.json"])
			}
			if got := buyerFacts > 0 && buyerInputs > 0 && views > 0; got != tt.wantBuyer {
				t.Errorf("buyer facts %d, buyer.* inputs %d, heatmap views %d; want them present=%v",
					buyerFacts, buyerInputs, views, tt.wantBuyer)
			}
			if !tt.wantBuyer && (buyerFacts+buyerInputs+views) != 0 {
				t.Errorf("the merchant's copy leaks: buyer facts %d, buyer.* inputs %d, heatmap views %d", buyerFacts, buyerInputs, views)
			}
			for _, name := range []string{"claim.json", "order.json", "reports/" + d.Evidence[0].ID + ".json"} {
				if len(files[name]) == 0 {
					t.Errorf("no %s", name)
				}
			}
		})
	}
}
