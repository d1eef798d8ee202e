package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/refundguard/refundguard/pkg/adjudicate"
	"github.com/refundguard/refundguard/pkg/claim"
)

// The real service satisfies both contracts; this keeps httpapi.Service a subset of it.
var _ Service = adjudicate.Transport(nil)

// fakeService stands in for the claims service in the handler unit tests: it knows a few
// keys, returns canned data, records which methods ran (so tests can show bad input never
// reached the service) and returns an injected error or panics when told to. The end to
// end tests use the real service and SQLite instead.
type fakeService struct {
	mu      sync.Mutex
	keys    map[string]claim.Principal
	calls   []string
	errs    map[string]error
	panics  map[string]bool
	block   map[string]chan struct{} // a method waits for its channel to close
	details adjudicate.ClaimDetails
	content adjudicate.Content
	stats   adjudicate.Stats
	lastIn  any
}

var testTime = time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)

func newFakeService() *fakeService {
	return &fakeService{
		keys: map[string]claim.Principal{
			"buyer-key":    {KeyID: "k1", Role: claim.RoleBuyer, Subject: "b1"},
			"merchant-key": {KeyID: "k2", Role: claim.RoleMerchant, Subject: "m1"},
			"reviewer-key": {KeyID: "k3", Role: claim.RoleReviewer, Subject: "alice"},
			"admin-key":    {KeyID: "k4", Role: claim.RoleAdmin, Subject: "root"},
		},
		errs:    map[string]error{},
		panics:  map[string]bool{},
		block:   map[string]chan struct{}{},
		details: sampleDetails(),
		stats: adjudicate.Stats{
			ClaimsByStatus: map[claim.Status]int64{claim.StatusAnalyzing: 2, claim.StatusInReview: 5},
			QueueDepth:     3,
		},
	}
}

// sampleReport is a per-evidence report in the shape of DESIGN.md §2.
const sampleReport = `{"file":"crack.jpg","sha256":"abc","format":"jpeg","width":640,"height":480,
 "hashes":{"pdq":"00ff","pdq_quality":90,"phash":"aa","dhash":"bb"},
 "metadata":{"make":"Apple","model":"iPhone 13"},
 "findings":[
  {"code":"reference_match","severity":"high","confidence":0.97,"message":"same shot as the merchant's photo","reference":"img1","distance":12,"transform":"identity"},
  {"code":"localized_edit","severity":"high","confidence":0.9,"message":"painted region","reference":"img1","regions":[{"x":120,"y":80,"w":300,"h":140}],"changed_fraction":0.04}],
 "risk":87}`

