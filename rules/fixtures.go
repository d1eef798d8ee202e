package rules

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"slices"

	"go.yaml.in/yaml/v3"
)

//go:embed default_fixtures.yaml
var defaultFixturesYAML []byte

// Fixture is a claim with the route a rule set must give it.
type Fixture struct {
	Name string `yaml:"name"`
	// Expect is the route the claim must get.
	Expect Route `yaml:"expect"`
	// Because optionally lists rules that must be among the matching ones, so a fixture
	// fails when the right route comes for the wrong reason.
	Because []string `yaml:"because"`
	Facts   Facts    `yaml:"facts"`
	// Photos, when present, are forensic reports whose summary replaces Facts.Evidence;
	// writing findings is less error-prone than writing the summary by hand.
	Photos []EvidenceReport `yaml:"photos"`
}

// facts returns the facts the fixture describes.
func (f Fixture) facts() Facts {
	facts := f.Facts
	if f.Photos != nil {
		facts.Evidence = SummarizeEvidence(f.Photos)
	}
	return facts
}

// FixtureResult is the outcome of one fixture.
type FixtureResult struct {
	Fixture Fixture
	Result  Result
	Pass    bool
	// NotMatched lists rules named in Because that did not match.
	NotMatched []string
}

// DefaultFixtures returns the fixtures that pin down the default policy.
func DefaultFixtures() ([]Fixture, error) {
	return ReadFixtures(bytes.NewReader(defaultFixturesYAML))
}

// ReadFixtures parses a fixture file: a YAML document with a "fixtures" list. Unknown keys
// are refused, so a misspelt fact cannot silently default to zero.
func ReadFixtures(r io.Reader) ([]Fixture, error) {
	var doc struct {
		Fixtures []Fixture `yaml:"fixtures"`
	}
	dec := yaml.NewDecoder(io.LimitReader(r, maxSetSize*8))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("fixtures: empty document")
		}
		return nil, fmt.Errorf("fixtures: %w", err)
	}
	if len(doc.Fixtures) == 0 {
		return nil, errors.New("fixtures: no fixtures")
	}
	names := map[string]bool{}
	for i, f := range doc.Fixtures {
		switch {
		case f.Name == "":
			return nil, fmt.Errorf("fixtures: fixture #%d has no name", i+1)
		case names[f.Name]:
			return nil, fmt.Errorf("fixtures: duplicate fixture name %q", f.Name)
		case !f.Expect.Valid():
			return nil, fmt.Errorf("fixtures: fixture %q: unknown expected route %q (%s)", f.Name, f.Expect, routeList())
		}
		names[f.Name] = true
	}
	return doc.Fixtures, nil
}

// RunFixtures evaluates every fixture with the set. A fixture passes when the route is the
// expected one and every rule it names in Because matched. Naming a rule the set does not
// have fails the fixture too.
func (s *RuleSet) RunFixtures(fixtures []Fixture) []FixtureResult {
	out := make([]FixtureResult, len(fixtures))
	for i, f := range fixtures {
		res := s.Evaluate(f.facts())
		fr := FixtureResult{Fixture: f, Result: res}
		for _, id := range f.Because {
			if !slices.ContainsFunc(res.Hits, func(h Hit) bool { return h.ID == id && h.Matched }) {
				fr.NotMatched = append(fr.NotMatched, id)
			}
		}
		fr.Pass = res.Route == f.Expect && len(fr.NotMatched) == 0
		out[i] = fr
	}
	return out
}
