package rules

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

// TestBacktest replays testdata/history.jsonl (12 claims; see testdata/README.md) through
// the default policy. Every expected figure was worked out by hand from the table there.
func TestBacktest(t *testing.T) {
	f, err := os.Open("testdata/history.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	records, err := ReadHistory(f)
	if err != nil {
		t.Fatal(err)
	}
	s, err := LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Backtest(s, records)
	if err != nil {
		t.Fatal(err)
	}

	if rep.Records != 12 || rep.Decided != 11 || rep.Changed != 3 || rep.RuleErrors != 0 {
		t.Errorf("records %d decided %d changed %d errors %d, want 12 11 3 0", rep.Records, rep.Decided, rep.Changed, rep.RuleErrors)
	}
	wantChanges := []RouteChange{
		{RouteApprove, RouteApprove, 3},
		{RouteApprove, RouteReview, 1},
		{RouteRequestEvidence, RouteRequestEvidence, 1},
		{RouteAwaitMerchant, RouteAwaitMerchant, 1},
		{RouteReview, RouteApprove, 1},
		{RouteReview, RouteReview, 4},
		{RouteReview, RouteReviewPriority, 1},
	}
	if !reflect.DeepEqual(rep.Changes, wantChanges) {
		t.Errorf("changes %v\nwant    %v", rep.Changes, wantChanges)
	}

	checkAgreement := func(t *testing.T, got ReviewAgreement, tp, fp, fn, tn int, precision, recall float64, fabMissed int, matrix [][]int) {
		t.Helper()
		if got.TruePositives != tp || got.FalsePositives != fp || got.FalseNegatives != fn || got.TrueNegatives != tn {
			t.Errorf("TP %d FP %d FN %d TN %d, want %d %d %d %d", got.TruePositives, got.FalsePositives, got.FalseNegatives, got.TrueNegatives, tp, fp, fn, tn)
		}
		if got.Precision == nil || got.Recall == nil {
			t.Fatalf("precision %v recall %v undefined", got.Precision, got.Recall)
		}
		if !near(*got.Precision, precision) || !near(*got.Recall, recall) {
			t.Errorf("precision %.4f recall %.4f, want %.4f %.4f", *got.Precision, *got.Recall, precision, recall)
		}
		if got.FabricatedNotReviewed != fabMissed {
			t.Errorf("fabricated not reviewed %d, want %d", got.FabricatedNotReviewed, fabMissed)
		}
		if !reflect.DeepEqual(got.Confusion.Counts, matrix) {
			t.Errorf("confusion %v\nwant      %v", got.Confusion.Counts, matrix)
		}
	}
	t.Run("routes actually taken", func(t *testing.T) {
		checkAgreement(t, rep.Actual, 2, 4, 2, 3, 2.0/6, 2.0/4, 1, [][]int{
			// approve partial reject
			{2, 0, 2}, // approve
			{1, 0, 0}, // request_evidence
			{0, 0, 0}, // await_merchant
			{2, 2, 2}, // review
			{0, 0, 0}, // review_priority
		})
	})
	t.Run("routes of the draft", func(t *testing.T) {
		checkAgreement(t, rep.Draft, 3, 3, 1, 4, 3.0/6, 3.0/4, 0, [][]int{
			{2, 1, 1},
			{1, 0, 0},
			{0, 0, 0},
			{2, 1, 2},
			{0, 0, 1},
		})
		if rep.Draft.Confusion.Count(RouteReviewPriority, OutcomeReject) != 1 {
			t.Error("Count(review_priority, reject) != 1")
		}
	})
}

func near(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }

func TestBacktestUndefinedRatios(t *testing.T) {
	s := mustCompile(t, set("  - {id: all, when: 'true', route: approve}\n"))
	rep, err := Backtest(s, []HistoryRecord{{ClaimID: "a", Route: RouteApprove, Outcome: OutcomeApprove}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Draft.Precision != nil || rep.Draft.Recall != nil {
		t.Errorf("precision %v recall %v: nothing sent to review and nothing rejected, both undefined", rep.Draft.Precision, rep.Draft.Recall)
	}
	if _, err := Backtest(s, []HistoryRecord{{ClaimID: "bad", Route: "reject"}}); err == nil || !strings.Contains(err.Error(), `record 1: claim "bad": unknown route "reject"`) {
		t.Errorf("invalid record: err = %v", err)
	}
}

func TestReadHistoryRefuses(t *testing.T) {
	tests := []struct {
		name, input, want string
	}{
		{"unknown field", `{"claim_id":"a","route":"review","verdict":"reject"}`, "history line 1: json: unknown field \"verdict\""},
		{"unknown route", "\n" + `{"claim_id":"a","route":"escalate"}`, `history line 2: claim "a": unknown route "escalate"`},
		{"unknown outcome", `{"claim_id":"a","route":"review","outcome":"denied"}`, `history line 1: claim "a": unknown outcome "denied"`},
		{"fabricated without rejection", `{"claim_id":"a","route":"review","outcome":"approve","fabricated":true}`, `fabricated is only meaningful with outcome reject`},
		{"unknown fact", `{"claim_id":"a","route":"review","facts":{"claim":{"amout":1}}}`, `history line 1: json: unknown field "amout"`},
		{"two values on a line", `{"claim_id":"a","route":"review"} {}`, "history line 1: more than one JSON value"},
		{"not JSON", `claim_id=a`, "history line 1: invalid character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadHistory(strings.NewReader(tt.input))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func FuzzReadHistory(f *testing.F) {
	if b, err := os.ReadFile("testdata/history.jsonl"); err == nil {
		f.Add(string(b))
	}
	f.Add(`{"claim_id":"a","route":"review","outcome":"reject","fabricated":true}`)
	f.Add(`{"claim_id":"a","route":"approve","facts":{"evidence":{"code_counts":{"x":1}}}}` + "\n\n")
	s, err := LoadDefault()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, input string) {
		records, err := ReadHistory(strings.NewReader(input))
		if err != nil {
			return
		}
		// Whatever parses must backtest without error or panic.
		if _, err := Backtest(s, records); err != nil {
			t.Fatalf("ReadHistory accepted what Backtest refuses: %v", err)
		}
	})
}
