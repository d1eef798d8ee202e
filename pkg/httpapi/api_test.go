package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/refundguard/refundguard/pkg/adjudicate"
	"github.com/refundguard/refundguard/pkg/claim"
)

func slogJSON(w io.Writer) *slog.Logger { return slog.New(slog.NewJSONHandler(w, nil)) }

func TestErrorStatusMap(t *testing.T) {
	want := map[claim.Code]int{
		claim.CodeInvalid: 422, claim.CodeUnauthenticated: 401, claim.CodeForbidden: 403, claim.CodeNotFound: 404,
		claim.CodeConflict: 409, claim.CodeTooLarge: 413, claim.CodeUnsupportedMedia: 415, claim.CodeUnavailable: 503,
		claim.CodeInternal: 500, codeMalformed: 400, codeMethodNotAllowed: 405, "no_such_code": 500,
	}
	for code, status := range want {
		t.Run(string(code), func(t *testing.T) {
			if got := statusOf(code); got != status {
				t.Errorf("statusOf(%s) = %d, want %d", code, got, status)
			}
		})
	}
}

func TestServiceErrorsBecomeProblems(t *testing.T) {
	cases := []struct {
		name       string
		err        error
		wantStatus int
		wantCode   claim.Code
		wantField  string
		wantDetail string
	}{
		{"not found", claim.Errorf(claim.CodeNotFound, "no claim c9"), 404, claim.CodeNotFound, "", "no claim c9"},
		{"invalid with field", claim.FieldError("amount", "above the order's amount"), 422, claim.CodeInvalid, "amount", "above the order's amount"},
		{"conflict", claim.Errorf(claim.CodeConflict, "claim is closed"), 409, claim.CodeConflict, "", "claim is closed"},
		{"unavailable", claim.Errorf(claim.CodeUnavailable, "database is down"), 503, claim.CodeUnavailable, "", "database is down"},
		{"internal error hides its message", claim.Wrap(errors.New("pq: password=hunter2"), claim.CodeInternal, "select failed at row 12"), 500, claim.CodeInternal, "", internalDetail},
		{"uncoded error is internal", errors.New("disk /var/lib/x full"), 500, claim.CodeInternal, "", internalDetail},
		{"unknown code is internal", &claim.Error{Code: "weird", Message: "do not show me"}, 500, claim.CodeInternal, "", internalDetail},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			svc := newFakeService()
			svc.errs["GetClaim"] = tc.err
			var logs bytes.Buffer
			api := newTestAPI(t, svc, &logs)
			rec := do(t, api, request{method: "GET", path: "/v1/claims/c9", key: "buyer-key"})
			if rec.Code != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.wantStatus, rec.Body)
			}
			p := decodeProblem(t, rec)
			if p.Code != tc.wantCode || p.Field != tc.wantField || p.Detail != tc.wantDetail {
				t.Errorf("problem %+v", p)
			}
			if p.Instance != "/v1/claims/c9" {
				t.Errorf("instance %q", p.Instance)
			}
			if tc.wantStatus == 500 {
				if strings.Contains(rec.Body.String(), "hunter2") || strings.Contains(rec.Body.String(), "/var/lib") {
					t.Errorf("500 leaks its cause: %s", rec.Body)
				}
				if !strings.Contains(logs.String(), `"level":"ERROR"`) || !strings.Contains(logs.String(), p.RequestID) {
					t.Errorf("500 cause not logged with the request id: %s", logs.String())
				}
			}
			checkSchema(t, "Problem", rec.Body.Bytes())
		})
	}
}

func TestAuthentication(t *testing.T) {
	cases := []struct {
		name       string
		header     string
		wantStatus int
	}{
		{"no header", "", 401},
		{"basic scheme", "Basic YTpi", 401},
		{"bearer without token", "Bearer ", 401},
		{"unknown key", "Bearer nope", 401},
		{"lower-case scheme", "bearer buyer-key", 200},
		{"valid key", "Bearer buyer-key", 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			api := newTestAPI(t, newFakeService(), nil)
			rec := do(t, api, request{method: "GET", path: "/v1/claims", header: map[string]string{"Authorization": tc.header}})
			if rec.Code != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.wantStatus, rec.Body)
			}
			if tc.wantStatus == 401 {
				p := decodeProblem(t, rec)
				if p.Code != claim.CodeUnauthenticated {
					t.Errorf("code %s", p.Code)
				}
				if !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("WWW-Authenticate %q", rec.Header().Get("WWW-Authenticate"))
				}
			}
		})
	}
}

