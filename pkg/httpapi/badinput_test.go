package httpapi

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/refundguard/refundguard/pkg/claim"
)

// TestBadInputIsRefusedAtTheEdge covers the input the HTTP layer refuses by itself: each
// case gets a problem with the right status, code and field, and the service is never
// called, so nothing can have changed. (Refusals that need the database, such as an
// unknown order or an amount above the order's, are in the end-to-end tests.)
func TestBadInputIsRefusedAtTheEdge(t *testing.T) {
	big := bytes.Repeat([]byte("x"), int(testLimits.MaxPhotoBytes)+1)
	tooMany := claimForm(photo("2.jpg", []byte("x")), photo("3.jpg", []byte("x")), photo("4.jpg", []byte("x")))
	without := func(name string) []formPart {
		var out []formPart
		for _, p := range claimForm() {
			if p.name != name {
				out = append(out, p)
			}
		}
		return out
	}
	with := func(name, value string) []formPart {
		out := without(name)
		return append(out, field(name, value))
	}
	order := `{"external_id":"T-1","buyer_id":"b1","amount":{"value":100,"currency":"CNY"},"items":[{"sku":"S","name":"n","quantity":1}],"placed_at":"2026-11-01T10:00:00Z"}`
	replace := func(old, new string) string { return strings.Replace(order, old, new, 1) }

	cases := []struct {
		name       string
		req        request
		wantStatus int
		wantCode   claim.Code
		wantField  string
	}{
		// JSON bodies.
		{"order as form data", request{method: "POST", path: "/v1/orders", key: "merchant-key", contentType: "application/x-www-form-urlencoded", body: []byte("a=b")}, 415, claim.CodeUnsupportedMedia, ""},
		{"order without content type", request{method: "POST", path: "/v1/orders", key: "merchant-key", body: []byte(order)}, 415, claim.CodeUnsupportedMedia, ""},
		{"order not JSON", jsonRequest("POST", "/v1/orders", "merchant-key", `{"external_id":`), 400, codeMalformed, ""},
		{"order empty body", jsonRequest("POST", "/v1/orders", "merchant-key", ``), 400, codeMalformed, ""},
		{"order is an array", jsonRequest("POST", "/v1/orders", "merchant-key", `[1]`), 400, codeMalformed, ""},
		{"two JSON values", jsonRequest("POST", "/v1/orders", "merchant-key", order+order), 400, codeMalformed, ""},
		{"unknown order field", jsonRequest("POST", "/v1/orders", "merchant-key", replace(`"buyer_id"`, `"deliverd_at":"x","buyer_id"`)), 422, claim.CodeInvalid, "deliverd_at"},
		{"amount as a float string", jsonRequest("POST", "/v1/orders", "merchant-key", replace(`"value":100`, `"value":"1.00"`)), 422, claim.CodeInvalid, "amount.value"},
		{"fractional amount", jsonRequest("POST", "/v1/orders", "merchant-key", replace(`"value":100`, `"value":1.5`)), 422, claim.CodeInvalid, "amount.value"},
		{"negative amount", jsonRequest("POST", "/v1/orders", "merchant-key", replace(`"value":100`, `"value":-1`)), 422, claim.CodeInvalid, "amount.value"},
		{"zero amount", jsonRequest("POST", "/v1/orders", "merchant-key", replace(`"value":100`, `"value":0`)), 422, claim.CodeInvalid, "amount.value"},
		{"bad currency", jsonRequest("POST", "/v1/orders", "merchant-key", replace(`"CNY"`, `"yuan"`)), 422, claim.CodeInvalid, "amount.currency"},
		{"missing amount", jsonRequest("POST", "/v1/orders", "merchant-key", replace(`"amount":{"value":100,"currency":"CNY"},`, ``)), 422, claim.CodeInvalid, "amount"},
		{"missing buyer", jsonRequest("POST", "/v1/orders", "merchant-key", replace(`"buyer_id":"b1",`, ``)), 422, claim.CodeInvalid, "buyer_id"},
		{"missing external id", jsonRequest("POST", "/v1/orders", "merchant-key", replace(`"external_id":"T-1",`, ``)), 422, claim.CodeInvalid, "external_id"},
		{"missing placed_at", jsonRequest("POST", "/v1/orders", "merchant-key", replace(`,"placed_at":"2026-11-01T10:00:00Z"`, ``)), 422, claim.CodeInvalid, "placed_at"},
		{"bad time", jsonRequest("POST", "/v1/orders", "merchant-key", replace(`2026-11-01T10:00:00Z`, `yesterday`)), 422, claim.CodeInvalid, ""},
		{"no items", jsonRequest("POST", "/v1/orders", "merchant-key", replace(`[{"sku":"S","name":"n","quantity":1}]`, `[]`)), 422, claim.CodeInvalid, "items"},
		{"item without sku", jsonRequest("POST", "/v1/orders", "merchant-key", replace(`"sku":"S"`, `"sku":""`)), 422, claim.CodeInvalid, "items[0].sku"},
		{"item quantity zero", jsonRequest("POST", "/v1/orders", "merchant-key", replace(`"quantity":1`, `"quantity":0`)), 422, claim.CodeInvalid, "items[0].quantity"},
		{"oversized JSON", jsonRequest("POST", "/v1/orders", "merchant-key", replace(`"T-1"`, `"`+strings.Repeat("x", int(testLimits.MaxJSONBytes))+`"`)), 413, claim.CodeTooLarge, ""},
		{"empty patch", jsonRequest("PATCH", "/v1/orders/o1", "merchant-key", `{}`), 422, claim.CodeInvalid, "shipped_at"},
		{"key with unknown role", jsonRequest("POST", "/v1/keys", "admin-key", `{"role":"root","subject":"x"}`), 422, claim.CodeInvalid, "role"},

		// Multipart bodies.
		{"claim as JSON", jsonRequest("POST", "/v1/claims", "buyer-key", `{"order_id":"o1"}`), 415, claim.CodeUnsupportedMedia, ""},
		{"multipart without boundary", request{method: "POST", path: "/v1/claims", key: "buyer-key", contentType: "multipart/form-data", body: []byte("x")}, 400, codeMalformed, ""},
		{"truncated multipart", func() request {
			r := multipartRequest(t, "POST", "/v1/claims", "buyer-key", claimForm()...)
			r.body = r.body[:len(r.body)-20]
			return r
		}(), 400, codeMalformed, ""},
		{"missing order_id", multipartRequest(t, "POST", "/v1/claims", "buyer-key", without("order_id")...), 422, claim.CodeInvalid, "order_id"},
		{"missing reason", multipartRequest(t, "POST", "/v1/claims", "buyer-key", without("reason")...), 422, claim.CodeInvalid, "reason"},
		{"missing amount", multipartRequest(t, "POST", "/v1/claims", "buyer-key", without("amount")...), 422, claim.CodeInvalid, "amount"},
		{"missing refund_type", multipartRequest(t, "POST", "/v1/claims", "buyer-key", without("refund_type")...), 422, claim.CodeInvalid, "refund_type"},
		{"no photos", multipartRequest(t, "POST", "/v1/claims", "buyer-key", without("photos")...), 422, claim.CodeInvalid, "photos"},
		{"unknown reason", multipartRequest(t, "POST", "/v1/claims", "buyer-key", with("reason", "changed_my_mind")...), 422, claim.CodeInvalid, "reason"},
		{"unknown refund type", multipartRequest(t, "POST", "/v1/claims", "buyer-key", with("refund_type", "store_credit")...), 422, claim.CodeInvalid, "refund_type"},
		{"amount in yuan", multipartRequest(t, "POST", "/v1/claims", "buyer-key", with("amount", "129.00")...), 422, claim.CodeInvalid, "amount"},
		{"negative amount", multipartRequest(t, "POST", "/v1/claims", "buyer-key", with("amount", "-5")...), 422, claim.CodeInvalid, "amount"},
		{"field given twice", multipartRequest(t, "POST", "/v1/claims", "buyer-key", append(claimForm(), field("reason", "defective"))...), 422, claim.CodeInvalid, "reason"},
		{"unknown field", multipartRequest(t, "POST", "/v1/claims", "buyer-key", append(claimForm(), field("approved", "yes"))...), 422, claim.CodeInvalid, "approved"},
		{"file under another name", multipartRequest(t, "POST", "/v1/claims", "buyer-key", append(claimForm(), formPart{name: "photo", filename: "a.jpg", data: []byte("x")})...), 422, claim.CodeInvalid, "photo"},
		{"too many photos", multipartRequest(t, "POST", "/v1/claims", "buyer-key", tooMany...), 422, claim.CodeInvalid, "photos"},
		{"photo over the byte limit", multipartRequest(t, "POST", "/v1/claims", "buyer-key", append(without("photos"), photo("big.jpg", big))...), 413, claim.CodeTooLarge, "photos[0]"},
		{"empty photo", multipartRequest(t, "POST", "/v1/claims", "buyer-key", append(without("photos"), photo("empty.jpg", nil))...), 422, claim.CodeInvalid, "photos[0]"},
		{"text field over its limit", multipartRequest(t, "POST", "/v1/claims", "buyer-key", with("description", strings.Repeat("长", 100))...), 413, claim.CodeTooLarge, "description"},
		{"declared length over the upload limit", request{method: "POST", path: "/v1/claims", key: "buyer-key", contentType: "multipart/form-data; boundary=x", body: bytes.Repeat([]byte("y"), int(testLimits.MaxUploadBytes)+1)}, 413, claim.CodeTooLarge, ""},
		{"bad idempotency key", func() request {
			r := multipartRequest(t, "POST", "/v1/claims", "buyer-key", claimForm()...)
			r.header = map[string]string{"Idempotency-Key": "has spaces"}
			return r
		}(), 422, claim.CodeInvalid, "Idempotency-Key"},
		{"images without kind", multipartRequest(t, "POST", "/v1/orders/o1/images", "merchant-key", photo("a.jpg", []byte("x"))), 422, claim.CodeInvalid, "kind"},
		{"images of unknown kind", multipartRequest(t, "POST", "/v1/orders/o1/images", "merchant-key", field("kind", "selfie"), photo("a.jpg", []byte("x"))), 422, claim.CodeInvalid, "kind"},
		{"product images without photos", multipartRequest(t, "POST", "/v1/products/S/images", "merchant-key"), 422, claim.CodeInvalid, "photos"},
		{"response without statement", multipartRequest(t, "POST", "/v1/claims/c1/responses", "merchant-key", photo("a.jpg", []byte("x"))), 422, claim.CodeInvalid, "statement"},
		{"evidence without photos", multipartRequest(t, "POST", "/v1/claims/c1/evidence", "buyer-key"), 422, claim.CodeInvalid, "photos"},
		{"a body sent to withdraw", request{method: "POST", path: "/v1/claims/c1/withdraw", key: "buyer-key", contentType: "application/json", body: bytes.Repeat([]byte(" "), noBodyLimit+1)}, 413, claim.CodeTooLarge, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			svc := newFakeService()
			api := newTestAPI(t, svc, nil)
			rec := do(t, api, tc.req)
			if rec.Code != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.wantStatus, rec.Body)
			}
			p := decodeProblem(t, rec)
			if p.Code != tc.wantCode || p.Field != tc.wantField {
				t.Errorf("code %s field %q, want %s %q (%s)", p.Code, p.Field, tc.wantCode, tc.wantField, p.Detail)
			}
			if c := svc.called(); len(c) != 0 {
				t.Errorf("the service was called: %v", c)
			}
		})
	}
}

