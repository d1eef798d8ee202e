package rules

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/expr-lang/expr"
)

// Result is where a rule set sends one claim, and why.
type Result struct {
	Route Route `json:"route"`
	// Fallback is set when no rule matched and Route is the set's fallback.
	Fallback bool `json:"fallback"`
	// Decisive lists the matching rules whose route won, in set order.
	Decisive []string `json:"decisive"`
	// Score sums the scores of the matching rules; the review queue may order by it.
	Score       int    `json:"score"`
	RuleSetName string `json:"rule_set_name"`
	// RuleSetVersion is the set's content hash (RuleSet.Version), for the decision record.
	RuleSetVersion string `json:"rule_set_version"`
	// Hits records every rule, in set order, matched or not, with the facts it read.
	Hits []Hit `json:"hits"`
}

// Hit is one evaluated rule.
type Hit struct {
	ID          string         `json:"id"`
	Description string         `json:"description,omitempty"`
	Route       Route          `json:"route"`
	Score       int            `json:"score,omitempty"`
	Matched     bool           `json:"matched"`
	Inputs      map[string]any `json:"inputs,omitempty"`
	// Error is set when the expression failed at run time (it then counts as not matched,
	// and the claim goes at least to review).
	Error string `json:"error,omitempty"`
}

// Evaluate runs every rule over the facts and picks the most severe matching route, or the
// fallback when none matches. A rule that fails at run time (say, indexing past the end of
// a list) is recorded with its error, and the claim is routed at least to review: a policy
// that cannot be read must not approve.
func (s *RuleSet) Evaluate(f Facts) Result {
	res := Result{RuleSetName: s.Name, RuleSetVersion: s.Version, Hits: make([]Hit, len(s.Rules))}
	failed := false
	for i, r := range s.Rules {
		h := Hit{ID: r.ID, Description: r.Description, Route: r.Route, Score: r.Score, Inputs: make(map[string]any, len(r.Reads))}
		for _, p := range r.Reads {
			if v, ok := s.fields.value(&f, p); ok {
				h.Inputs[p] = v
			}
		}
		out, err := expr.Run(s.programs[i], &f)
		switch {
		case err != nil:
			h.Error = firstLine(err.Error())
			failed = true
		default:
			h.Matched = out.(bool) // AsBool at compile time guarantees a bool
		}
		if h.Matched {
			res.Score += r.Score
			switch {
			case r.Route.Severity() > res.Route.Severity():
				res.Route, res.Decisive = r.Route, []string{r.ID}
			case r.Route == res.Route:
				res.Decisive = append(res.Decisive, r.ID)
			}
		}
		res.Hits[i] = h
	}
	if res.Route == "" {
		res.Route, res.Fallback = s.Fallback, true
	}
	if failed && res.Route.Severity() < RouteReview.Severity() {
		res.Route, res.Fallback, res.Decisive = RouteReview, false, nil
	}
	return res
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// Explain renders the result for a person: the route, why, and every rule with the values
// it saw.
func (r Result) Explain() string {
	var b strings.Builder
	fmt.Fprintf(&b, "route: %s", r.Route)
	switch {
	case r.Fallback:
		b.WriteString(" (no rule matched: the rule set's fallback)")
	case len(r.Decisive) > 0:
		fmt.Fprintf(&b, " (by %s)", strings.Join(r.Decisive, ", "))
	default:
		b.WriteString(" (a rule failed to evaluate: sent to a reviewer)")
	}
	fmt.Fprintf(&b, "\nscore: %d\nrule set: %s %s\n", r.Score, r.RuleSetName, r.RuleSetVersion)
	for _, h := range r.Hits {
		mark := "no "
		switch {
		case h.Error != "":
			mark = "ERR"
		case h.Matched:
			mark = "yes"
		}
		fmt.Fprintf(&b, "  %s %-32s -> %s", mark, h.ID, h.Route)
		if h.Error != "" {
			fmt.Fprintf(&b, "  error: %s", h.Error)
		}
		b.WriteString("\n")
		for _, k := range sortedKeys(h.Inputs) {
			fmt.Fprintf(&b, "        %s = %s\n", k, formatValue(h.Inputs[k]))
		}
	}
	return b.String()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func formatValue(v any) string {
	switch v := v.(type) {
	case string:
		return strconv.Quote(v)
	case time.Time:
		if v.IsZero() {
			return "(none)"
		}
		return v.Format(time.RFC3339)
	case []string:
		q := make([]string, len(v))
		for i, s := range v {
			q[i] = strconv.Quote(s)
		}
		return "[" + strings.Join(q, ", ") + "]"
	case map[string]int:
		parts := make([]string, 0, len(v))
		for _, k := range sortedKeys(v) {
			parts = append(parts, fmt.Sprintf("%s: %d", k, v[k]))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return fmt.Sprint(v)
}
