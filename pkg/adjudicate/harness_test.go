package adjudicate_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/png"
	"io"
	"io/fs"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/refundguard/refundguard/internal/testphoto"

	"github.com/refundguard/refundguard/forensics"
	"github.com/refundguard/refundguard/pkg/adjudicate"
	"github.com/refundguard/refundguard/pkg/blob"
	"github.com/refundguard/refundguard/pkg/claim"
	"github.com/refundguard/refundguard/pkg/store"
	"github.com/refundguard/refundguard/pkg/store/storetest"
)

// The wiring cmd/refundguard does must keep compiling: each real implementation satisfies
// the interface its consumer declares.
var (
	_ adjudicate.Transport = (*adjudicate.Service)(nil)
	_ adjudicate.Store     = (*store.Store)(nil)
	_ adjudicate.Blobs     = (*blob.Store)(nil)
	_ adjudicate.Analyzer  = (*forensics.Analyzer)(nil)
)

var (
	buyer1    = claim.Principal{KeyID: "k-b1", Role: claim.RoleBuyer, Subject: "b1"}
	buyer2    = claim.Principal{KeyID: "k-b2", Role: claim.RoleBuyer, Subject: "b2"}
	merchant1 = claim.Principal{KeyID: "k-m1", Role: claim.RoleMerchant, Subject: "m1"}
	merchant2 = claim.Principal{KeyID: "k-m2", Role: claim.RoleMerchant, Subject: "m2"}
	reviewer  = claim.Principal{KeyID: "k-r", Role: claim.RoleReviewer, Subject: "alice"}
	admin     = claim.Principal{KeyID: "k-a", Role: claim.RoleAdmin, Subject: "root"}
)

// harness is a real service on real SQLite (or PostgreSQL) and a real blob directory.
type harness struct {
	t        testing.TB
	dsn      string
	dataDir  string
	clock    *storetest.Clock
	store    *store.Store
	blobs    *blob.Store
	analyzer adjudicate.Analyzer
	svc      *adjudicate.Service
	observed *observer
}

type harnessOption func(*harness)

func withAnalyzer(a adjudicate.Analyzer) harnessOption { return func(h *harness) { h.analyzer = a } }

func newHarness(t testing.TB, opts ...harnessOption) *harness {
	t.Helper()
	dsn := storetest.SQLite(t)
	return startHarness(t, dsn, filepath.Dir(dsn), opts...)
}

// startHarness opens a service on an existing database and data directory, as a restarted
// process would.
func startHarness(t testing.TB, dsn, dataDir string, opts ...harnessOption) *harness {
	t.Helper()
	h := &harness{t: t, dsn: dsn, dataDir: dataDir, observed: &observer{},
		clock:    storetest.NewClock(time.Date(2026, 11, 3, 9, 0, 0, 0, time.UTC)),
		analyzer: forensics.NewAnalyzer(forensics.AnalyzerOptions{})}
	for _, o := range opts {
		o(h)
	}
	var err error
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h.store, err = store.Open(context.Background(), store.Config{DSN: dsn, Clock: h.clock.Now, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.store.Close() })
	if h.blobs, err = blob.Open(filepath.Join(dataDir, "blobs")); err != nil {
		t.Fatal(err)
	}
	h.svc, err = adjudicate.New(adjudicate.Config{Store: h.store, Blobs: h.blobs, Analyzer: h.analyzer,
		Clock: h.clock.Now, Logger: log, Observer: h.observed})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// eachDialect runs fn on SQLite and, when reachable, on a fresh PostgreSQL schema.
func eachDialect(t *testing.T, fn func(t *testing.T, h *harness), opts ...harnessOption) {
	t.Run("sqlite", func(t *testing.T) { fn(t, newHarness(t, opts...)) })
	t.Run("postgres", func(t *testing.T) {
		fn(t, startHarness(t, storetest.Postgres(t), t.TempDir(), opts...))
	})
}

// observer records what the workers report.
type observer struct {
	mu       sync.Mutex
	outcomes []string
}

func (o *observer) AnalysisFinished(outcome string, _ time.Duration) {
	o.mu.Lock()
	o.outcomes = append(o.outcomes, outcome)
	o.mu.Unlock()
}

func (o *observer) seen() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.outcomes...)
}

// photo returns a distinct, usable JPEG for each seed (see internal/testphoto).
func photo(seed int) []byte { return testphoto.JPEG(seed) }

func pngBytes(w, h int) []byte {
	var buf bytes.Buffer
	png.Encode(&buf, image.NewGray(image.Rect(0, 0, w, h)))
	return buf.Bytes()
}

func uploads(seeds ...int) []adjudicate.Upload {
	out := make([]adjudicate.Upload, len(seeds))
	for i, s := range seeds {
		out[i] = adjudicate.Upload{Name: "photo.jpg", Data: photo(s)}
	}
	return out
}

