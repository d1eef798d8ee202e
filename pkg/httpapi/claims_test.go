package httpapi

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/refundguard/refundguard/pkg/adjudicate"
	"github.com/refundguard/refundguard/pkg/claim"
)

// forensicKeys are JSON members that would tell a buyer what the analysis saw. None may
// appear anywhere in a buyer's response.
var forensicKeys = []string{
	"findings", "risk", "hashes", "pdq", "phash", "dhash", "sha256", "report", "metadata", "regions",
	"confidence", "distance", "transform", "changed_fraction", "rules", "route", "decided_by", "note",
	"timeline", "heatmap_url", "content_url", "rule_set_version", "responses", "merchant_id",
}

// jsonKeys lists every object member name anywhere in a JSON document.
func jsonKeys(t *testing.T, body []byte) map[string]bool {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	keys := map[string]bool{}
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				keys[k] = true
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(v)
	return keys
}

func claimForm(extra ...formPart) []formPart {
	return append([]formPart{
		field("order_id", "o1"), field("reason", "damaged"), field("description", "屏幕碎了"),
		field("amount", "12900"), field("refund_type", "refund_only"), photo("crack.jpg", []byte("jpeg")),
	}, extra...)
}

func TestFileClaim(t *testing.T) {
	svc := newFakeService()
	api := newTestAPI(t, svc, nil)
	r := multipartRequest(t, "POST", "/v1/claims", "buyer-key", claimForm(photo("second.jpg", []byte("jpeg2")))...)
	r.header = map[string]string{"Idempotency-Key": "2b5f0c9e-retry-1"}
	rec := do(t, api, r)
	if rec.Code != 201 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	checkResponseSchema(t, "POST", "/v1/claims", 201, rec.Body.Bytes())
	in := svc.lastIn.(adjudicate.ClaimInput)
	want := adjudicate.ClaimInput{OrderID: "o1", Reason: claim.ReasonDamaged, Description: "屏幕碎了", Amount: 12900, RefundType: claim.RefundOnly, IdempotencyKey: "2b5f0c9e-retry-1"}
	got := in
	got.Photos = nil
	if !reflect.DeepEqual(got, want) || len(in.Photos) != 2 || in.Photos[1].Name != "second.jpg" {
		t.Errorf("service got %+v", in)
	}
	var body map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &body)
	if body["id"] != "c1" || body["status"] != "analyzing" || rec.Header().Get("Location") != "/v1/claims/c1" {
		t.Errorf("body %s, Location %q", rec.Body, rec.Header().Get("Location"))
	}
	if rec.Header().Get("Idempotent-Replayed") != "" {
		t.Error("first response marked as a replay")
	}
	for _, k := range forensicKeys {
		if jsonKeys(t, rec.Body.Bytes())[k] {
			t.Errorf("creation response carries %q", k)
		}
	}
}

func TestIdempotentReplayAnswersLikeTheFirstTime(t *testing.T) {
	svc := newFakeService()
	api := newTestAPI(t, svc, nil)
	// The first filing: the claim as accepted, with its one photo.
	first := sampleDetails()
	first.Claim.Status = claim.StatusAnalyzing
	first.Evidence = first.Evidence[:1]
	svc.details = first
	r := multipartRequest(t, "POST", "/v1/claims", "buyer-key", claimForm()...)
	r.header = map[string]string{"Idempotency-Key": "k-1"}
	rec1 := do(t, api, r)

	// The replay comes after analysis, a merchant response and more evidence: the service
	// returns the claim as it is now, with Replayed set.
	later := sampleDetails()
	later.Claim.UpdatedAt = later.Claim.UpdatedAt.Add(72 * time.Hour)
	later.Evidence = append(later.Evidence, claim.Evidence{ID: "e3", Source: claim.SourceBuyer, CreatedAt: testTime.Add(2 * time.Hour)})
	later.Replayed = true
	svc.details = later
	rec2 := do(t, api, r)

	if rec1.Code != 201 || rec2.Code != 201 {
		t.Fatalf("statuses %d %d", rec1.Code, rec2.Code)
	}
	if !bytes.Equal(rec1.Body.Bytes(), rec2.Body.Bytes()) {
		t.Errorf("replay differs:\nfirst  %s\nreplay %s", rec1.Body, rec2.Body)
	}
	if rec2.Header().Get("Idempotent-Replayed") != "true" {
		t.Error("replay not marked")
	}

	t.Run("the same key for another request is a conflict", func(t *testing.T) {
		svc.errs["FileClaim"] = claim.Errorf(claim.CodeConflict, "this Idempotency-Key was used for a different request")
		rec := do(t, api, r)
		if rec.Code != 409 {
			t.Fatalf("status %d", rec.Code)
		}
		if p := decodeProblem(t, rec); p.Code != claim.CodeConflict {
			t.Errorf("problem %+v", p)
		}
	})
}

