package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"image/png"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/refundguard/refundguard/forensics"
	"github.com/refundguard/refundguard/pkg/adjudicate"
	"github.com/refundguard/refundguard/pkg/blob"
	"github.com/refundguard/refundguard/pkg/claim"
	"github.com/refundguard/refundguard/pkg/store"
)

// The service New is wired to in cmd/refundguard satisfies Service, and AnalysisMetrics is
// the service's Observer.
var (
	_ Service             = (*adjudicate.Service)(nil)
	_ adjudicate.Observer = (*AnalysisMetrics)(nil)
)

// liveAPI is the whole stack as `refundguard serve` wires it: the real service with its
// analysis workers, SQLite and the blob store in a temp dir, behind this package's router
// on a real HTTP server. Nothing is mocked.
type liveAPI struct {
	t       *testing.T
	srv     *httptest.Server
	svc     *adjudicate.Service
	store   *store.Store
	blobDir string
	logs    *syncBuffer
	keys    map[string]string // party name -> bearer secret
	keyIDs  map[string]string // party name -> key id
	clock   *liveClock
}

// liveClock is the service's clock: the wall clock plus however far a test advanced it.
type liveClock struct{ offset atomic.Int64 }

func (c *liveClock) Now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *liveClock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

// as returns l reporting to t, for use inside a subtest (FailNow must not reach the parent).
func (l *liveAPI) as(t *testing.T) *liveAPI {
	c := *l
	c.t = t
	return &c
}

// syncBuffer collects logs written from several goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// parties are the principals the end-to-end tests act as.
var parties = []struct {
	name    string
	role    claim.Role
	subject string
}{
	{"buyer", claim.RoleBuyer, "buyer-1"},
	{"other-buyer", claim.RoleBuyer, "buyer-2"},
	{"merchant", claim.RoleMerchant, "merchant-1"},
	{"other-merchant", claim.RoleMerchant, "merchant-2"},
	{"reviewer", claim.RoleReviewer, "alice"},
	{"admin", claim.RoleAdmin, "ops"},
}