func TestWrongRoleIsForbiddenBeforeAnythingElse(t *testing.T) {
	svc := newFakeService()
	api := newTestAPI(t, svc, nil)
	// A buyer posting an order with a body the route would refuse still gets 403: the role
	// check comes before the body is looked at, and the service is never asked.
	rec := do(t, api, request{method: "POST", path: "/v1/orders", key: "buyer-key", contentType: "text/plain", body: []byte("x")})
	if rec.Code != 403 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if p := decodeProblem(t, rec); p.Code != claim.CodeForbidden {
		t.Errorf("code %s", p.Code)
	}
	if c := svc.called(); len(c) != 0 {
		t.Errorf("service called: %v", c)
	}
}

func TestUnknownRoutesAndMethods(t *testing.T) {
	api := newTestAPI(t, newFakeService(), nil)
	t.Run("unknown path is a 404 problem", func(t *testing.T) {
		rec := do(t, api, request{method: "GET", path: "/v1/nothing", key: "buyer-key"})
		if rec.Code != 404 {
			t.Fatalf("status %d", rec.Code)
		}
		decodeProblem(t, rec)
	})
	t.Run("trailing slash is not redirected", func(t *testing.T) {
		rec := do(t, api, request{method: "GET", path: "/v1/claims/", key: "buyer-key"})
		if rec.Code != 404 {
			t.Fatalf("status %d", rec.Code)
		}
		decodeProblem(t, rec)
	})
	t.Run("wrong method is a 405 problem with Allow", func(t *testing.T) {
		rec := do(t, api, request{method: "PUT", path: "/v1/claims", key: "buyer-key"})
		if rec.Code != 405 {
			t.Fatalf("status %d", rec.Code)
		}
		if p := decodeProblem(t, rec); p.Code != codeMethodNotAllowed {
			t.Errorf("code %s", p.Code)
		}
		allow := strings.Split(rec.Header().Get("Allow"), ", ")
		slices.Sort(allow)
		if !slices.Equal(allow, []string{"GET", "POST"}) {
			t.Errorf("Allow %v", allow)
		}
	})
}

func TestHealthAndReadiness(t *testing.T) {
	svc := newFakeService()
	api := newTestAPI(t, svc, nil)
	if rec := do(t, api, request{method: "GET", path: "/healthz"}); rec.Code != 200 {
		t.Errorf("healthz %d", rec.Code)
	}
	rec := do(t, api, request{method: "GET", path: "/readyz"})
	if rec.Code != 200 {
		t.Errorf("readyz %d", rec.Code)
	}
	checkResponseSchema(t, "GET", "/readyz", 200, rec.Body.Bytes())

	svc.errs["Ready"] = errors.New("open /data/blobs: permission denied")
	rec = do(t, api, request{method: "GET", path: "/readyz"})
	if rec.Code != 503 {
		t.Fatalf("readyz with a failing service: %d", rec.Code)
	}
	p := decodeProblem(t, rec)
	if strings.Contains(p.Detail, "/data/blobs") || rec.Header().Get("Retry-After") == "" {
		t.Errorf("503 problem %+v, Retry-After %q", p, rec.Header().Get("Retry-After"))
	}
	// /healthz only says the process is up: it must not depend on the database.
	if rec := do(t, api, request{method: "GET", path: "/healthz"}); rec.Code != 200 {
		t.Errorf("healthz with the service down: %d", rec.Code)
	}
}

func TestPanicsBecomeLogged500s(t *testing.T) {
	svc := newFakeService()
	svc.panics["GetOrder"] = true
	var logs bytes.Buffer
	api := newTestAPI(t, svc, &logs)
	rec := do(t, api, request{method: "GET", path: "/v1/orders/o1", key: "merchant-key"})
	if rec.Code != 500 {
		t.Fatalf("status %d", rec.Code)
	}
	p := decodeProblem(t, rec)
	if strings.Contains(rec.Body.String(), "boom") {
		t.Errorf("panic value leaked: %s", rec.Body)
	}
	if !strings.Contains(logs.String(), "boom in GetOrder") || !strings.Contains(logs.String(), p.RequestID) {
		t.Errorf("panic not logged with its request id: %s", logs.String())
	}
	// The API keeps serving.
	svc.panics["GetOrder"] = false
	if rec := do(t, api, request{method: "GET", path: "/v1/orders/o1", key: "merchant-key"}); rec.Code != 200 {
		t.Errorf("after a panic: %d", rec.Code)
	}
}

