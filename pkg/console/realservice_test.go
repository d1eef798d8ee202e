package console

import (
	"bytes"
	"context"
	"image"
	"image/jpeg"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/refundguard/refundguard/forensics"
	"github.com/refundguard/refundguard/pkg/adjudicate"
	"github.com/refundguard/refundguard/pkg/blob"
	"github.com/refundguard/refundguard/pkg/claim"
	"github.com/refundguard/refundguard/pkg/store"
	"github.com/refundguard/refundguard/pkg/store/storetest"
)

// mixedBackend takes keys, claims, photos and reports from the real claims service on real
// SQLite, and the review queue from the in-memory fake, until *adjudicate.Service implements
// adjudicate.ReviewTransport (issue 4); then the console takes the service as it is.
type mixedBackend struct {
	*fakeService
	real *adjudicate.Service
}

func (m mixedBackend) Authenticate(ctx context.Context, secret string) (claim.Principal, error) {
	return m.real.Authenticate(ctx, secret)
}

func (m mixedBackend) GetClaim(ctx context.Context, p claim.Principal, id string) (adjudicate.ClaimDetails, error) {
	return m.real.GetClaim(ctx, p, id)
}

func (m mixedBackend) EvidenceContent(ctx context.Context, p claim.Principal, id string, heatmap bool) (adjudicate.Content, error) {
	return m.real.EvidenceContent(ctx, p, id, heatmap)
}

func (m mixedBackend) ReferenceContent(ctx context.Context, p claim.Principal, id string) (adjudicate.Content, error) {
	return m.real.ReferenceContent(ctx, p, id)
}