// TestBodyLimitStopsAStream shows the MaxBytesReader cuts a body that lied about (or did
// not declare) its length, mid-photo, with a 413.
func TestBodyLimitStopsAStream(t *testing.T) {
	svc := newFakeService()
	api := New(Options{Service: svc, Limits: Limits{MaxPhotos: 3, MaxPhotoBytes: 1 << 20, MaxUploadBytes: 4 << 10}})
	r := multipartRequest(t, "POST", "/v1/claims", "buyer-key", append(claimForm()[:5], photo("big.jpg", bytes.Repeat([]byte("z"), 64<<10)))...)
	req := request{method: r.method, path: r.path, key: r.key, contentType: r.contentType, body: r.body}
	rec := doChunked(t, api, req)
	if rec.Code != 413 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if p := decodeProblem(t, rec); p.Code != claim.CodeTooLarge {
		t.Errorf("problem %+v", p)
	}
	if c := svc.called(); len(c) != 0 {
		t.Errorf("the service was called: %v", c)
	}
}

// TestUploadMemoryBudget: uploads reserve their size from a shared budget, so a burst of
// large uploads waits instead of holding more photo bytes in memory than the operator
// allowed; each goes through once the one before it is done.
func TestUploadMemoryBudget(t *testing.T) {
	svc := newFakeService()
	release := make(chan struct{})
	svc.block["AddProductImages"] = release
	r := multipartRequest(t, "POST", "/v1/products/S/images", "merchant-key", photo("a.jpg", bytes.Repeat([]byte("x"), 3000)))
	size := int64(len(r.body))
	api := New(Options{Service: svc, Limits: Limits{MaxPhotoBytes: 4096, MaxUploadBytes: 2 * size, UploadMemory: size + size/2}})

	done := make(chan int, 2)
	go func() { done <- do(t, api, r).Code }()
	// The first upload is inside the service (blocked there) holding its reservation.
	for deadline := time.Now().Add(10 * time.Second); len(svc.called()) == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the first upload never reached the service")
		}
	}
	go func() { done <- do(t, api, r).Code }()
	select {
	case code := <-done:
		t.Fatalf("the second upload finished (%d) while the first held the budget", code)
	case <-time.After(200 * time.Millisecond):
	}
	if n := len(svc.called()); n != 1 {
		t.Fatalf("%d service calls while the budget was spent", n)
	}
	close(release)
	for range 2 {
		if code := <-done; code != 201 {
			t.Errorf("status %d", code)
		}
	}
}