func TestClaimViewsByRole(t *testing.T) {
	svc := newFakeService()
	api := newTestAPI(t, svc, nil)
	get := func(key string) []byte {
		rec := do(t, api, request{method: "GET", path: "/v1/claims/c1", key: key})
		if rec.Code != 200 {
			t.Fatalf("%s: %d %s", key, rec.Code, rec.Body)
		}
		checkResponseSchema(t, "GET", "/v1/claims/{id}", 200, rec.Body.Bytes())
		return rec.Body.Bytes()
	}

	t.Run("buyers see no forensic detail", func(t *testing.T) {
		body := get("buyer-key")
		checkSchema(t, "BuyerClaim", body)
		keys := jsonKeys(t, body)
		for _, k := range forensicKeys {
			if keys[k] {
				t.Errorf("buyer's claim carries %q: %s", k, body)
			}
		}
		for _, leak := range []string{"localized_edit", "reference_match", "iPhone", "00ff", "stolen_photo", "e2", "we shipped"} {
			if bytes.Contains(body, []byte(leak)) {
				t.Errorf("buyer's claim mentions %q", leak)
			}
		}
		var c buyerClaim
		_ = json.Unmarshal(body, &c)
		if len(c.Evidence) != 1 || c.Evidence[0].ID != "e1" || c.Status != claim.StatusInReview {
			t.Errorf("buyer view %+v", c)
		}
	})

	t.Run("merchants see finding codes and severities only", func(t *testing.T) {
		body := get("merchant-key")
		checkSchema(t, "MerchantClaim", body)
		keys := jsonKeys(t, body)
		for _, k := range []string{"risk", "hashes", "sha256", "report", "metadata", "regions", "confidence", "distance", "rules", "timeline", "decided_by"} {
			if keys[k] {
				t.Errorf("merchant's claim carries %q", k)
			}
		}
		var c merchantClaim
		_ = json.Unmarshal(body, &c)
		want := []findingSummary{{"reference_match", "high"}, {"localized_edit", "high"}}
		if len(c.Evidence) != 2 || !slices.Equal(c.Evidence[0].Findings, want) || c.Evidence[0].HeatmapURL != "/v1/evidence/e1/heatmap" {
			t.Errorf("merchant evidence %+v", c.Evidence)
		}
		if c.Evidence[1].Analyzed || len(c.Evidence[1].Findings) != 0 {
			t.Errorf("unanalysed photo shown as analysed: %+v", c.Evidence[1])
		}
		if len(c.Responses) != 1 || c.Responses[0].Statement != "we shipped it intact" {
			t.Errorf("responses %+v", c.Responses)
		}
	})

	for _, key := range []string{"reviewer-key", "admin-key"} {
		t.Run(key+" sees everything", func(t *testing.T) {
			body := get(key)
			checkSchema(t, "StaffClaim", body)
			var c struct {
				Risk     int `json:"risk"`
				Evidence []struct {
					Findings []map[string]any `json:"findings"`
					Report   map[string]any   `json:"report"`
					Hashes   claim.Hashes     `json:"hashes"`
				} `json:"evidence"`
				Decision struct {
					Route     string          `json:"route"`
					Rules     []claim.RuleHit `json:"rules"`
					DecidedBy string          `json:"decided_by"`
				} `json:"decision"`
				Timeline []auditEventDTO `json:"timeline"`
				Order    orderDTO        `json:"order"`
			}
			if err := json.Unmarshal(body, &c); err != nil {
				t.Fatal(err)
			}
			ev := c.Evidence[0]
			if c.Risk != 87 || len(ev.Findings) != 2 || ev.Findings[1]["code"] != "localized_edit" || ev.Findings[1]["regions"] == nil {
				t.Errorf("staff evidence %+v", ev)
			}
			if ev.Report["metadata"] == nil || ev.Hashes.PDQ != "00ff" {
				t.Errorf("full report missing: %+v", ev.Report)
			}
			if c.Decision.Route != "review_priority" || len(c.Decision.Rules) != 1 || c.Decision.DecidedBy != "rules" {
				t.Errorf("decision %+v", c.Decision)
			}
			if len(c.Timeline) != 1 || c.Timeline[0].Action != "claim.filed" || c.Order.ExternalID != "T-1" {
				t.Errorf("timeline %+v order %+v", c.Timeline, c.Order)
			}
			if c.Evidence[1].Report != nil {
				t.Errorf("unanalysed photo has a report: %+v", c.Evidence[1])
			}
		})
	}
}