var (
	placed    = time.Date(2026, 10, 28, 10, 0, 0, 0, time.UTC)
	shipped   = time.Date(2026, 10, 29, 10, 0, 0, 0, time.UTC)
	delivered = time.Date(2026, 10, 31, 10, 0, 0, 0, time.UTC)
)

// order registers an order of merchant for buyer, with a packing photo (seed 100).
func (h *harness) order(merchant claim.Principal, buyer, external string) claim.Order {
	h.t.Helper()
	ctx := context.Background()
	o, err := h.svc.CreateOrder(ctx, merchant, adjudicate.OrderInput{ExternalID: external, BuyerID: buyer,
		Amount: claim.Money{Value: 129900, Currency: "CNY"}, Items: []claim.Item{{SKU: "MUG-1", Name: "Mug", Quantity: 1}},
		PlacedAt: placed, ShippedAt: &shipped, DeliveredAt: &delivered})
	if err != nil {
		h.t.Fatal(err)
	}
	if _, err := h.svc.AddOrderImages(ctx, merchant, o.ID, claim.ImagePacking, uploads(100)); err != nil {
		h.t.Fatal(err)
	}
	return o
}

func claimInput(orderID string, seeds ...int) adjudicate.ClaimInput {
	return adjudicate.ClaimInput{OrderID: orderID, Reason: claim.ReasonDamaged, Description: "arrived cracked",
		Amount: 129900, RefundType: claim.RefundOnly, Photos: uploads(seeds...)}
}

// file files a claim by buyer on o with one photo.
func (h *harness) file(buyer claim.Principal, o claim.Order, seed int) adjudicate.ClaimDetails {
	h.t.Helper()
	d, err := h.svc.FileClaim(context.Background(), buyer, claimInput(o.ID, seed))
	if err != nil {
		h.t.Fatal(err)
	}
	return d
}

// setStatus moves a claim behind the service's back (for states later issues reach).
func (h *harness) setStatus(id string, to claim.Status) {
	h.t.Helper()
	ctx := context.Background()
	c, err := h.store.GetClaim(ctx, id)
	if err != nil {
		h.t.Fatal(err)
	}
	from := c.Status
	c.Status = to
	if _, err := h.store.UpdateClaim(ctx, c, from); err != nil {
		h.t.Fatal(err)
	}
}

// snapshot counts what a failed request must not have changed.
type snapshot struct {
	claims, jobs, events, blobs int64
}

func (h *harness) snapshot() snapshot {
	h.t.Helper()
	ctx := context.Background()
	page, err := h.svc.ListClaims(ctx, admin, adjudicate.ClaimFilter{Limit: 200})
	if err != nil {
		h.t.Fatal(err)
	}
	jobs, err := h.store.QueueDepth(ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	check, err := h.store.VerifyAudit(ctx)
	if err != nil || !check.OK() {
		h.t.Fatalf("audit chain: %+v %v", check, err)
	}
	var files int64
	filepath.WalkDir(filepath.Join(h.dataDir, "blobs", "sha256"), func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files++
		}
		return nil
	})
	return snapshot{claims: int64(len(page.Claims)), jobs: jobs, events: check.Events, blobs: files}
}

// runWorkers starts the pool and returns a stop function that waits for it to return.
func (h *harness) runWorkers(opts adjudicate.WorkerOptions) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	if opts.PollInterval == 0 {
		opts.PollInterval = 20 * time.Millisecond
	}
	done := make(chan error, 1)
	go func() { done <- h.svc.RunWorkers(ctx, opts) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				h.t.Error(err)
			}
		})
	}
	h.t.Cleanup(stop)
	return stop
}

// waitStatus polls until the claim reaches want.
func (h *harness) waitStatus(id string, want claim.Status) claim.Claim {
	h.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := h.store.GetClaim(context.Background(), id)
		if err != nil {
			h.t.Fatal(err)
		}
		if c.Status == want {
			return c
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("claim %s is %s, still not %s", id, c.Status, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitIdle polls until the analysis queue is empty.
func (h *harness) waitIdle() {
	h.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		depth, err := h.store.QueueDepth(context.Background())
		if err != nil {
			h.t.Fatal(err)
		}
		if depth == 0 {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("%d analysis jobs still queued", depth)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func wantCode(t *testing.T, err error, code claim.Code, field string) {
	t.Helper()
	if claim.ErrorCode(err) != code {
		t.Fatalf("got %v, want code %s", err, code)
	}
	var ce *claim.Error
	if field != "" && (!errors.As(err, &ce) || ce.Field != field) {
		t.Fatalf("got %v, want field %q", err, field)
	}
}
