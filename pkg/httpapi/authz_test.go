package httpapi

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/refundguard/refundguard/pkg/claim"
)

// matrixParties is the column order of TestAuthorizationMatrix's expectations. "buyer" and
// "merchant" own the resources; "other-buyer" and "other-merchant" are strangers to them.
// Owners come last in each row, so a row that changes something (withdrawing, say) runs
// every refusal first.
var matrixParties = []string{"", "other-buyer", "other-merchant", "reviewer", "admin", "merchant", "buyer"}

// matrixRow is one endpoint of an authorization matrix: how to call it and the status each
// of matrixParties must get, in order.
type matrixRow struct {
	method, path string
	body         func() body // nil: no body
	want         string      // statuses for: none other-buyer other-merchant reviewer admin merchant buyer
}

// runMatrix calls every row as every party, in order, each call a subtest: the status must
// be the row's, and every error must come as problem JSON.
func runMatrix(t *testing.T, live *liveAPI, rows []matrixRow) {
	t.Helper()
	for _, row := range rows {
		want := strings.Fields(row.want)
		if len(want) != len(matrixParties) {
			t.Fatalf("%s %s: %d expectations", row.method, row.path, len(want))
		}
		for i, party := range matrixParties {
			name := party
			if name == "" {
				name = "no key"
			}
			t.Run(row.method+" "+row.path+" as "+name, func(t *testing.T) {
				live := live.as(t)
				var b body
				if row.body != nil {
					b = row.body()
				}
				r := live.call(party, row.method, row.path, b)
				if got := strconv.Itoa(r.StatusCode); got != want[i] {
					t.Fatalf("status %s, want %s: %s", got, want[i], r.data)
				}
				if r.StatusCode >= 400 && r.Header.Get("Content-Type") != "application/problem+json" {
					t.Errorf("a %d without problem JSON: %s", r.StatusCode, r.data)
				}
			})
		}
	}
}

