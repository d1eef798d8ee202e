package httpapi

import (
	"archive/zip"
	"bytes"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/refundguard/refundguard/pkg/claim"
)

// inReview files a claim of amount on a fresh order and has the merchant answer it, which
// sends it to review under the default rule set; it returns the claim's id.
func (l *liveAPI) inReview(sku string, amount int64, seed int) string {
	l.t.Helper()
	o := l.createOrder("merchant", "buyer-1", sku, max(amount, 8000))
	c := l.fileClaim("buyer", o.ID, amount, synthPhoto(l.t, seed))
	if got := l.waitAnalysed(c.ID); got.Status != claim.StatusAwaitingMerchant {
		l.t.Fatalf("claim %s is %s after analysis, want awaiting_merchant", c.ID, got.Status)
	}
	l.mustJSON(l.call("merchant", "POST", "/v1/claims/"+c.ID+"/responses", formBody(l.t, field("statement", "shipped intact"))), 201, nil)
	return c.ID
}

// TestReviewAuthorizationMatrix extends TestAuthorizationMatrix to the review queue,
// decisions, appeals, buyer records, case files and rule sets.
func TestReviewAuthorizationMatrix(t *testing.T) {
	live := startLiveAPI(t)
	claimID := live.inReview("VASE-1", 8000, 3)
	var tasks taskList
	live.mustJSON(live.call("reviewer", "GET", "/v1/review/tasks", body{}), 200, &tasks)
	if len(tasks.Tasks) != 1 || tasks.Tasks[0].ClaimID != claimID {
		t.Fatalf("queue %+v", tasks)
	}
	taskID := tasks.Tasks[0].TaskID
	var draft ruleSetDTO
	live.mustJSON(live.call("admin", "POST", "/v1/rulesets", jsonBody(map[string]string{
		"yaml": "name: draft\nfallback: review\nrules:\n  - id: all\n    route: review\n    when: \"true\"\n"})), 201, &draft)
	appeal := func() body { return formBody(t, field("statement", "the decision is wrong")) }

	rows := []matrixRow{
		{"POST", "/v1/review/lease", nil, "401 403 403 200 204 403 403"},
		{"GET", "/v1/review/tasks", nil, "401 403 403 200 200 403 403"},
		{"GET", "/v1/review/tasks/" + taskID, nil, "401 403 403 200 200 403 403"},
		{"GET", "/v1/review/tasks/tsk_unknown", nil, "401 403 403 404 404 403 403"},
		{"POST", "/v1/review/tasks/" + taskID + "/heartbeat", nil, "401 403 403 200 409 403 403"},
		{"POST", "/v1/review/tasks/" + taskID + "/decision", func() body { return jsonBody(map[string]any{"outcome": "approve"}) }, "401 403 403 200 409 403 403"},
		{"GET", "/v1/buyers/buyer-1/record", nil, "401 403 403 200 200 403 403"},
		{"GET", "/v1/buyers/nobody/record", nil, "401 403 403 404 404 403 403"},
		{"POST", "/v1/buyers/buyer-1/flags", func() body { return jsonBody(map[string]string{"reason": "test flag"}) }, "401 403 403 201 201 403 403"},
		{"GET", "/v1/claims/" + claimID + "/case-file", nil, "401 403 404 200 200 200 403"},
		{"GET", "/v1/claims/clm_unknown/case-file", nil, "401 403 404 404 404 404 403"},
		// The merchant appeals the approval first; the buyer's is then one appeal too many.
		{"POST", "/v1/claims/" + claimID + "/appeal", appeal, "401 404 404 403 403 201 409"},
		{"POST", "/v1/rulesets", func() body { return jsonBody(map[string]string{"yaml": draft.YAMLText()}) }, "401 403 403 403 200 403 403"},
		{"GET", "/v1/rulesets", nil, "401 403 403 403 200 403 403"},
		{"GET", "/v1/rulesets/" + draft.ID, nil, "401 403 403 403 200 403 403"},
		{"POST", "/v1/rulesets/" + draft.ID + "/backtest", nil, "401 403 403 403 200 403 403"},
		{"POST", "/v1/rulesets/" + draft.ID + "/activate", nil, "401 403 403 403 200 403 403"},
		{"POST", "/v1/rulesets/rs_unknown/activate", nil, "401 403 403 403 404 403 403"},
	}
	runMatrix(t, live, rows)
}

