package rules

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// set builds a rule set document with the given rules block.
func set(rules string) []byte {
	return []byte("name: test\nversion: \"1\"\nfallback: review\nrules:\n" + rules)
}

func TestCompileAccepts(t *testing.T) {
	tests := []struct {
		name      string
		src       []byte
		wantRules int
		wantReads [][]string
		check     func(t *testing.T, s *RuleSet)
	}{
		{
			name: "a boolean expression over grouped fields",
			src: set(`  - id: big
    description: big claims
    when: claim.amount >= 300000 and claim.currency == "CNY"
    route: review
    score: 20
`),
			wantRules: 1,
			wantReads: [][]string{{"claim.amount", "claim.currency"}},
			check: func(t *testing.T, s *RuleSet) {
				if s.Rules[0].Score != 20 || s.Rules[0].Description != "big claims" || s.Rules[0].Route != RouteReview {
					t.Errorf("rule = %+v", s.Rules[0])
				}
			},
		},
		{
			name: "map entries, list membership, builtins and predicates",
			src: set(`  - id: edits
    when: |
      evidence.code_counts["localized_edit"] > 0 or any(evidence.codes, # startsWith "ai_") or len(buyer.flags) > 1
    route: review_priority
`),
			wantRules: 1,
			wantReads: [][]string{{"buyer.flags", "evidence.code_counts.localized_edit", "evidence.codes"}},
		},
		{
			name: "a computed map key records the whole map",
			src: set(`  - id: computed
    when: evidence.code_counts[evidence.codes[0]] > 1
    route: review
`),
			wantRules: 1,
			wantReads: [][]string{{"evidence.code_counts", "evidence.codes"}},
		},
		{
			name: "let bindings and times",
			src: set(`  - id: late
    when: let h = claim.hours_since_delivery; h > 168 and order.delivered_at.Year() >= 2025
    route: review
`),
			wantRules: 1,
			wantReads: [][]string{{"claim.hours_since_delivery", "order.delivered_at"}},
		},
		{
			name: "a rule that reads nothing is a catch-all",
			src: set(`  - id: always
    when: "true"
    route: request_evidence
`),
			wantRules: 1,
			wantReads: [][]string{{}},
		},
		{
			name:      "merchant window defaults to 48 hours",
			src:       set("  - {id: a, when: merchant.responded, route: review}\n"),
			wantRules: 1,
			check: func(t *testing.T, s *RuleSet) {
				if s.MerchantResponseWindow != 48*time.Hour {
					t.Errorf("window = %v", s.MerchantResponseWindow)
				}
			},
		},
		{
			name:      "merchant window from the set",
			src:       []byte("name: t\nfallback: review_priority\nmerchant_response_window: 72h\nrules:\n  - {id: a, when: merchant.responded, route: review}\n"),
			wantRules: 1,
			check: func(t *testing.T, s *RuleSet) {
				if s.MerchantResponseWindow != 72*time.Hour || s.Fallback != RouteReviewPriority {
					t.Errorf("window = %v, fallback = %v", s.MerchantResponseWindow, s.Fallback)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Compile(tt.src)
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			if len(s.Rules) != tt.wantRules {
				t.Fatalf("%d rules, want %d", len(s.Rules), tt.wantRules)
			}
			for i, want := range tt.wantReads {
				if got := s.Rules[i].Reads; strings.Join(got, ",") != strings.Join(want, ",") {
					t.Errorf("rule %s reads %v, want %v", s.Rules[i].ID, got, want)
				}
			}
			if tt.check != nil {
				tt.check(t, s)
			}
		})
	}
}

func TestCompileRefuses(t *testing.T) {
	tests := []struct {
		name string
		src  []byte
		want []string // substrings of the error, in order of appearance
	}{
		{
			name: "unknown field with a suggestion",
			src:  set("  - {id: big, when: claim.amout > 1, route: review}\n"),
			want: []string{`rule "big" (line 5): when: unknown field claim.amout (did you mean claim.amount?)`},
		},
		{
			name: "ungrouped field name",
			src:  set("  - {id: bare, when: amount > 1, route: review}\n"),
			want: []string{`rule "bare" (line 5): when: unknown field amount (did you mean claim.amount?)`},
		},
		{
			name: "unknown group",
			src:  set("  - {id: grp, when: seller.rating > 1, route: review}\n"),
			want: []string{`rule "grp"`, `unknown field seller`},
		},
		{
			name: "expression that is not boolean",
			src:  set("  - {id: sum, when: claim.amount + 1, route: review}\n"),
			want: []string{`rule "sum" (line 5): when: expected bool, but got int`},
		},
		{
			name: "type mismatch",
			src:  set("  - {id: types, when: 'claim.reason > 5', route: review}\n"),
			want: []string{`rule "types"`, `invalid operation: > (mismatched types string and int)`},
		},
		{
			name: "syntax error",
			src:  set("  - {id: syntax, when: 'claim.amount >', route: review}\n"),
			want: []string{`rule "syntax" (line 5): when: unexpected token EOF`},
		},
		{
			name: "the wall clock is not available to rules",
			src:  set("  - {id: clock, when: now().Year() > 2000, route: review}\n"),
			want: []string{`rule "clock"`, `unknown field now`},
		},
		{
			name: "reject is not a route",
			src:  set("  - {id: deny, when: evidence.duplicates > 0, route: reject}\n"),
			want: []string{`rule "deny" (line 5): unknown route "reject": rules never reject a claim, only a reviewer does`},
		},
		{
			name: "unknown route",
			src:  set("  - {id: esc, when: evidence.duplicates > 0, route: escalate}\n"),
			want: []string{`rule "esc" (line 5): unknown route "escalate" (routes: approve, request_evidence, await_merchant, review, review_priority)`},
		},
		{
			name: "duplicate ids",
			src:  set("  - {id: a, when: merchant.responded, route: review}\n  - {id: a, when: merchant.window_expired, route: review}\n"),
			want: []string{`rule "a" (line 6): duplicate id (first defined at line 5)`},
		},
		{
			name: "missing id, route and condition",
			src:  set("  - description: nothing useful\n"),
			want: []string{`rule "#1" (line 5): id is required`, `rule "#1" (line 5): route is required`, `rule "#1" (line 5): when is required`},
		},
		{
			name: "misspelt key names the rule",
			src:  set("  - {id: typo, wen: merchant.responded, route: review}\n"),
			want: []string{`rule "typo" (line 5): unknown key "wen" at line 5 (known: id, description, when, route, score)`},
		},
		{
			name: "score that is not a number",
			src:  set("  - {id: sc, when: merchant.responded, route: review, score: high}\n"),
			want: []string{`rule "sc" (line 5):`, "cannot unmarshal !!str `high` into int"},
		},
		{
			name: "bad id",
			src:  set("  - {id: 'has space', when: merchant.responded, route: review}\n"),
			want: []string{`rule "has space" (line 5): id must be`},
		},
		{
			name: "every problem reported at once",
			src:  set("  - {id: one, when: claim.amout > 1, route: review}\n  - {id: two, when: merchant.responded, route: reject}\n"),
			want: []string{`rule "one"`, `unknown field claim.amout`, `rule "two"`, `unknown route "reject"`},
		},
		{
			name: "no fallback",
			src:  []byte("name: t\nrules:\n  - {id: a, when: merchant.responded, route: review}\n"),
			want: []string{`rule set: fallback is required`},
		},
		{
			name: "approve as fallback",
			src:  []byte("name: t\nfallback: approve\nrules:\n  - {id: a, when: merchant.responded, route: review}\n"),
			want: []string{`rule set: fallback must not be approve`},
		},
		{
			name: "unknown fallback",
			src:  []byte("name: t\nfallback: reject\nrules:\n  - {id: a, when: merchant.responded, route: review}\n"),
			want: []string{`rule set: unknown fallback route "reject"`},
		},
		{
			name: "no name and no rules",
			src:  []byte("fallback: review\n"),
			want: []string{`rule set: name is required`, `rule set: no rules`},
		},
		{
			name: "unknown top-level key",
			src:  []byte("name: t\nfallback: review\npolicy: strict\nrules:\n  - {id: a, when: merchant.responded, route: review}\n"),
			want: []string{`rule set: invalid YAML: unmarshal errors:`, `field policy not found`},
		},
		{
			name: "negative merchant window",
			src:  []byte("name: t\nfallback: review\nmerchant_response_window: -1h\nrules:\n  - {id: a, when: merchant.responded, route: review}\n"),
			want: []string{`merchant_response_window must be positive`},
		},
		{
			name: "empty document",
			src:  []byte(""),
			want: []string{`rule set: invalid YAML: empty document`},
		},
		{
			name: "not YAML",
			src:  []byte("rules: [\n"),
			want: []string{`rule set: invalid YAML:`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Compile(tt.src)
			if err == nil {
				t.Fatalf("Compile accepted the set: %+v", s.Rules)
			}
			var ce *CompileError
			if !errors.As(err, &ce) {
				t.Fatalf("error %T, want *CompileError", err)
			}
			msg := err.Error()
			rest := msg
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("error lacks %q (in order)\n got: %s", w, msg)
				}
				rest = rest[i+len(w):]
			}
		})
	}
}