// TestAuthorizationMatrix calls every endpoint as every role, on resources that belong to
// the caller and to someone else, through the real router, service and SQLite: 401 without
// a key, 403 for a role the endpoint does not serve, 404 for what the caller may not see
// (exactly as if it did not exist), and success or a lifecycle answer for the owner.
func TestAuthorizationMatrix(t *testing.T) {
	live := startLiveAPI(t)
	photoA, photoB := synthPhoto(t, 1), synthPhoto(t, 2)

	order := live.createOrder("merchant", "buyer-1", "MUG-1", 8000)
	spare := live.createOrder("merchant", "buyer-1", "MUG-2", 8000)
	c := live.fileClaim("buyer", order.ID, 8000, photoA)
	analysed := live.waitAnalysed(c.ID)
	evidenceID := analysed.Evidence[0].ID
	// The owner's answers depend on where the rules sent the claim: more photos are taken
	// only when it asks for them, and a heatmap exists only when an edit was found.
	moreEvidence := "409"
	if analysed.Status == claim.StatusAwaitingBuyerEvidence {
		moreEvidence = "201"
	}
	heatmap := "404"
	if analysed.Evidence[0].HeatmapURL != "" {
		heatmap = "200"
	}
	var throwaway keyDTO
	live.mustJSON(live.call("admin", "POST", "/v1/keys", jsonBody(map[string]string{"role": "buyer", "subject": "temp"})), 201, &throwaway)

	delivered := order.DeliveredAt.Format(time.RFC3339)
	rows := []matrixRow{
		{"POST", "/v1/keys", func() body { return jsonBody(map[string]string{"role": "buyer", "subject": "x"}) }, "401 403 403 403 201 403 403"},
		{"DELETE", "/v1/keys/" + throwaway.ID, nil, "401 403 403 403 204 403 403"},
		{"DELETE", "/v1/keys/key_unknown", nil, "401 403 403 403 404 403 403"},

		{"POST", "/v1/orders", func() body {
			return jsonBody(map[string]any{"external_id": "X-" + strconv.FormatInt(time.Now().UnixNano(), 36), "buyer_id": "buyer-1",
				"amount": map[string]any{"value": 100, "currency": "CNY"}, "items": []map[string]any{{"sku": "S", "name": "n", "quantity": 1}},
				"placed_at": time.Now().Add(-time.Hour).UTC()})
		}, "401 403 201 403 403 201 403"},
		{"GET", "/v1/orders/" + order.ID, nil, "401 404 404 200 200 200 200"},
		{"GET", "/v1/orders/ord_unknown", nil, "401 404 404 404 404 404 404"},
		{"PATCH", "/v1/orders/" + order.ID, func() body { return jsonBody(map[string]string{"delivered_at": delivered}) }, "401 403 404 403 403 200 403"},
		{"POST", "/v1/orders/" + order.ID + "/images", func() body { return formBody(t, field("kind", "packing"), photo("p.png", photoB)) }, "401 403 404 403 403 201 403"},
		{"POST", "/v1/products/MUG-1/images", func() body { return formBody(t, photo("c.png", photoB)) }, "401 403 201 403 403 201 403"},

		{"POST", "/v1/claims", func() body {
			return formBody(t, field("order_id", spare.ID), field("reason", "defective"), field("amount", "100"), field("refund_type", "refund_only"), photo("a.png", photoB))
		}, "401 404 403 403 403 403 201"},
		{"GET", "/v1/claims", nil, "401 200 200 200 200 200 200"},
		{"GET", "/v1/claims/" + c.ID, nil, "401 404 404 200 200 200 200"},
		{"GET", "/v1/claims/clm_unknown", nil, "401 404 404 404 404 404 404"},
		{"POST", "/v1/claims/" + c.ID + "/responses", func() body { return formBody(t, field("statement", "shipped intact")) }, "401 403 404 403 403 201 403"},
		{"POST", "/v1/claims/" + c.ID + "/evidence", func() body { return formBody(t, photo("more.png", photoB)) }, "401 404 403 403 403 403 " + moreEvidence},

		{"GET", "/v1/evidence/" + evidenceID + "/content", nil, "401 404 404 200 200 200 200"},
		{"GET", "/v1/evidence/evd_unknown/content", nil, "401 404 404 404 404 404 404"},
		{"GET", "/v1/evidence/" + evidenceID + "/heatmap", nil, fmt.Sprintf("401 403 404 %[1]s %[1]s %[1]s 403", heatmap)},

		{"POST", "/v1/claims/" + c.ID + "/withdraw", nil, "401 404 403 403 403 403 200"},
		{"POST", "/v1/claims/" + c.ID + "/withdraw", nil, "401 404 403 403 403 403 409"},
	}
	runMatrix(t, live, rows)

	t.Run("each role lists only its own claims", func(t *testing.T) {
		live := live.as(t)
		count := func(party string) int {
			var page claimList[map[string]any]
			live.mustJSON(live.call(party, "GET", "/v1/claims", body{}), 200, &page)
			return len(page.Claims)
		}
		if n := count("buyer"); n != 2 {
			t.Errorf("buyer sees %d claims, want 2", n)
		}
		if n := count("merchant"); n != 2 {
			t.Errorf("merchant sees %d claims, want 2", n)
		}
		if n := count("other-buyer") + count("other-merchant"); n != 0 {
			t.Errorf("strangers see %d claims", n)
		}
		if n := count("reviewer"); n != 2 {
			t.Errorf("reviewer sees %d claims, want 2", n)
		}
	})
	t.Run("a revoked key stops working", func(t *testing.T) {
		live := live.as(t)
		var k keyDTO
		live.mustJSON(live.call("admin", "POST", "/v1/keys", jsonBody(map[string]string{"role": "merchant", "subject": "gone"})), 201, &k)
		live.keys["gone"] = k.Secret
		live.mustJSON(live.call("gone", "GET", "/v1/claims", body{}), 200, nil)
		live.mustJSON(live.call("admin", "DELETE", "/v1/keys/"+k.ID, body{}), 204, nil)
		live.problem(live.call("gone", "GET", "/v1/claims", body{}), 401, "unauthenticated")
	})
}