func sampleDetails() adjudicate.ClaimDetails {
	shipped := testTime.Add(-48 * time.Hour)
	deadline := testTime.Add(48 * time.Hour)
	return adjudicate.ClaimDetails{
		Claim: claim.Claim{
			ID: "c1", OrderID: "o1", BuyerID: "b1", MerchantID: "m1", Reason: claim.ReasonDamaged,
			Description: "cracked screen", Amount: claim.Money{Value: 12900, Currency: "CNY"},
			RefundType: claim.RefundOnly, Status: claim.StatusInReview, Risk: 87,
			MerchantDeadline: &deadline, CreatedAt: testTime, UpdatedAt: testTime.Add(time.Minute),
		},
		Order: claim.Order{
			ID: "o1", ExternalID: "T-1", MerchantID: "m1", BuyerID: "b1",
			Amount: claim.Money{Value: 12900, Currency: "CNY"}, Items: []claim.Item{{SKU: "SKU-1", Name: "Phone", Quantity: 1}},
			PlacedAt: testTime.Add(-72 * time.Hour), ShippedAt: &shipped, CreatedAt: testTime.Add(-72 * time.Hour),
		},
		Evidence: []claim.Evidence{
			{ID: "e1", ClaimID: "c1", Source: claim.SourceBuyer, SHA256: "abc", Format: "jpeg", Width: 640, Height: 480, Size: 1000,
				Hashes: claim.Hashes{PDQ: "00ff", PDQQuality: 90, PHash: "aa", DHash: "bb"}, Report: json.RawMessage(sampleReport),
				HeatmapSHA: "def", Risk: 87, CreatedAt: testTime},
			{ID: "e2", ClaimID: "c1", Source: claim.SourceMerchant, SHA256: "123", Format: "png", Width: 10, Height: 10, Size: 99, CreatedAt: testTime.Add(time.Hour)},
		},
		Decisions: []claim.Decision{{
			ID: "d1", ClaimID: "c1", Route: claim.RouteReviewPriority, RuleSetVersion: "v1", DecidedBy: "rules", CreatedAt: testTime,
			Rules: []claim.RuleHit{{ID: "stolen_photo", Matched: true, Route: claim.RouteReviewPriority, Inputs: map[string]any{"reference_match": true}}},
		}},
		Responses: []claim.Response{{ID: "r1", ClaimID: "c1", MerchantID: "m1", Statement: "we shipped it intact", EvidenceIDs: []string{"e2"}, CreatedAt: testTime}},
		Timeline: []claim.AuditEvent{{Seq: 1, Time: testTime, Actor: "buyer:b1", Action: "claim.filed", Entity: "claim", EntityID: "c1",
			After: json.RawMessage(`{"status":"analyzing"}`), PrevHash: "00", Hash: "11"}},
	}
}

func (f *fakeService) enter(method string, in any) error {
	f.mu.Lock()
	wait := f.block[method]
	f.mu.Unlock()
	if wait != nil {
		defer func() { <-wait }()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, method)
	if in != nil {
		f.lastIn = in
	}
	if f.panics[method] {
		panic("boom in " + method)
	}
	return f.errs[method]
}

// called reports the service methods that ran, other than Authenticate.
func (f *fakeService) called() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls {
		if c != "Authenticate" {
			out = append(out, c)
		}
	}
	return out
}

func (f *fakeService) Authenticate(ctx context.Context, secret string) (claim.Principal, error) {
	if err := f.enter("Authenticate", nil); err != nil {
		return claim.Principal{}, err
	}
	p, ok := f.keys[secret]
	if !ok {
		return claim.Principal{}, claim.Errorf(claim.CodeUnauthenticated, "unknown or revoked key")
	}
	return p, nil
}

func (f *fakeService) CreateKey(ctx context.Context, by claim.Principal, role claim.Role, subject string) (claim.APIKey, string, error) {
	if err := f.enter("CreateKey", subject); err != nil {
		return claim.APIKey{}, "", err
	}
	return claim.APIKey{ID: "k9", Role: role, Subject: subject, CreatedAt: testTime}, "rg_secret", nil
}

func (f *fakeService) RevokeKey(ctx context.Context, by claim.Principal, id string) error {
	return f.enter("RevokeKey", id)
}

func (f *fakeService) CreateOrder(ctx context.Context, p claim.Principal, in adjudicate.OrderInput) (claim.Order, error) {
	if err := f.enter("CreateOrder", in); err != nil {
		return claim.Order{}, err
	}
	o := f.details.Order
	o.ExternalID, o.BuyerID, o.Amount, o.Items, o.PlacedAt = in.ExternalID, in.BuyerID, in.Amount, in.Items, in.PlacedAt
	return o, nil
}

func (f *fakeService) UpdateOrder(ctx context.Context, p claim.Principal, id string, patch adjudicate.OrderPatch) (claim.Order, error) {
	if err := f.enter("UpdateOrder", patch); err != nil {
		return claim.Order{}, err
	}
	return f.details.Order, nil
}

func (f *fakeService) GetOrder(ctx context.Context, p claim.Principal, id string) (claim.Order, error) {
	if err := f.enter("GetOrder", id); err != nil {
		return claim.Order{}, err
	}
	return f.details.Order, nil
}