func TestVersionIsAContentHash(t *testing.T) {
	a, err := Compile(set("  - {id: a, when: merchant.responded, route: review}\n"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Compile(set("  - {id: a, when: merchant.responded, route: review}\n"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := Compile(set("  - {id: a, when: merchant.responded, route: review_priority}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if a.Version != b.Version {
		t.Errorf("same YAML, different versions %s and %s", a.Version, b.Version)
	}
	if a.Version == c.Version {
		t.Errorf("different YAML, same version %s", a.Version)
	}
	if !strings.HasPrefix(a.Version, "sha256:") || len(a.Version) != len("sha256:")+64 {
		t.Errorf("version %q is not sha256:<64 hex>", a.Version)
	}
	if a.Revision != "1" || a.Name != "test" {
		t.Errorf("name %q revision %q", a.Name, a.Revision)
	}
	if string(a.Source()) != string(set("  - {id: a, when: merchant.responded, route: review}\n")) {
		t.Error("Source does not return the YAML")
	}
}

func TestRouteSeverity(t *testing.T) {
	order := Routes()
	for i := 1; i < len(order); i++ {
		if order[i-1].Severity() >= order[i].Severity() {
			t.Errorf("%s is not less severe than %s", order[i-1], order[i])
		}
	}
	if Route("reject").Valid() || Route("").Valid() {
		t.Error("reject or empty route reported valid")
	}
}