func TestListClaimsByRole(t *testing.T) {
	svc := newFakeService()
	api := newTestAPI(t, svc, nil)
	for _, tc := range []struct {
		key, schema string
		hasRisk     bool
	}{
		{"buyer-key", "BuyerClaimSummary", false},
		{"merchant-key", "MerchantClaimSummary", false},
		{"reviewer-key", "StaffClaimSummary", true},
	} {
		t.Run(tc.key, func(t *testing.T) {
			rec := do(t, api, request{method: "GET", path: "/v1/claims?status=in_review&cursor=abc&limit=10", key: tc.key})
			if rec.Code != 200 {
				t.Fatalf("%d %s", rec.Code, rec.Body)
			}
			checkResponseSchema(t, "GET", "/v1/claims", 200, rec.Body.Bytes())
			var page struct {
				Claims     []json.RawMessage `json:"claims"`
				NextCursor string            `json:"next_cursor"`
			}
			_ = json.Unmarshal(rec.Body.Bytes(), &page)
			if len(page.Claims) != 1 || page.NextCursor != "next" {
				t.Fatalf("page %s", rec.Body)
			}
			checkSchema(t, tc.schema, page.Claims[0])
			if jsonKeys(t, page.Claims[0])["risk"] != tc.hasRisk {
				t.Errorf("risk shown=%v", !tc.hasRisk)
			}
			f := svc.lastIn.(adjudicate.ClaimFilter)
			if f.Status != claim.StatusInReview || f.Cursor != "abc" || f.Limit != 10 {
				t.Errorf("filter %+v", f)
			}
		})
	}
	for _, q := range []string{"status=lost", "limit=0", "limit=201", "limit=ten"} {
		t.Run("refuses "+q, func(t *testing.T) {
			rec := do(t, api, request{method: "GET", path: "/v1/claims?" + q, key: "buyer-key"})
			if rec.Code != 422 {
				t.Fatalf("%d %s", rec.Code, rec.Body)
			}
			decodeProblem(t, rec)
		})
	}
}