// YAMLText is the stored YAML of a rule set DTO that carried it.
func (r ruleSetDTO) YAMLText() string {
	if r.YAML == nil {
		return ""
	}
	return *r.YAML
}

// TestReviewWalkthrough follows a 3,500 CNY claim from filing through the rules to two
// reviewers (four eyes) and an appeal, as the README's walkthrough does with curl, checking
// each answer against the OpenAPI schemas.
func TestReviewWalkthrough(t *testing.T) {
	live := startLiveAPI(t)
	for _, name := range []string{"bob", "carol"} {
		var k keyDTO
		live.mustJSON(live.call("admin", "POST", "/v1/keys", jsonBody(map[string]string{"role": "reviewer", "subject": name})), 201, &k)
		live.keys[name] = k.Secret
	}
	claimID := live.inReview("VASE-2", 350000, 4)

	var staffView staffClaimJSON
	live.mustJSON(live.call("reviewer", "GET", "/v1/claims/"+claimID, body{}), 200, &staffView)
	if staffView.Decision == nil || staffView.Decision.Route != "review" || staffView.Decision.DecidedBy != "rules" || len(staffView.Decision.Rules) == 0 {
		t.Fatalf("staff decision %+v", staffView.Decision)
	}

	r := live.call("reviewer", "POST", "/v1/review/lease", body{})
	checkResponseSchema(t, "POST", "/v1/review/lease", r.StatusCode, r.data)
	var task taskDTO
	live.mustJSON(r, 200, &task)
	if task.ClaimID != claimID || task.LeaseExpiresAt == nil || task.Kind != claim.TaskReview {
		t.Fatalf("leased %+v", task)
	}
	r = live.call("reviewer", "POST", "/v1/review/tasks/"+task.TaskID+"/decision", jsonBody(map[string]any{"outcome": "reject", "reason_code": "nonsense"}))
	live.problem(r, 422, claim.CodeInvalid)
	r = live.call("reviewer", "POST", "/v1/review/tasks/"+task.TaskID+"/decision",
		jsonBody(map[string]any{"outcome": "reject", "reason_code": "fabricated_evidence", "note": "painted crack"}))
	checkResponseSchema(t, "POST", "/v1/review/tasks/{id}/decision", r.StatusCode, r.data)
	var first decisionDTO
	live.mustJSON(r, 200, &first)
	if !first.Pending {
		t.Fatalf("a 3,500 CNY rejection is final at once: %+v", first)
	}
	var buyerView buyerClaim
	live.mustJSON(live.call("buyer", "GET", "/v1/claims/"+claimID, body{}), 200, &buyerView)
	if buyerView.Decision != nil || buyerView.Status != claim.StatusInReview {
		t.Fatalf("the buyer sees a pending rejection: %+v", buyerView)
	}

	r = live.call("reviewer", "POST", "/v1/review/lease", body{})
	if r.StatusCode != 204 {
		t.Fatalf("the first reviewer leased its own second review: %d %s", r.StatusCode, r.data)
	}
	var second taskDTO
	live.mustJSON(live.call("bob", "POST", "/v1/review/lease", body{}), 200, &second)
	if second.Kind != claim.TaskSecondReview || second.DecisionID != first.ID ||
		!slices.Equal(second.ExcludeReviewers, []string{"reviewer:alice"}) || second.ExcludeReviewer != "reviewer:alice" {
		t.Fatalf("second review %+v", second)
	}
	live.mustJSON(live.call("bob", "POST", "/v1/review/tasks/"+second.TaskID+"/decision",
		jsonBody(map[string]any{"outcome": "reject", "reason_code": "fabricated_evidence"})), 200, nil)
	live.mustJSON(live.call("buyer", "GET", "/v1/claims/"+claimID, body{}), 200, &buyerView)
	if buyerView.Decision == nil || buyerView.Decision.Outcome != claim.OutcomeReject || buyerView.AppealDeadline == nil {
		t.Fatalf("after confirmation the buyer sees %+v", buyerView)
	}

	r = live.call("reviewer", "GET", "/v1/buyers/buyer-1/record", body{})
	checkResponseSchema(t, "GET", "/v1/buyers/{id}/record", r.StatusCode, r.data)
	var rec buyerRecordDTO
	live.mustJSON(r, 200, &rec)
	if rec.Windows[0].RejectedFabricated != 1 || rec.Outcomes["reject"] != 1 {
		t.Fatalf("record %+v", rec)
	}

	r = live.call("buyer", "POST", "/v1/claims/"+claimID+"/appeal", formBody(t, field("statement", "the crack is real"), photo("new.png", synthPhoto(t, 9))))
	checkResponseSchema(t, "POST", "/v1/claims/{id}/appeal", r.StatusCode, r.data)
	live.mustJSON(r, 201, nil)
	// The appeal is queued once its new photo is analysed.
	var appeals taskList
	for start := time.Now(); len(appeals.Tasks) == 0 && time.Since(start) < time.Minute; time.Sleep(50 * time.Millisecond) {
		r = live.call("reviewer", "GET", "/v1/review/tasks?kind=appeal", body{})
		checkResponseSchema(t, "GET", "/v1/review/tasks", r.StatusCode, r.data)
		live.mustJSON(r, 200, &appeals)
	}
	if len(appeals.Tasks) != 1 {
		t.Fatalf("the appeal was not queued: %+v", appeals)
	}
	// Neither the reviewer who proposed the rejection nor the one who confirmed it may hear
	// the appeal: the queue has nothing for them, and a third reviewer gets it.
	for _, who := range []string{"reviewer", "bob"} {
		if r = live.call(who, "POST", "/v1/review/lease", body{}); r.StatusCode != 204 {
			t.Fatalf("%s, who took part in the decision under appeal, leased: %d %s", who, r.StatusCode, r.data)
		}
	}
	r = live.call("carol", "POST", "/v1/review/lease", body{})
	checkResponseSchema(t, "POST", "/v1/review/lease", r.StatusCode, r.data)
	var appealTask taskDTO
	live.mustJSON(r, 200, &appealTask)
	if appealTask.TaskID != appeals.Tasks[0].TaskID || appealTask.Kind != claim.TaskAppeal ||
		!slices.Equal(appealTask.ExcludeReviewers, []string{"reviewer:alice", "reviewer:bob"}) || appealTask.ExcludeReviewer != "reviewer:bob" {
		t.Fatalf("appeal task %+v", appealTask)
	}

	r = live.call("merchant", "GET", "/v1/claims/"+claimID+"/case-file", body{})
	if r.StatusCode != 200 || r.Header.Get("Content-Type") != "application/zip" || !strings.Contains(r.Header.Get("Content-Disposition"), "case-"+claimID+".zip") {
		t.Fatalf("case file: %d %v", r.StatusCode, r.Header)
	}
	zr, err := zip.NewReader(bytes.NewReader(r.data), int64(len(r.data)))
	if err != nil || zr.File[0].Name != "manifest.json" {
		t.Fatalf("case file zip: %v", err)
	}
	names := map[string]bool{}
	for _, f := range zr.File {
		names[f.Name] = true
	}
	for _, n := range []string{"claim.json", "order.json", "decisions.json", "audit.json", "appeals.json"} {
		if !names[n] {
			t.Errorf("no %s in the case file", n)
		}
	}

	r = live.call("admin", "GET", "/v1/rulesets", body{})
	checkResponseSchema(t, "GET", "/v1/rulesets", r.StatusCode, r.data)
	var sets ruleSetList
	live.mustJSON(r, 200, &sets)
	if len(sets.RuleSets) != 1 || !sets.RuleSets[0].Active || sets.RuleSets[0].Name != "default" || sets.RuleSets[0].Rules < 10 {
		t.Fatalf("rule sets %+v", sets)
	}
	r = live.call("admin", "POST", "/v1/rulesets", jsonBody(map[string]string{"yaml": "name: x\nfallback: review\nrules:\n  - id: deny\n    route: reject\n    when: claim.amout > 1\n"}))
	p := live.problem(r, 422, claim.CodeInvalid)
	if p.Field != "yaml" || !strings.Contains(p.Detail, `rule "deny"`) || !strings.Contains(p.Detail, "claim.amout") {
		t.Fatalf("refusal %+v", p)
	}
	r = live.call("admin", "POST", "/v1/rulesets/"+sets.RuleSets[0].ID+"/backtest", body{})
	checkResponseSchema(t, "POST", "/v1/rulesets/{id}/backtest", r.StatusCode, r.data)
	var rep map[string]any
	live.mustJSON(r, 200, &rep)
	if rep["records"].(float64) < 1 {
		t.Fatalf("backtest %v", rep)
	}
}