func jpegBytes(t *testing.T, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 92}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// realClaim files a claim with the buyer's edited copy of the merchant's catalogue photo
// through the real service and waits for the real analysis.
func realClaim(t *testing.T) (*adjudicate.Service, adjudicate.ClaimDetails, map[string]string) {
	t.Helper()
	ctx := context.Background()
	dsn := storetest.SQLite(t)
	clock := storetest.NewClock(time.Date(2026, 11, 3, 9, 0, 0, 0, time.UTC))
	st, err := store.Open(ctx, store.Config{DSN: dsn, Clock: clock.Now, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	blobs, err := blob.Open(filepath.Join(filepath.Dir(dsn), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := adjudicate.New(adjudicate.Config{Store: st, Blobs: blobs, Analyzer: forensics.NewAnalyzer(forensics.AnalyzerOptions{}), Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	admin := claim.Principal{KeyID: "bootstrap", Role: claim.RoleAdmin, Subject: "root"}
	secrets := map[string]string{}
	for _, k := range []struct {
		role    claim.Role
		subject string
	}{{claim.RoleReviewer, "alice"}, {claim.RoleBuyer, "b1"}, {claim.RoleMerchant, "m1"}} {
		_, secret, err := svc.CreateKey(ctx, admin, k.role, k.subject)
		if err != nil {
			t.Fatal(err)
		}
		secrets[k.subject] = secret
	}
	merchant := claim.Principal{KeyID: "k-m1", Role: claim.RoleMerchant, Subject: "m1"}
	buyer := claim.Principal{KeyID: "k-b1", Role: claim.RoleBuyer, Subject: "b1"}
	placed := clock.Now().Add(-6 * 24 * time.Hour)
	shipped, delivered := placed.Add(24*time.Hour), placed.Add(72*time.Hour)
	order, err := svc.CreateOrder(ctx, merchant, adjudicate.OrderInput{
		ExternalID: "TB-1", BuyerID: "b1", Amount: claim.Money{Value: 459900, Currency: "CNY"},
		Items:    []claim.Item{{SKU: "VASE-L", Name: "Celadon vase, large", Quantity: 1}},
		PlacedAt: placed, ShippedAt: &shipped, DeliveredAt: &delivered,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.AddProductImages(ctx, merchant, "VASE-L", []adjudicate.Upload{{Name: "catalog.jpg", Data: jpegBytes(t, merchantPhoto())}}); err != nil {
		t.Fatal(err)
	}
	filed, err := svc.FileClaim(ctx, buyer, adjudicate.ClaimInput{
		OrderID: order.ID, Reason: claim.ReasonDamaged, Description: "The vase arrived cracked.",
		Amount: 459900, RefundType: claim.RefundOnly, Photos: []adjudicate.Upload{{Name: "IMG_2041.jpg", Data: jpegBytes(t, editedPhoto())}},
	})
	if err != nil {
		t.Fatal(err)
	}
	wctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- svc.RunWorkers(wctx, adjudicate.WorkerOptions{Workers: 1, PollInterval: 10 * time.Millisecond})
	}()
	reviewer := claim.Principal{KeyID: "k-r", Role: claim.RoleReviewer, Subject: "alice"}
	deadline := time.Now().Add(time.Minute)
	var d adjudicate.ClaimDetails
	for {
		if d, err = svc.GetClaim(ctx, reviewer, filed.Claim.ID); err != nil {
			t.Fatal(err)
		}
		if d.Claim.Status != claim.StatusAnalyzing && d.Claim.Status != claim.StatusSubmitted {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the claim is still %s after a minute", d.Claim.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	if err := <-done; err != nil && err != context.Canceled {
		t.Fatal(err)
	}
	return svc, d, secrets
}

// TestRealClaimsService runs the console on the real claims service and real SQLite: real
// keys, a real stored claim with the forensics engine's real report, photos from the blob store.
func TestRealClaimsService(t *testing.T) {
	if testing.Short() {
		t.Skip("real-service test skipped in -short mode")
	}
	real, d, secrets := realClaim(t)
	clock := &testClock{t: time.Now()}
	fake := newFakeService(clock.Now)
	fake.claims[d.Claim.ID] = &d
	fake.tasks = []*claim.ReviewTask{{ID: "task-real", ClaimID: d.Claim.ID, Kind: claim.TaskReview, State: claim.TaskOpen, Priority: 50, Route: claim.RouteReview}}
	c, err := New(Options{Service: mixedBackend{fakeService: fake, real: real}, Clock: clock.Now, Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	f := &fixture{srv: srv, svc: fake, clock: clock}

	t.Run("buyer and merchant keys are refused by their real roles", func(t *testing.T) {
		for _, who := range []string{"b1", "m1"} {
			cl := f.client(t)
			form := cl.get("/console/signin")
			if p := cl.post("/console/signin", url.Values{"csrf": {cl.token(form)}, "key": {secrets[who]}}); p.status != http.StatusForbidden {
				t.Errorf("%s: status %d", who, p.status)
			}
		}
	})

	alice := f.client(t)
	tok := alice.signIn(secrets["alice"])
	if p := alice.post("/console/lease", url.Values{"csrf": {tok}}); p.header.Get("Location") != "/console/tasks/task-real" {
		t.Fatalf("lease: %d %q", p.status, p.header.Get("Location"))
	}
	page := alice.get("/console/tasks/task-real")
	if page.status != http.StatusOK {
		t.Fatalf("claim page: %d\n%s", page.status, page.body)
	}
	ev := d.Evidence[0]

	t.Run("the claim page shows the stored claim and its analysis in words", func(t *testing.T) {
		for _, want := range []string{"¥4,599.00", "Celadon vase, large", "The vase arrived cracked.", `src="/console/evidence/` + ev.ID + `/content"`, "What the analysis found"} {
			if !strings.Contains(page.body, want) {
				t.Errorf("claim page lacks %q", want)
			}
		}
		if len(ev.Report) == 0 {
			t.Fatal("the real analysis stored no report")
		}
		for _, raw := range []string{`"findings":`, `&#34;code&#34;`} {
			if strings.Contains(page.body, raw) {
				t.Errorf("raw report JSON on the page (%s)", raw)
			}
		}
		v := buildEvidence(newLocale(langEN, time.UTC, time.Now()), ev, 1, d.Order)
		for _, f := range v.Findings {
			if !strings.Contains(page.body, strings.ReplaceAll(f.Title, "'", "&#39;")) {
				t.Errorf("finding %s (%q) not on the page", f.Code, f.Title)
			}
		}
		for _, r := range v.Regions {
			if !strings.Contains(page.body, `x="`+itoa(r.X)+`" y="`+itoa(r.Y)+`" width="`+itoa(r.W)+`" height="`+itoa(r.H)+`"`) {
				t.Errorf("region %+v not outlined", r)
			}
		}
		t.Logf("the engine reported %d findings, %d edit regions, reference %v", len(v.Findings), len(v.Regions), v.Reference)
	})

	t.Run("photos come from the blob store through the console", func(t *testing.T) {
		p := alice.get("/console/evidence/" + ev.ID + "/content")
		if p.status != http.StatusOK || p.header.Get("Content-Type") != "image/jpeg" {
			t.Fatalf("evidence: %d %s", p.status, p.header.Get("Content-Type"))
		}
		if !bytes.Equal([]byte(p.body), jpegBytes(t, editedPhoto())) {
			t.Error("the evidence photo differs from the one the buyer uploaded")
		}
		if ev.HeatmapSHA != "" {
			if p := alice.get("/console/evidence/" + ev.ID + "/heatmap"); p.status != http.StatusOK {
				t.Errorf("heatmap: %d", p.status)
			}
		}
		if p := alice.get("/console/evidence/nope/content"); p.status != http.StatusNotFound {
			t.Errorf("unknown evidence: %d", p.status)
		}
	})
}

func itoa(n int) string { return strconv.Itoa(n) }