func TestClaimFollowUps(t *testing.T) {
	svc := newFakeService()
	api := newTestAPI(t, svc, nil)

	rec := do(t, api, multipartRequest(t, "POST", "/v1/claims/c1/responses", "merchant-key", field("statement", "sealed box, see photo"), photo("box.jpg", []byte("x"))))
	if rec.Code != 201 {
		t.Fatalf("respond: %d %s", rec.Code, rec.Body)
	}
	checkResponseSchema(t, "POST", "/v1/claims/{id}/responses", 201, rec.Body.Bytes())

	rec = do(t, api, multipartRequest(t, "POST", "/v1/claims/c1/evidence", "buyer-key", photo("more.jpg", []byte("x"))))
	if rec.Code != 201 {
		t.Fatalf("evidence: %d %s", rec.Code, rec.Body)
	}
	checkResponseSchema(t, "POST", "/v1/claims/{id}/evidence", 201, rec.Body.Bytes())
	if keys := jsonKeys(t, rec.Body.Bytes()); keys["sha256"] || keys["hashes"] {
		t.Errorf("buyer's evidence response leaks hashes: %s", rec.Body)
	}

	rec = do(t, api, request{method: "POST", path: "/v1/claims/c1/withdraw", key: "buyer-key"})
	if rec.Code != 200 {
		t.Fatalf("withdraw: %d %s", rec.Code, rec.Body)
	}
	checkResponseSchema(t, "POST", "/v1/claims/{id}/withdraw", 200, rec.Body.Bytes())

	svc.errs["WithdrawClaim"] = claim.Errorf(claim.CodeConflict, "the claim is already decided")
	if rec := do(t, api, request{method: "POST", path: "/v1/claims/c1/withdraw", key: "buyer-key"}); rec.Code != 409 {
		t.Errorf("withdraw of a decided claim: %d", rec.Code)
	}
}

func TestEvidenceStreaming(t *testing.T) {
	svc := newFakeService()
	svc.content = adjudicate.Content{ContentType: "image/png", Size: 9, SHA256: "feedface"}
	api := newTestAPI(t, svc, nil)
	for _, path := range []string{"/v1/evidence/e1/content", "/v1/evidence/e1/heatmap"} {
		t.Run(path, func(t *testing.T) {
			rec := do(t, api, request{method: "GET", path: path, key: "reviewer-key"})
			if rec.Code != 200 || rec.Body.String() != "\x89PNG fake" {
				t.Fatalf("%d %q", rec.Code, rec.Body)
			}
			h := rec.Header()
			if h.Get("Content-Type") != "image/png" || h.Get("ETag") != `"feedface"` || h.Get("X-Content-Type-Options") != "nosniff" ||
				h.Get("Content-Length") != "9" || !strings.Contains(h.Get("Content-Security-Policy"), "sandbox") || h.Get("Cache-Control") != "private, no-cache" {
				t.Errorf("headers %v", h)
			}
			if got := svc.lastIn.(bool); got != strings.HasSuffix(path, "heatmap") {
				t.Errorf("heatmap=%v", got)
			}
		})
	}
	t.Run("If-None-Match answers 304", func(t *testing.T) {
		rec := do(t, api, request{method: "GET", path: "/v1/evidence/e1/content", key: "merchant-key", header: map[string]string{"If-None-Match": `"other", W/"feedface"`}})
		if rec.Code != 304 || rec.Body.Len() != 0 {
			t.Errorf("%d %q", rec.Code, rec.Body)
		}
	})
	t.Run("a non-image type is declared opaque", func(t *testing.T) {
		svc.content.ContentType = "text/html"
		rec := do(t, api, request{method: "GET", path: "/v1/evidence/e1/content", key: "reviewer-key"})
		if ct := rec.Header().Get("Content-Type"); ct != "application/octet-stream" {
			t.Errorf("Content-Type %q", ct)
		}
	})
	t.Run("buyers may not fetch heatmaps", func(t *testing.T) {
		rec := do(t, api, request{method: "GET", path: "/v1/evidence/e1/heatmap", key: "buyer-key"})
		if rec.Code != 403 {
			t.Errorf("%d", rec.Code)
		}
	})
	t.Run("a photo the service hides is 404", func(t *testing.T) {
		svc.errs["EvidenceContent"] = claim.Errorf(claim.CodeNotFound, "no evidence e1")
		rec := do(t, api, request{method: "GET", path: "/v1/evidence/e1/content", key: "merchant-key"})
		if rec.Code != 404 {
			t.Errorf("%d", rec.Code)
		}
		decodeProblem(t, rec)
	})
}

