package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/refundguard/refundguard/pkg/claim"
	"github.com/refundguard/refundguard/pkg/store"
	"github.com/refundguard/refundguard/rules"
)

// TestRulesBacktestFromDataDir replays a service's stored claims: two routed by the rules
// and decided by reviewers, one approved by the rules and never reviewed.
func TestRulesBacktestFromDataDir(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{DSN: filepath.Join(dir, "refundguard.db")})
	if err != nil {
		t.Fatal(err)
	}
	o, err := st.CreateOrder(ctx, claim.Order{ExternalID: "T-1", MerchantID: "m1", BuyerID: "b1", Amount: claim.Money{Value: 500000, Currency: "CNY"},
		Items: []claim.Item{{SKU: "S", Quantity: 1}}, PlacedAt: time.Now().Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []struct {
		amount  int64
		route   claim.Route
		outcome claim.Outcome
		reason  string
	}{
		{1000, claim.RouteApprove, "", ""},
		{400000, claim.RouteReview, claim.OutcomeReject, claim.ReasonFabricatedEvidence},
		{2000, claim.RouteReview, claim.OutcomeApprove, ""},
	} {
		c, err := st.CreateClaim(ctx, claim.Claim{OrderID: o.ID, BuyerID: "b1", MerchantID: "m1", Reason: claim.ReasonDamaged,
			Amount: claim.Money{Value: h.amount, Currency: "CNY"}, RefundType: claim.RefundOnly, Status: claim.StatusInReview, RequestHash: "x"})
		if err != nil {
			t.Fatal(err)
		}
		facts, _ := json.Marshal(rules.Facts{Claim: rules.ClaimFacts{Amount: h.amount, Currency: "CNY"}})
		if _, err := st.CreateDecision(ctx, claim.Decision{ClaimID: c.ID, Route: h.route, DecidedBy: "rules", Facts: facts}); err != nil {
			t.Fatal(err)
		}
		if h.outcome != "" {
			st.CreateDecision(ctx, claim.Decision{ClaimID: c.ID, Outcome: h.outcome, ReasonCode: h.reason, DecidedBy: "reviewer:alice"})
			c.Outcome, c.ReasonCode = h.outcome, h.reason
			if _, err := st.UpdateClaim(ctx, c, c.Status); err != nil {
				t.Fatal(err)
			}
		}
	}
	st.Close()
	// The draft reviews only claims of 3,000 CNY or more.
	policy := writeFile(t, "draft.yaml", "name: draft\nfallback: review\nrules:\n  - id: small\n    route: approve\n    when: claim.amount < 300000\n")
	out, errOut, code := runCLI(t, "rules", "backtest", policy, "--data-dir", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s %s", code, out, errOut)
	}
	for _, want := range []string{"3 claims, 2 decided, 1 routed differently",
		"* review           -> approve               1",
		"draft routes against final outcomes",
		"TP 1  FP 0  FN 0  TN 1  precision 100.0%  recall 100.0%"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