func (f *fakeService) images(kind claim.ImageKind, photos []adjudicate.Upload) []claim.ReferenceImage {
	out := make([]claim.ReferenceImage, len(photos))
	for i := range photos {
		out[i] = claim.ReferenceImage{ID: "img" + string(rune('1'+i)), Kind: kind, MerchantID: "m1", SHA256: "ab", Format: "jpeg",
			Width: 1, Height: 1, Size: int64(len(photos[i].Data)), Hashes: claim.Hashes{PDQ: "00"}, CreatedAt: testTime}
	}
	return out
}

func (f *fakeService) AddOrderImages(ctx context.Context, p claim.Principal, orderID string, kind claim.ImageKind, photos []adjudicate.Upload) ([]claim.ReferenceImage, error) {
	if err := f.enter("AddOrderImages", photos); err != nil {
		return nil, err
	}
	imgs := f.images(kind, photos)
	for i := range imgs {
		imgs[i].OrderID = orderID
	}
	return imgs, nil
}

func (f *fakeService) AddProductImages(ctx context.Context, p claim.Principal, sku string, photos []adjudicate.Upload) ([]claim.ReferenceImage, error) {
	if err := f.enter("AddProductImages", photos); err != nil {
		return nil, err
	}
	imgs := f.images(claim.ImageCatalog, photos)
	for i := range imgs {
		imgs[i].SKU = sku
	}
	return imgs, nil
}

func (f *fakeService) FileClaim(ctx context.Context, p claim.Principal, in adjudicate.ClaimInput) (adjudicate.ClaimDetails, error) {
	if err := f.enter("FileClaim", in); err != nil {
		return adjudicate.ClaimDetails{}, err
	}
	return f.details, nil
}

func (f *fakeService) GetClaim(ctx context.Context, p claim.Principal, id string) (adjudicate.ClaimDetails, error) {
	if err := f.enter("GetClaim", id); err != nil {
		return adjudicate.ClaimDetails{}, err
	}
	return f.details, nil
}

func (f *fakeService) ListClaims(ctx context.Context, p claim.Principal, flt adjudicate.ClaimFilter) (adjudicate.ClaimPage, error) {
	if err := f.enter("ListClaims", flt); err != nil {
		return adjudicate.ClaimPage{}, err
	}
	return adjudicate.ClaimPage{Claims: []claim.Claim{f.details.Claim}, NextCursor: "next"}, nil
}

func (f *fakeService) RespondToClaim(ctx context.Context, p claim.Principal, claimID, statement string, photos []adjudicate.Upload) (claim.Response, error) {
	if err := f.enter("RespondToClaim", photos); err != nil {
		return claim.Response{}, err
	}
	return claim.Response{ID: "r2", ClaimID: claimID, MerchantID: p.Subject, Statement: statement, CreatedAt: testTime}, nil
}

func (f *fakeService) AddEvidence(ctx context.Context, p claim.Principal, claimID string, photos []adjudicate.Upload) ([]claim.Evidence, error) {
	if err := f.enter("AddEvidence", photos); err != nil {
		return nil, err
	}
	out := make([]claim.Evidence, len(photos))
	for i := range photos {
		out[i] = claim.Evidence{ID: "e9", ClaimID: claimID, Source: claim.SourceBuyer, SHA256: "secret-hash", Hashes: claim.Hashes{PDQ: "ff"}, CreatedAt: testTime}
	}
	return out, nil
}

func (f *fakeService) WithdrawClaim(ctx context.Context, p claim.Principal, claimID string) (claim.Claim, error) {
	if err := f.enter("WithdrawClaim", claimID); err != nil {
		return claim.Claim{}, err
	}
	c := f.details.Claim
	c.Status = claim.StatusWithdrawn
	return c, nil
}