func startLiveAPI(t *testing.T) *liveAPI {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test: runs the real service and forensic analysis")
	}
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	// Wrapped as serve.go wraps it: the service's own log lines carry the request id.
	logger := slog.New(LogRequestIDs(slog.NewJSONHandler(logs, nil)))

	clock := &liveClock{}
	st, err := store.Open(ctx, store.Config{DSN: filepath.Join(dir, "refundguard.db"), Clock: clock.Now, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	blobDir := filepath.Join(dir, "blobs")
	blobs, err := blob.Open(blobDir)
	if err != nil {
		t.Fatal(err)
	}
	reg := NewRegistry()
	svc, err := adjudicate.New(adjudicate.Config{
		Store: st, Blobs: blobs, Analyzer: forensics.NewAnalyzer(forensics.AnalyzerOptions{}),
		Clock: clock.Now, Logger: logger, Observer: NewAnalysisMetrics(reg),
	})
	if err != nil {
		t.Fatal(err)
	}
	workersDone := make(chan error, 1)
	go func() {
		workersDone <- svc.RunWorkers(ctx, adjudicate.WorkerOptions{Workers: 2, PollInterval: 50 * time.Millisecond, ReclaimOnStart: true})
	}()
	srv := httptest.NewServer(New(Options{Service: svc, Logger: logger, Registry: reg}))
	t.Cleanup(func() {
		srv.Close()
		cancel()
		if err := <-workersDone; err != nil {
			t.Errorf("workers: %v", err)
		}
		_ = st.Close()
		if t.Failed() {
			t.Logf("service logs:\n%s", logs.String())
		}
	})

	l := &liveAPI{t: t, srv: srv, svc: svc, store: st, blobDir: blobDir, logs: logs, keys: map[string]string{}, keyIDs: map[string]string{}, clock: clock}
	// The first admin key is made the way `refundguard keys create` makes it: as an admin
	// principal acting on the local machine. Every other key goes through POST /v1/keys.
	bootstrap := claim.Principal{KeyID: "local", Role: claim.RoleAdmin, Subject: "bootstrap"}
	k, secret, err := svc.CreateKey(ctx, bootstrap, claim.RoleAdmin, "bootstrap")
	if err != nil {
		t.Fatal(err)
	}
	l.keys["bootstrap"], l.keyIDs["bootstrap"] = secret, k.ID
	for _, p := range parties {
		var key keyDTO
		l.mustJSON(l.call("bootstrap", "POST", "/v1/keys", jsonBody(map[string]any{"role": p.role, "subject": p.subject})), 201, &key)
		l.keys[p.name], l.keyIDs[p.name] = key.Secret, key.ID
	}
	return l
}

// body is a request body with its Content-Type.
type body struct {
	contentType string
	data        []byte
	header      map[string]string
}

func jsonBody(v any) body {
	b, _ := json.Marshal(v)
	return body{contentType: "application/json", data: b}
}

func formBody(t testing.TB, parts ...formPart) body {
	data, ct := multipartBody(t, parts...)
	return body{contentType: ct, data: data}
}

// reply is a response with its body read.
type reply struct {
	*http.Response
	data []byte
}

// call sends a request as party ("" for none).
func (l *liveAPI) call(party, method, path string, b body) reply {
	l.t.Helper()
	req, err := http.NewRequest(method, l.srv.URL+path, bytes.NewReader(b.data))
	if err != nil {
		l.t.Fatal(err)
	}
	if b.contentType != "" {
		req.Header.Set("Content-Type", b.contentType)
	}
	for k, v := range b.header {
		req.Header.Set(k, v)
	}
	if party != "" {
		secret, ok := l.keys[party]
		if !ok {
			l.t.Fatalf("no key for %q", party)
		}
		req.Header.Set("Authorization", "Bearer "+secret)
	}
	resp, err := l.srv.Client().Do(req)
	if err != nil {
		l.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		l.t.Fatal(err)
	}
	return reply{resp, data}
}

// mustJSON checks the status and decodes the body into v.
func (l *liveAPI) mustJSON(r reply, status int, v any) {
	l.t.Helper()
	if r.StatusCode != status {
		l.t.Fatalf("%s %s: status %d, want %d: %s", r.Request.Method, r.Request.URL.Path, r.StatusCode, status, r.data)
	}
	if v != nil {
		if err := json.Unmarshal(r.data, v); err != nil {
			l.t.Fatalf("%s: %v", r.data, err)
		}
	}
}

// problem checks the response is a problem with the status and code, and returns it.
func (l *liveAPI) problem(r reply, status int, code claim.Code) Problem {
	l.t.Helper()
	var p Problem
	if r.StatusCode != status || r.Header.Get("Content-Type") != "application/problem+json" || json.Unmarshal(r.data, &p) != nil {
		l.t.Fatalf("%s %s: %d %s %s, want a %d problem", r.Request.Method, r.Request.URL.Path, r.StatusCode, r.Header.Get("Content-Type"), r.data, status)
	}
	if p.Code != code {
		l.t.Errorf("code %s, want %s (%s)", p.Code, code, p.Detail)
	}
	return p
}

// createOrder registers an order of merchant's for buyerSubject, delivered yesterday.
func (l *liveAPI) createOrder(merchant, buyerSubject, sku string, amount int64) orderDTO {
	l.t.Helper()
	placed := time.Now().Add(-72 * time.Hour).UTC().Truncate(time.Second)
	shipped, delivered := placed.Add(24*time.Hour), placed.Add(48*time.Hour)
	var o orderDTO
	l.mustJSON(l.call(merchant, "POST", "/v1/orders", jsonBody(map[string]any{
		"external_id": "TB-" + sku + "-" + buyerSubject, "buyer_id": buyerSubject,
		"amount":    map[string]any{"value": amount, "currency": "CNY"},
		"items":     []map[string]any{{"sku": sku, "name": "Porcelain vase", "quantity": 1}},
		"placed_at": placed, "shipped_at": shipped, "delivered_at": delivered,
	})), 201, &o)
	return o
}

// fileClaim files a claim as party and returns the creation response.
func (l *liveAPI) fileClaim(party, orderID string, amount int64, photos ...[]byte) buyerClaimCreated {
	l.t.Helper()
	parts := []formPart{field("order_id", orderID), field("reason", "damaged"), field("description", "arrived cracked"),
		field("amount", itoa(amount)), field("refund_type", "refund_only")}
	for i, p := range photos {
		parts = append(parts, photo("IMG_"+itoa(int64(i))+".jpg", p))
	}
	var c buyerClaimCreated
	l.mustJSON(l.call(party, "POST", "/v1/claims", formBody(l.t, parts...)), 201, &c)
	return c
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// waitAnalysed polls the claim as a reviewer until it has left analysis.
func (l *liveAPI) waitAnalysed(claimID string) staffClaimJSON {
	l.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var c staffClaimJSON
		l.mustJSON(l.call("reviewer", "GET", "/v1/claims/"+claimID, body{}), 200, &c)
		if c.Status != claim.StatusAnalyzing && c.Status != claim.StatusSubmitted {
			return c
		}
		if time.Now().After(deadline) {
			l.t.Fatalf("claim %s still %s after 2 minutes", claimID, c.Status)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// staffClaimJSON reads a reviewer's view back, findings as generic objects.
type staffClaimJSON struct {
	ID       string       `json:"id"`
	Status   claim.Status `json:"status"`
	Risk     int          `json:"risk"`
	Evidence []struct {
		ID         string           `json:"id"`
		Source     string           `json:"source"`
		SHA256     string           `json:"sha256"`
		Analyzed   bool             `json:"analyzed"`
		Findings   []map[string]any `json:"findings"`
		Report     map[string]any   `json:"report"`
		HeatmapURL string           `json:"heatmap_url"`
	} `json:"evidence"`
	Decision *struct {
		Route     string          `json:"route"`
		Rules     []claim.RuleHit `json:"rules"`
		DecidedBy string          `json:"decided_by"`
	} `json:"decision"`
	Timeline []auditEventDTO `json:"timeline"`
}

// ---- test photos ----

// bridgePhoto is the merchant's catalog photo (testdata/README.md says where it is from).
func bridgePhoto(t testing.TB) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "bridge.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// paintedCopy is what a forger does with a merchant's photo: decode it, paint an irregular
// dark stain (a "crack") on part of it, and save it again as a JPEG.
func paintedCopy(t testing.TB, original []byte) (edited []byte, stain image.Rectangle) {
	t.Helper()
	src, err := jpeg.Decode(bytes.NewReader(original))
	if err != nil {
		t.Fatal(err)
	}
	b := src.Bounds()
	img := image.NewRGBA(b)
	draw.Draw(img, b, src, b.Min, draw.Src)
	// A blotch of about 12% x 12% of the frame, centred at (60%, 45%), with a ragged edge.
	cx, cy := b.Min.X+b.Dx()*6/10, b.Min.Y+b.Dy()*45/100
	r := float64(b.Dx()) * 0.06
	stain = image.Rect(cx-int(r*1.3), cy-int(r*1.3), cx+int(r*1.3), cy+int(r*1.3)).Intersect(b)
	for y := stain.Min.Y; y < stain.Max.Y; y++ {
		for x := stain.Min.X; x < stain.Max.X; x++ {
			dx, dy := float64(x-cx), float64(y-cy)
			edge := r * (1 + 0.25*math.Sin(5*math.Atan2(dy, dx)))
			if dx*dx+dy*dy <= edge*edge {
				img.Set(x, y, color.RGBA{R: 40, G: 22, B: 18, A: 255})
			}
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), stain
}

// synthPhoto is a distinct picture for claims whose analysis does not matter, large enough
// (640×480) not to be flagged low_quality, so the default rules treat it as clean.
func synthPhoto(t testing.TB, seed int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 640, 480))
	for y := 0; y < 480; y++ {
		for x := 0; x < 640; x++ {
			img.Set(x, y, color.RGBA{R: uint8(x*seed + y), G: uint8(y * (seed + 3)), B: uint8((x ^ y) * seed), A: 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
