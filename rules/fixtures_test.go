package rules

import (
	"strings"
	"testing"
)

func TestReadFixturesRefuses(t *testing.T) {
	tests := []struct{ name, input, want string }{
		{"empty", "", "fixtures: empty document"},
		{"no fixtures", "fixtures: []\n", "fixtures: no fixtures"},
		{"misspelt fact", "fixtures:\n  - {name: a, expect: review, facts: {claim: {amout: 1}}}\n", "field amout not found"},
		{"unknown route", "fixtures:\n  - {name: a, expect: reject}\n", `fixture "a": unknown expected route "reject"`},
		{"missing name", "fixtures:\n  - {expect: review}\n", "fixture #1 has no name"},
		{"duplicate name", "fixtures:\n  - {name: a, expect: review}\n  - {name: a, expect: approve}\n", `duplicate fixture name "a"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadFixtures(strings.NewReader(tt.input))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestRunFixtures(t *testing.T) {
	s := mustCompile(t, set("  - {id: big, when: claim.amount >= 100, route: review}\n  - {id: small, when: claim.amount < 100, route: approve}\n"))
	fixtures, err := ReadFixtures(strings.NewReader(`fixtures:
  - {name: right route right reason, expect: review, because: [big], facts: {claim: {amount: 100}}}
  - {name: wrong route, expect: approve, facts: {claim: {amount: 100}}}
  - {name: right route wrong reason, expect: approve, because: [big], facts: {claim: {amount: 1}}}
  - {name: names a rule the set lacks, expect: approve, because: [tiny], facts: {claim: {amount: 1}}}
  - name: photos replace the evidence facts
    expect: review
    facts: {claim: {amount: 500}, evidence: {count: 9}}
    photos: [{risk: 1, findings: []}]
`))
	if err != nil {
		t.Fatal(err)
	}
	results := s.RunFixtures(fixtures)
	wantPass := []bool{true, false, false, false, true}
	for i, fr := range results {
		if fr.Pass != wantPass[i] {
			t.Errorf("%s: pass = %v, want %v", fr.Fixture.Name, fr.Pass, wantPass[i])
		}
	}
	if got := results[2].NotMatched; len(got) != 1 || got[0] != "big" {
		t.Errorf("not matched %v, want [big]", got)
	}
	if got := results[4].Fixture.facts().Evidence.Count; got != 1 {
		t.Errorf("evidence count %d: photos should replace facts.evidence", got)
	}
}

func FuzzCompile(f *testing.F) {
	f.Add(string(DefaultYAML()))
	f.Add(string(set("  - {id: a, when: 'evidence.code_counts[evidence.codes[0]] > 1', route: review}\n")))
	f.Add(string(set("  - {id: a, wen: x, route: reject}\n  - {id: a}\n")))
	f.Add("name: x\nfallback: review\nrules:\n  - id: a\n    when: |\n      let h = claim.hours_since_delivery; any(evidence.codes, # == \"x\") and h > 1\n    route: review\n")
	f.Add("rules: [\n")
	f.Fuzz(func(t *testing.T, src string) {
		s, err := Compile([]byte(src))
		if err != nil {
			return
		}
		// A set that compiles must evaluate without panicking and give a valid route.
		for _, facts := range []Facts{{}, {Evidence: EvidenceFacts{Codes: []string{"x"}, CodeCounts: map[string]int{"x": 1}}}} {
			if r := s.Evaluate(facts); !r.Route.Valid() || r.Route == RouteApprove && r.Fallback {
				t.Fatalf("route %q fallback %v", r.Route, r.Fallback)
			}
		}
	})
}

func FuzzReadFixtures(f *testing.F) {
	f.Add(string(defaultFixturesYAML))
	f.Add("fixtures:\n  - {name: a, expect: review, because: [x], photos: [{error: {code: c}}]}\n")
	f.Fuzz(func(t *testing.T, src string) {
		fixtures, err := ReadFixtures(strings.NewReader(src))
		if err != nil {
			return
		}
		for _, fx := range fixtures {
			if !fx.Expect.Valid() || fx.Name == "" {
				t.Fatalf("accepted fixture %+v", fx)
			}
		}
	})
}