func (f *fakeService) EvidenceContent(ctx context.Context, p claim.Principal, evidenceID string, heatmap bool) (adjudicate.Content, error) {
	if err := f.enter("EvidenceContent", heatmap); err != nil {
		return adjudicate.Content{}, err
	}
	c := f.content
	c.Body = io.NopCloser(strings.NewReader("\x89PNG fake"))
	return c, nil
}

func (f *fakeService) Ready(ctx context.Context) error { return f.enter("Ready", nil) }

func (f *fakeService) Stats(ctx context.Context) (adjudicate.Stats, error) {
	if err := f.enter("Stats", nil); err != nil {
		return adjudicate.Stats{}, err
	}
	return f.stats, nil
}

// ---- request helpers ----

// testLimits are small so the limit tests need no megabytes.
var testLimits = Limits{MaxPhotos: 3, MaxPhotoBytes: 1 << 10, MaxFieldBytes: 256, MaxJSONBytes: 2 << 10, MaxUploadBytes: 8 << 10}

func newTestAPI(t *testing.T, svc Service, logs io.Writer) *API {
	t.Helper()
	if logs == nil {
		logs = io.Discard
	}
	return New(Options{Service: svc, Logger: slogJSON(logs), Limits: testLimits})
}

type request struct {
	method, path, key string
	contentType       string
	body              []byte
	header            map[string]string
}

func do(t *testing.T, h http.Handler, r request) *httptest.ResponseRecorder {
	t.Helper()
	return serve(h, r, httptest.NewRequest(r.method, r.path, bytes.NewReader(r.body)))
}

// doChunked sends the body without a declared length, as a chunked upload would.
func doChunked(t *testing.T, h http.Handler, r request) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(r.method, r.path, io.NopCloser(bytes.NewReader(r.body)))
	req.ContentLength = -1
	return serve(h, r, req)
}

func serve(h http.Handler, r request, req *http.Request) *httptest.ResponseRecorder {
	if r.key != "" {
		req.Header.Set("Authorization", "Bearer "+r.key)
	}
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// formPart is one part of a multipart body: a text field, or a file when filename is set.
type formPart struct {
	name, filename string
	data           []byte
}

func field(name, value string) formPart { return formPart{name: name, data: []byte(value)} }
func photo(filename string, data []byte) formPart {
	return formPart{name: "photos", filename: filename, data: data}
}

// multipartBody encodes parts and returns the body and its Content-Type.
func multipartBody(t testing.TB, parts ...formPart) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, p := range parts {
		var (
			pw  io.Writer
			err error
		)
		if p.filename != "" {
			h := textproto.MIMEHeader{}
			h.Set("Content-Disposition", `form-data; name="`+p.name+`"; filename="`+p.filename+`"`)
			h.Set("Content-Type", "application/octet-stream")
			pw, err = w.CreatePart(h)
		} else {
			pw, err = w.CreateFormField(p.name)
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pw.Write(p.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), w.FormDataContentType()
}

func multipartRequest(t testing.TB, method, path, key string, parts ...formPart) request {
	body, ct := multipartBody(t, parts...)
	return request{method: method, path: path, key: key, contentType: ct, body: body}
}

func jsonRequest(method, path, key, body string) request {
	return request{method: method, path: path, key: key, contentType: "application/json", body: []byte(body)}
}

// decodeProblem checks the response is RFC 9457 problem JSON and returns it.
func decodeProblem(t *testing.T, rec *httptest.ResponseRecorder) Problem {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type = %q, want application/problem+json; body %s", ct, rec.Body)
	}
	var p Problem
	dec := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("problem body %s: %v", rec.Body, err)
	}
	if p.Status != rec.Code {
		t.Errorf("problem status %d, response status %d", p.Status, rec.Code)
	}
	if p.Type != problemTypePrefix+string(p.Code) || p.Title == "" || p.Detail == "" || p.RequestID == "" {
		t.Errorf("incomplete problem: %+v", p)
	}
	return p
}