// TestAppealWindowOverHTTP: POST /v1/claims/{id}/appeal is accepted until the appeal window
// (15 days from the ruling) ends and is a 409 conflict problem after it.
func TestAppealWindowOverHTTP(t *testing.T) {
	live := startLiveAPI(t)
	const window = 15 * 24 * time.Hour
	for i, tc := range []struct {
		name   string
		after  time.Duration // from the ruling to the appeal
		status int
	}{
		{"a second before the window closes", window - time.Second, 201},
		{"a second after the window closed", window + time.Second, 409},
	} {
		t.Run(tc.name, func(t *testing.T) {
			live := live.as(t)
			claimID := live.inReview("VASE-W"+strconv.Itoa(i), 8000, 20+i)
			var task taskDTO
			live.mustJSON(live.call("reviewer", "POST", "/v1/review/lease", body{}), 200, &task)
			if task.ClaimID != claimID {
				t.Fatalf("leased %+v, want the task of %s", task, claimID)
			}
			live.mustJSON(live.call("reviewer", "POST", "/v1/review/tasks/"+task.TaskID+"/decision",
				jsonBody(map[string]any{"outcome": "reject", "reason_code": "damage_not_shown"})), 200, nil)
			var decided buyerClaim
			live.mustJSON(live.call("buyer", "GET", "/v1/claims/"+claimID, body{}), 200, &decided)
			if decided.AppealDeadline == nil {
				t.Fatalf("no appeal deadline: %+v", decided)
			}
			live.clock.Advance(tc.after)
			r := live.call("buyer", "POST", "/v1/claims/"+claimID+"/appeal", formBody(t, field("statement", "the crack is real")))
			checkResponseSchema(t, "POST", "/v1/claims/{id}/appeal", r.StatusCode, r.data)
			if tc.status == 201 {
				live.mustJSON(r, 201, nil)
				return
			}
			if p := live.problem(r, 409, claim.CodeConflict); !strings.Contains(p.Detail, "appeal window closed") {
				t.Fatalf("refusal %+v", p)
			}
			var after buyerClaim
			live.mustJSON(live.call("buyer", "GET", "/v1/claims/"+claimID, body{}), 200, &after)
			if after.Status != claim.StatusRejected {
				t.Fatalf("a refused appeal moved the claim to %s", after.Status)
			}
		})
	}
}