func TestMetrics(t *testing.T) {
	svc := newFakeService()
	api := newTestAPI(t, svc, nil)
	do(t, api, request{method: "GET", path: "/v1/claims/c1", key: "reviewer-key"})
	do(t, api, request{method: "GET", path: "/v1/claims/c2", key: "reviewer-key"})
	do(t, api, request{method: "GET", path: "/no/such/thing/" + strings.Repeat("x", 50)})
	do(t, api, request{method: "BREW", path: "/v1/claims"})

	rec := do(t, api, request{method: "GET", path: "/metrics"})
	if rec.Code != 200 {
		t.Fatalf("%d", rec.Code)
	}
	text := rec.Body.String()
	for _, want := range []string{
		`refundguard_http_request_duration_seconds_count{method="GET",route="/v1/claims/{id}",status="200"} 2`,
		`refundguard_http_request_duration_seconds_count{method="GET",route="unmatched",status="404"} 1`,
		`refundguard_http_request_duration_seconds_count{method="OTHER",route="unmatched",status="405"} 1`,
		`refundguard_http_request_duration_seconds_bucket{method="GET",route="/v1/claims/{id}",status="200",le="60"} 2`,
		`refundguard_claims{status="in_review"} 5`,
		`refundguard_claims{status="analyzing"} 2`,
		`refundguard_analysis_queue_depth 3`,
		`refundguard_service_stats_up 1`,
		`go_goroutines`,
		`process_cpu_seconds_total`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(text, "xxxxx") {
		t.Error("a raw path became a label")
	}

	t.Run("a failing service still yields a scrape", func(t *testing.T) {
		svc.errs["Stats"] = claim.Errorf(claim.CodeUnavailable, "db down")
		rec := do(t, api, request{method: "GET", path: "/metrics"})
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), "refundguard_service_stats_up 0") {
			t.Errorf("%d %s", rec.Code, rec.Body)
		}
	})
}

func TestRouteTableIsWellFormed(t *testing.T) {
	// A route listed twice would make Gin panic at start; a /v1 route without roles would
	// be open to anyone with no key at all.
	api := newTestAPI(t, newFakeService(), nil)
	seen := map[string]bool{}
	for _, r := range api.routes {
		k := r.method + " " + r.path
		if seen[k] {
			t.Errorf("duplicate route %s", k)
		}
		seen[k] = true
		if r.roles != nil && len(r.roles) == 0 {
			t.Errorf("%s: an empty role list locks everyone out", k)
		}
		if strings.HasPrefix(r.path, "/v1/") && r.roles == nil {
			t.Errorf("%s is public", k)
		}
	}
}

func TestAnalysisMetrics(t *testing.T) {
	reg := NewRegistry()
	obs := NewAnalysisMetrics(reg)
	api := New(Options{Service: newFakeService(), Registry: reg})
	obs.AnalysisFinished("done", 1500*time.Millisecond)
	obs.AnalysisFinished("done", 300*time.Millisecond)
	obs.AnalysisFinished("retry", 10*time.Millisecond)
	text := do(t, api, request{method: "GET", path: "/metrics"}).Body.String()
	for _, want := range []string{
		`refundguard_analysis_duration_seconds_count{outcome="done"} 2`,
		`refundguard_analysis_duration_seconds_bucket{outcome="done",le="0.5"} 1`,
		`refundguard_analysis_duration_seconds_sum{outcome="retry"} 0.01`,
		`go_goroutines`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
