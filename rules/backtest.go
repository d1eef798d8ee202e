package rules

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// HistoryRecord is one past claim replayed by a backtest: the facts it was routed on, the
// route it actually took, and how it finally ended.
type HistoryRecord struct {
	ClaimID string `json:"claim_id"`
	Facts   Facts  `json:"facts"`
	// Route is the route the claim actually took (under the rule set then in force).
	Route Route `json:"route"`
	// Outcome is the final decision: approve, partial or reject. Empty while the claim is
	// open; such records count in route changes but not in agreement figures.
	Outcome Outcome `json:"outcome,omitempty"`
	// Fabricated is set when the rejection was for fabricated evidence.
	Fabricated bool `json:"fabricated,omitempty"`
}

// RouteChange counts records that move from one route to another under the draft.
type RouteChange struct {
	From  Route `json:"from"`
	To    Route `json:"to"`
	Count int   `json:"count"`
}

// ConfusionMatrix counts decided records by route (rows, least to most severe) and final
// outcome (columns: approve, partial, reject).
type ConfusionMatrix struct {
	Routes   []Route   `json:"routes"`
	Outcomes []Outcome `json:"outcomes"`
	Counts   [][]int   `json:"counts"` // Counts[route][outcome]
}

// Count returns the number of decided records with the route and outcome.
func (m ConfusionMatrix) Count(r Route, o Outcome) int {
	return m.Counts[r.Severity()-1][o.index()]
}

func newConfusionMatrix() ConfusionMatrix {
	m := ConfusionMatrix{Routes: Routes(), Outcomes: Outcomes(), Counts: make([][]int, len(routeOrder))}
	for i := range m.Counts {
		m.Counts[i] = make([]int, len(outcomeOrder))
	}
	return m
}

// ReviewAgreement measures "sent to review" (review or review_priority) as a detector of
// claims reviewers went on to reject, over decided records.
type ReviewAgreement struct {
	Confusion ConfusionMatrix `json:"confusion"`
	// Sent to review and rejected / sent to review but approved in full or part /
	// rejected but not sent to review / neither.
	TruePositives  int `json:"true_positives"`
	FalsePositives int `json:"false_positives"`
	FalseNegatives int `json:"false_negatives"`
	TrueNegatives  int `json:"true_negatives"`
	// Precision = TP / (TP + FP): of the claims sent to review, the share rejected.
	// Recall = TP / (TP + FN): of the rejected claims, the share sent to review.
	// Nil when the denominator is zero.
	Precision *float64 `json:"precision"`
	Recall    *float64 `json:"recall"`
	// FabricatedNotReviewed counts claims rejected as fabricated that the routes would not
	// have put in front of a reviewer: the figure a draft must keep at zero.
	FabricatedNotReviewed int `json:"fabricated_not_reviewed"`
}

// BacktestReport compares a draft rule set with what happened.
type BacktestReport struct {
	RuleSetName    string `json:"rule_set_name"`
	RuleSetVersion string `json:"rule_set_version"`
	Records        int    `json:"records"`
	Decided        int    `json:"decided"` // records with a final outcome
	Changed        int    `json:"changed"` // records the draft routes differently
	// RuleErrors counts records on which some rule failed at run time.
	RuleErrors int `json:"rule_errors"`
	// Changes counts every (actual route -> draft route) pair that occurs, unchanged pairs
	// included, ordered by route severity.
	Changes []RouteChange `json:"changes"`
	// Actual measures the routes the claims really took; Draft the routes the draft gives.
	Actual ReviewAgreement `json:"actual"`
	Draft  ReviewAgreement `json:"draft"`
}

