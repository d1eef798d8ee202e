package rules

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func mustCompile(t *testing.T, src []byte) *RuleSet {
	t.Helper()
	s, err := Compile(src)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return s
}

func TestEvaluate(t *testing.T) {
	s := mustCompile(t, set(`  - id: small
    description: small claims
    when: claim.amount < 50000
    route: approve
  - id: merchant-silent
    when: merchant.response_pending
    route: await_merchant
    score: 1
  - id: stolen
    when: '"reference_match" in evidence.codes'
    route: review
    score: 40
  - id: edited
    when: evidence.code_counts.localized_edit > 0
    route: review
    score: 30
  - id: duplicate
    when: evidence.duplicates > 0
    route: review_priority
    score: 50
`))
	tests := []struct {
		name         string
		facts        Facts
		wantRoute    Route
		wantFallback bool
		wantDecisive []string
		wantScore    int
		wantMatched  []string
	}{
		{
			name:         "one matching rule decides",
			facts:        Facts{Claim: ClaimFacts{Amount: 100}},
			wantRoute:    RouteApprove,
			wantDecisive: []string{"small"},
			wantMatched:  []string{"small"},
		},
		{
			name:         "the most severe matching route wins",
			facts:        Facts{Claim: ClaimFacts{Amount: 100}, Merchant: MerchantFacts{ResponsePending: true}, Evidence: EvidenceFacts{Codes: []string{"reference_match"}}},
			wantRoute:    RouteReview,
			wantDecisive: []string{"stolen"},
			wantScore:    41,
			wantMatched:  []string{"small", "merchant-silent", "stolen"},
		},
		{
			name:         "rules sharing the winning route are all decisive",
			facts:        Facts{Claim: ClaimFacts{Amount: 100}, Evidence: EvidenceFacts{Codes: []string{"reference_match"}, CodeCounts: map[string]int{"localized_edit": 2}}},
			wantRoute:    RouteReview,
			wantDecisive: []string{"stolen", "edited"},
			wantScore:    70,
			wantMatched:  []string{"small", "stolen", "edited"},
		},
		{
			name:         "review_priority beats review",
			facts:        Facts{Claim: ClaimFacts{Amount: 100}, Evidence: EvidenceFacts{Codes: []string{"reference_match"}, Duplicates: 1}},
			wantRoute:    RouteReviewPriority,
			wantDecisive: []string{"duplicate"},
			wantScore:    90,
			wantMatched:  []string{"small", "stolen", "duplicate"},
		},
		{
			name:         "nothing matches: the fallback",
			facts:        Facts{Claim: ClaimFacts{Amount: 900000}},
			wantRoute:    RouteReview,
			wantFallback: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := s.Evaluate(tt.facts)
			if res.Route != tt.wantRoute || res.Fallback != tt.wantFallback || res.Score != tt.wantScore {
				t.Errorf("route %s fallback %v score %d, want %s %v %d", res.Route, res.Fallback, res.Score, tt.wantRoute, tt.wantFallback, tt.wantScore)
			}
			if !reflect.DeepEqual(res.Decisive, tt.wantDecisive) {
				t.Errorf("decisive %v, want %v", res.Decisive, tt.wantDecisive)
			}
			var matched []string
			for _, h := range res.Hits {
				if h.Matched {
					matched = append(matched, h.ID)
				}
			}
			if !reflect.DeepEqual(matched, tt.wantMatched) {
				t.Errorf("matched %v, want %v", matched, tt.wantMatched)
			}
			if len(res.Hits) != len(s.Rules) {
				t.Errorf("%d hits for %d rules: every rule must be recorded", len(res.Hits), len(s.Rules))
			}
			if res.RuleSetVersion != s.Version || res.RuleSetName != "test" {
				t.Errorf("result names set %q %q", res.RuleSetName, res.RuleSetVersion)
			}
		})
	}
}

func TestEvaluateRecordsInputs(t *testing.T) {
	s := mustCompile(t, set(`  - id: mixed
    when: |
      claim.amount >= 300000 and evidence.code_counts.localized_edit > 0
      and "ai_generated_label" in evidence.codes and not merchant.responded
    route: review
`))
	res := s.Evaluate(Facts{
		Claim:    ClaimFacts{Amount: 350000, Currency: "CNY"},
		Evidence: EvidenceFacts{Codes: []string{"ai_generated_label"}, CodeCounts: map[string]int{"ai_generated_label": 1}},
	})
	want := map[string]any{
		"claim.amount":                        int64(350000),
		"evidence.code_counts.localized_edit": 0,
		"evidence.codes":                      []string{"ai_generated_label"},
		"merchant.responded":                  false,
	}
	if got := res.Hits[0].Inputs; !reflect.DeepEqual(got, want) {
		t.Errorf("inputs %#v\nwant %#v", got, want)
	}
	// The trace goes into decisions as JSON: nil lists must read as [], not null.
	res = s.Evaluate(Facts{})
	b, err := json.Marshal(res.Hits[0])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"evidence.codes":[]`) {
		t.Errorf("hit JSON %s: an absent list should be []", b)
	}
}

func TestEvaluateRuntimeErrorSendsToReview(t *testing.T) {
	s := mustCompile(t, set(`  - id: first-code
    when: evidence.codes[0] == "reference_match"
    route: review_priority
  - id: small
    when: claim.amount < 100
    route: approve
`))
	res := s.Evaluate(Facts{Claim: ClaimFacts{Amount: 1}})
	if res.Route != RouteReview || res.Fallback {
		t.Errorf("route %s fallback %v: a failing rule must send the claim to review", res.Route, res.Fallback)
	}
	if h := res.Hits[0]; h.Matched || !strings.Contains(h.Error, "index out of range") {
		t.Errorf("failing hit %+v: want the error recorded", h)
	}
	if !strings.Contains(res.Explain(), "a rule failed to evaluate") {
		t.Errorf("explanation does not say why:\n%s", res.Explain())
	}
	// When the failing rule is not needed to go to review, the matched route stands.
	res = s.Evaluate(Facts{Evidence: EvidenceFacts{Codes: []string{"reference_match"}}})
	if res.Route != RouteReviewPriority {
		t.Errorf("route %s, want review_priority", res.Route)
	}
}

func TestExplain(t *testing.T) {
	s, err := LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	res := s.Evaluate(Facts{
		Claim:    ClaimFacts{Reason: "damaged", Amount: 8900, Currency: "CNY"},
		Order:    OrderFacts{Amount: 8900, Currency: "CNY", HasDelivery: true},
		Evidence: SummarizeEvidence([]EvidenceReport{{Risk: 85, Findings: []Finding{{Code: "reference_match", Severity: "high", Distance: ptr(12)}}}}),
	})
	text := res.Explain()
	for _, want := range []string{
		"route: review (by reference-photo-reused, high-severity-finding)",
		"rule set: default sha256:",
		"  yes reference-photo-reused",
		`        evidence.codes = ["reference_match"]`,
		"  no  clean-small-claim",
		`        evidence.max_severity = "high"`,
		"        claim.amount = 8900",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("explanation lacks %q:\n%s", want, text)
		}
	}
}

func ptr[T any](v T) *T { return &v }
