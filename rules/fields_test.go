package rules

import (
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// TestFieldsMarkdown keeps the documented field table (testdata/fields.md, copied into the
// README's "Routing rules" section) in step with the Facts struct. Run with -update after
// changing Facts, then paste the table into the README.
func TestFieldsMarkdown(t *testing.T) {
	got := FieldsMarkdown()
	const golden = "testdata/fields.md"
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("field table changed; run go test ./rules -run TestFieldsMarkdown -update and update the README\n got:\n%s", got)
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Skipf("README not found: %v", err)
	}
	if !strings.Contains(string(readme), got) {
		t.Error("README.md does not carry the current field table (testdata/fields.md)")
	}
}

func TestFieldsAreDocumented(t *testing.T) {
	seen := map[string]bool{}
	for _, f := range Fields() {
		if f.Doc == "" {
			t.Errorf("%s has no doc tag", f.Path)
		}
		if seen[f.Path] {
			t.Errorf("%s declared twice", f.Path)
		}
		seen[f.Path] = true
		if strings.ToLower(f.Path) != f.Path || strings.Contains(f.Path, "-") {
			t.Errorf("%s is not snake_case", f.Path)
		}
	}
	// Every field must be reachable from expressions under its documented name.
	for _, f := range Fields() {
		if _, err := Compile(set("  - {id: a, when: '" + f.Path + " != nil', route: review}\n")); err != nil {
			t.Errorf("%s: %v", f.Path, err)
		}
	}
}

func TestFieldValues(t *testing.T) {
	fields := newFieldTable()
	f := Facts{Evidence: EvidenceFacts{CodeCounts: map[string]int{"a": 2}}, Buyer: BuyerFacts{Claims30d: 7}}
	tests := []struct {
		path string
		want any
		ok   bool
	}{
		{"buyer.claims_30d", 7, true},
		{"evidence.code_counts.a", 2, true},
		{"evidence.code_counts.missing", 0, true},
		{"buyer", nil, false},
		{"buyer.nope", nil, false},
		{"claim.amount.x", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			got, ok := fields.value(&f, tt.path)
			if ok != tt.ok || (ok && got != tt.want) {
				t.Errorf("value = %v, %v; want %v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}
