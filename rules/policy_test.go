package rules

import (
	"strings"
	"testing"
)

// TestDefaultPolicy runs the default set over its fixtures: one subtest per fixture, named
// for the behaviour it pins down.
func TestDefaultPolicy(t *testing.T) {
	s, err := LoadDefault()
	if err != nil {
		t.Fatalf("the embedded default does not compile: %v", err)
	}
	fixtures, err := DefaultFixtures()
	if err != nil {
		t.Fatal(err)
	}
	for _, fr := range s.RunFixtures(fixtures) {
		t.Run(fr.Fixture.Name, func(t *testing.T) {
			if !fr.Pass {
				t.Errorf("route %s, want %s; named rules that did not match: %v\n%s",
					fr.Result.Route, fr.Fixture.Expect, fr.NotMatched, fr.Result.Explain())
			}
		})
	}
}

// TestDefaultPolicyCoversTheIssue makes sure the cases the policy was written for stay in
// the fixture file, so nobody deletes a failing one to get green.
func TestDefaultPolicyCoversTheIssue(t *testing.T) {
	fixtures, err := DefaultFixtures()
	if err != nil {
		t.Fatal(err)
	}
	required := []struct {
		nameContains string
		route        Route
	}{
		{"small clean claim from a buyer in good standing is approved", RouteApprove},
		{"stolen merchant photo goes to review", RouteReview},
		{"AI-generation label goes to review", RouteReview},
		{"claim of exactly 3,000 CNY goes to review", RouteReview},
		{"merchant silent past the deadline does not stall a clean claim", RouteApprove},
		{"buyer with a record of fabricated evidence is never approved", RouteReview},
		{"any high-severity finding blocks approval", RouteReview},
	}
	for _, r := range required {
		found := false
		for _, f := range fixtures {
			if strings.Contains(f.Name, r.nameContains) && f.Expect == r.route {
				found = true
			}
		}
		if !found {
			t.Errorf("no fixture %q expecting %s", r.nameContains, r.route)
		}
	}
}

// TestDefaultPolicyNeverApprovesRiskyClaims checks the policy's promises over a grid of
// facts rather than hand-picked cases: a high-severity finding, a fabrication record, an AI
// label, duplicate evidence or 3,000 CNY and more never come out approved.
func TestDefaultPolicyNeverApprovesRiskyClaims(t *testing.T) {
	s, err := LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	risky := map[string]func(*Facts){
		"high severity":        func(f *Facts) { f.Evidence.MaxSeverity = "high" },
		"fabrication record":   func(f *Facts) { f.Buyer.RejectedFabricated = 1; f.Buyer.FabricatedShare = 0.1 },
		"AI label":             func(f *Facts) { f.Evidence.AILabeled = true },
		"duplicate evidence":   func(f *Facts) { f.Evidence.Duplicates = 1 },
		"3,000 CNY":            func(f *Facts) { f.Claim.Amount = 300000; f.Order.Amount = 300000 },
		"reference photo used": func(f *Facts) { f.Evidence.Codes = []string{"reference_match"}; f.Evidence.MinReferenceDistance = 3 },
	}
	for name, makeRisky := range risky {
		for _, reason := range []string{"damaged", "defective", "not_as_described", "missing_parts", "not_received"} {
			for _, merchant := range []MerchantFacts{{ResponsePending: true}, {WindowExpired: true}, {Responded: true}} {
				for _, amount := range []int64{100, 9900, 49900} {
					f := Facts{
						Claim:    ClaimFacts{Reason: reason, Amount: amount, Currency: "CNY", RefundType: "refund_only"},
						Order:    OrderFacts{Amount: amount, Currency: "CNY"},
						Evidence: EvidenceFacts{Count: 1, UsableCount: 1, MinReferenceDistance: -1},
						Merchant: merchant,
					}
					makeRisky(&f)
					if res := s.Evaluate(f); res.Route == RouteApprove || res.Route.Severity() < RouteReview.Severity() && merchant.WindowExpired {
						t.Errorf("%s, %s, %d fen, merchant %+v: routed %s", name, reason, amount, merchant, res.Route)
					}
				}
			}
		}
	}
}