func TestRequestIDs(t *testing.T) {
	var logs bytes.Buffer
	api := newTestAPI(t, newFakeService(), &logs)
	t.Run("a sane client id is kept and logged", func(t *testing.T) {
		rec := do(t, api, request{method: "GET", path: "/healthz", header: map[string]string{RequestIDHeader: "edge-42.a_b"}})
		if got := rec.Header().Get(RequestIDHeader); got != "edge-42.a_b" {
			t.Errorf("echoed %q", got)
		}
		if !strings.Contains(logs.String(), `"request_id":"edge-42.a_b"`) {
			t.Errorf("not in the access log: %s", logs.String())
		}
	})
	t.Run("a hostile client id is replaced", func(t *testing.T) {
		rec := do(t, api, request{method: "GET", path: "/healthz", header: map[string]string{RequestIDHeader: "x\" injected=1"}})
		if got := rec.Header().Get(RequestIDHeader); !validRequestID(got) || strings.Contains(got, "injected") {
			t.Errorf("id %q", got)
		}
	})
	t.Run("ids are generated and differ", func(t *testing.T) {
		a := do(t, api, request{method: "GET", path: "/healthz"}).Header().Get(RequestIDHeader)
		b := do(t, api, request{method: "GET", path: "/healthz"}).Header().Get(RequestIDHeader)
		if a == "" || a == b {
			t.Errorf("ids %q %q", a, b)
		}
	})
}

func TestAccessLogCleansClientStrings(t *testing.T) {
	var logs bytes.Buffer
	api := newTestAPI(t, newFakeService(), &logs)
	// %0a and %1b decode to a newline and an ESC in URL.Path: a forged second log line and
	// a terminal escape if they reached a text log unescaped.
	do(t, api, request{method: "GET", path: "/v1/x%0alevel=ERROR%1b[31m", key: "buyer-key"})
	var entry map[string]any
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &entry); err != nil {
		t.Fatal(err)
	}
	path, _ := entry["path"].(string)
	if strings.ContainsAny(path, "\n\x1b") || !strings.Contains(path, "?level=ERROR?[31m") {
		t.Errorf("logged path %q", path)
	}
	if entry["route"] != "unmatched" || entry["status"] != float64(404) {
		t.Errorf("entry %v", entry)
	}
}