// Backtest replays history through a draft set. It is pure computation over records the
// caller loads (ReadHistory for JSON lines, or the service's store); it fails only on a
// record that does not Validate, naming it.
func Backtest(set *RuleSet, records []HistoryRecord) (BacktestReport, error) {
	for i, rec := range records {
		if err := rec.Validate(); err != nil {
			return BacktestReport{}, fmt.Errorf("backtest: record %d: %w", i+1, err)
		}
	}
	rep := BacktestReport{RuleSetName: set.Name, RuleSetVersion: set.Version, Records: len(records)}
	changes := map[[2]Route]int{}
	actual, draft := newAgreement(), newAgreement()
	for _, rec := range records {
		res := set.Evaluate(rec.Facts)
		for _, h := range res.Hits {
			if h.Error != "" {
				rep.RuleErrors++
				break
			}
		}
		changes[[2]Route{rec.Route, res.Route}]++
		if rec.Route != res.Route {
			rep.Changed++
		}
		if rec.Outcome == "" {
			continue
		}
		rep.Decided++
		actual.add(rec.Route, rec)
		draft.add(res.Route, rec)
	}
	for _, from := range routeOrder {
		for _, to := range routeOrder {
			if n := changes[[2]Route{from, to}]; n > 0 {
				rep.Changes = append(rep.Changes, RouteChange{From: from, To: to, Count: n})
			}
		}
	}
	rep.Actual, rep.Draft = actual.finish(), draft.finish()
	return rep, nil
}

func newAgreement() *ReviewAgreement {
	return &ReviewAgreement{Confusion: newConfusionMatrix()}
}

func (a *ReviewAgreement) add(route Route, rec HistoryRecord) {
	a.Confusion.Counts[route.Severity()-1][rec.Outcome.index()]++
	rejected := rec.Outcome == OutcomeReject
	switch {
	case route.ToReview() && rejected:
		a.TruePositives++
	case route.ToReview():
		a.FalsePositives++
	case rejected:
		a.FalseNegatives++
	default:
		a.TrueNegatives++
	}
	if rejected && rec.Fabricated && !route.ToReview() {
		a.FabricatedNotReviewed++
	}
}

func (a *ReviewAgreement) finish() ReviewAgreement {
	a.Precision = ratio(a.TruePositives, a.TruePositives+a.FalsePositives)
	a.Recall = ratio(a.TruePositives, a.TruePositives+a.FalseNegatives)
	return *a
}

func ratio(num, den int) *float64 {
	if den == 0 {
		return nil
	}
	r := float64(num) / float64(den)
	return &r
}

// maxHistoryLine bounds one JSON line of history (a record is a few kilobytes).
const maxHistoryLine = 1 << 20

// ReadHistory parses JSON lines of HistoryRecord, one claim per line; blank lines are
// skipped. Unknown fields, routes and outcomes are refused with the line number, since a
// silently dropped record would skew the figures.
func ReadHistory(r io.Reader) ([]HistoryRecord, error) {
	var out []HistoryRecord
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), maxHistoryLine)
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var rec HistoryRecord
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&rec); err != nil {
			return nil, fmt.Errorf("history line %d: %w", line, err)
		}
		if dec.More() {
			return nil, fmt.Errorf("history line %d: more than one JSON value", line)
		}
		if err := rec.Validate(); err != nil {
			return nil, fmt.Errorf("history line %d: %w", line, err)
		}
		out = append(out, rec)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("history line %d: longer than %d bytes", line+1, maxHistoryLine)
		}
		return nil, fmt.Errorf("history: %w", err)
	}
	return out, nil
}

// Validate reports whether the record can be backtested: a known route, and a known
// outcome or none. The service should call it on records it builds itself.
func (rec HistoryRecord) Validate() error {
	if !rec.Route.Valid() {
		return fmt.Errorf("claim %q: unknown route %q (%s)", rec.ClaimID, rec.Route, routeList())
	}
	if rec.Outcome != "" && !rec.Outcome.valid() {
		return fmt.Errorf("claim %q: unknown outcome %q (approve, partial, reject, or empty while open)", rec.ClaimID, rec.Outcome)
	}
	if rec.Fabricated && rec.Outcome != OutcomeReject {
		return fmt.Errorf("claim %q: fabricated is only meaningful with outcome reject", rec.ClaimID)
	}
	return nil
}