func TestCleanForLog(t *testing.T) {
	cases := map[string]struct{ in, want string }{
		"plain":          {"order 42", "order 42"},
		"newline":        {"a\nb\r\n", "a?b??"},
		"ansi":           {"\x1b[31mred", "?[31mred"},
		"bidi override":  {"abc\u202egnp.exe", "abc?gnp.exe"},
		"invalid utf8":   {"a\xffb", "a?b"},
		"cjk kept":       {"屏幕碎了", "屏幕碎了"},
		"replacement ok": {"\uFFFD", "\uFFFD"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := cleanForLog(tc.in); got != tc.want {
				t.Errorf("cleanForLog(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
	t.Run("long strings are cut", func(t *testing.T) {
		got := cleanForLog(strings.Repeat("界", 1000))
		if len(got) > maxLogString+len("…")+4 || !strings.HasSuffix(got, "…") {
			t.Errorf("len %d", len(got))
		}
	})
}

func TestSecurityHeaders(t *testing.T) {
	api := newTestAPI(t, newFakeService(), nil)
	for _, r := range []request{
		{method: "GET", path: "/v1/claims/c1", key: "buyer-key"},
		{method: "GET", path: "/v1/claims/c1"},
		{method: "GET", path: "/nowhere"},
	} {
		rec := do(t, api, r)
		if rec.Header().Get("X-Content-Type-Options") != "nosniff" || rec.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("%s %s: headers %v", r.method, r.path, rec.Header())
		}
	}
}

func TestKeys(t *testing.T) {
	svc := newFakeService()
	api := newTestAPI(t, svc, nil)
	rec := do(t, api, jsonRequest("POST", "/v1/keys", "admin-key", `{"role":"merchant","subject":"m7"}`))
	if rec.Code != 201 {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	checkResponseSchema(t, "POST", "/v1/keys", 201, rec.Body.Bytes())
	var k keyDTO
	_ = json.Unmarshal(rec.Body.Bytes(), &k)
	if k.Secret != "rg_secret" || k.Role != claim.RoleMerchant || k.Subject != "m7" || rec.Header().Get("Location") != "/v1/keys/k9" {
		t.Errorf("key %+v", k)
	}
	rec = do(t, api, request{method: "DELETE", path: "/v1/keys/k9", key: "admin-key"})
	if rec.Code != 204 || rec.Body.Len() != 0 {
		t.Errorf("revoke: %d %s", rec.Code, rec.Body)
	}
	for _, body := range []string{`{"role":"god","subject":"x"}`, `{"role":"buyer"}`} {
		rec = do(t, api, jsonRequest("POST", "/v1/keys", "admin-key", body))
		if rec.Code != 422 {
			t.Errorf("%s: %d", body, rec.Code)
		}
	}
}

func TestOrders(t *testing.T) {
	svc := newFakeService()
	api := newTestAPI(t, svc, nil)
	body := `{"external_id":"T-1","buyer_id":"b1","amount":{"value":12900,"currency":"CNY"},
		"items":[{"sku":"SKU-1","name":"Phone","quantity":1}],"placed_at":"2026-11-01T10:00:00+08:00","shipped_at":null,"delivered_at":"2026-11-03T10:00:00Z"}`
	rec := do(t, api, jsonRequest("POST", "/v1/orders", "merchant-key", body))
	if rec.Code != 201 {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	checkResponseSchema(t, "POST", "/v1/orders", 201, rec.Body.Bytes())
	in := svc.lastIn.(adjudicate.OrderInput)
	if in.Amount != (claim.Money{Value: 12900, Currency: "CNY"}) || in.ShippedAt != nil || in.DeliveredAt == nil || in.PlacedAt.IsZero() {
		t.Errorf("service got %+v", in)
	}
	rec = do(t, api, jsonRequest("PATCH", "/v1/orders/o1", "merchant-key", `{"delivered_at":"2026-11-03T10:00:00Z"}`))
	if rec.Code != 200 {
		t.Fatalf("patch: %d %s", rec.Code, rec.Body)
	}
	if p := svc.lastIn.(adjudicate.OrderPatch); p.DeliveredAt == nil || p.ShippedAt != nil {
		t.Errorf("patch %+v", p)
	}
	rec = do(t, api, request{method: "GET", path: "/v1/orders/o1", key: "buyer-key"})
	if rec.Code != 200 {
		t.Fatalf("get: %d", rec.Code)
	}
	checkResponseSchema(t, "GET", "/v1/orders/{id}", 200, rec.Body.Bytes())
}

func TestReferenceImages(t *testing.T) {
	svc := newFakeService()
	api := newTestAPI(t, svc, nil)
	rec := do(t, api, multipartRequest(t, "POST", "/v1/orders/o1/images", "merchant-key",
		field("kind", "packing"), photo("../../etc/passwd", []byte("jpegbytes")), photo("C:\\Users\\me\\box.jpg", []byte("more"))))
	if rec.Code != 201 {
		t.Fatalf("order images: %d %s", rec.Code, rec.Body)
	}
	checkResponseSchema(t, "POST", "/v1/orders/{id}/images", 201, rec.Body.Bytes())
	ups := svc.lastIn.([]adjudicate.Upload)
	if len(ups) != 2 || ups[0].Name != "passwd" || ups[1].Name != "box.jpg" || string(ups[0].Data) != "jpegbytes" {
		t.Errorf("uploads %+v", ups)
	}
	rec = do(t, api, multipartRequest(t, "POST", "/v1/products/SKU-1/images", "merchant-key", photo("a.jpg", []byte("x"))))
	if rec.Code != 201 {
		t.Fatalf("product images: %d %s", rec.Code, rec.Body)
	}
	var imgs imagesDTO
	_ = json.Unmarshal(rec.Body.Bytes(), &imgs)
	if len(imgs.Images) != 1 || imgs.Images[0].SKU != "SKU-1" || imgs.Images[0].Kind != claim.ImageCatalog {
		t.Errorf("images %+v", imgs)
	}
	t.Run("a SKU with an encoded slash and spaces", func(t *testing.T) {
		rec := do(t, api, multipartRequest(t, "POST", "/v1/products/CASE%2FBLUE%20XL/images", "merchant-key", photo("a.jpg", []byte("x"))))
		var imgs imagesDTO
		_ = json.Unmarshal(rec.Body.Bytes(), &imgs)
		if rec.Code != 201 || imgs.Images[0].SKU != "CASE/BLUE XL" {
			t.Errorf("%d %s", rec.Code, rec.Body)
		}
	})
}

func TestLogRequestIDs(t *testing.T) {
	var buf bytes.Buffer
	h := LogRequestIDs(LogRequestIDs(slog.NewJSONHandler(&buf, nil))) // wrapping twice is harmless
	logger := slog.New(h).With("component", "service").WithGroup("g")
	api := newTestAPI(t, newFakeService(), nil)
	// A context as the handlers see it: made by the request-id middleware.
	var ctxID string
	rec := do(t, api, request{method: "GET", path: "/healthz", header: map[string]string{RequestIDHeader: "req-7"}})
	ctxID = rec.Header().Get(RequestIDHeader)
	ctx := context.WithValue(context.Background(), requestIDKey{}, ctxID)
	logger.InfoContext(ctx, "inside the service", "k", 1)
	logger.Info("no request")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines", len(lines))
	}
	if strings.Count(lines[0], `"request_id":"req-7"`) != 1 || !strings.Contains(lines[0], `"component":"service"`) {
		t.Errorf("with a request: %s", lines[0])
	}
	if strings.Contains(lines[1], "request_id") {
		t.Errorf("without a request: %s", lines[1])
	}
}
