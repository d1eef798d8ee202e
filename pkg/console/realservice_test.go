package console

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
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

// The console must take the real service as it is.
var _ Service = (*adjudicate.Service)(nil)

func jpegBytes(t *testing.T, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 92}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// cleanPhoto is an honest buyer's photo: a different, detailed scene, nothing like the
// merchant's (the engine rightly calls a flat gradient too poor to judge).
func cleanPhoto() *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, 800, 600))
	for y := 0; y < 600; y++ {
		for x := 0; x < 800; x++ {
			n := uint32(x*7919+y*104729) * 2654435761 >> 24 // cheap deterministic grain
			img.SetRGBA(x, y, color.RGBA{uint8(x*3 + y + int(n)/4), uint8(y*5 + int(n)/3), uint8((x ^ y) + int(n)/2), 255})
		}
	}
	return img
}

// teapotPhoto is another of the merchant's catalogue photos (a different product).
func teapotPhoto() *image.RGBA {
	img := merchantPhoto()
	for i := 0; i+3 < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+2] = img.Pix[i+2], 255-img.Pix[i]
	}
	return img
}

// realFixture is the console on the real review service, the real forensics engine and
// real SQLite, with two claims in the queue: ¥4,599.00 with the merchant's catalogue photo
// painted with cracks (sent to review at once by the default rules) and a clean ¥1,299.00
// claim the merchant answered.
type realFixture struct {
	*fixture
	real              *adjudicate.Service
	secrets           map[string]string // subject -> API key
	big, small        string            // claim ids
	bigTask, smallTsk string
	editedJPEG        []byte
	regions           []forensics.Region // where the engine says the painted photo differs
}

var (
	realAdmin    = claim.Principal{KeyID: "bootstrap", Role: claim.RoleAdmin, Subject: "root"}
	realMerchant = claim.Principal{KeyID: "k-m", Role: claim.RoleMerchant, Subject: "m-hangzhou-ceramics"}
	realStaff    = claim.Principal{KeyID: "k-staff", Role: claim.RoleAdmin, Subject: "test"}
)

func newRealFixture(t *testing.T) *realFixture {
	t.Helper()
	if testing.Short() {
		t.Skip("real-service tests skipped in -short mode")
	}
	ctx := context.Background()
	dsn := storetest.SQLite(t)
	clock := storetest.NewClock(time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC))
	quiet := slog.New(slog.DiscardHandler)
	st, err := store.Open(ctx, store.Config{DSN: dsn, Clock: clock.Now, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	blobs, err := blob.Open(filepath.Join(filepath.Dir(dsn), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	rf := &realFixture{secrets: map[string]string{}, editedJPEG: jpegBytes(t, editedPhoto())}
	rf.real, err = adjudicate.New(adjudicate.Config{Store: st, Blobs: blobs, Analyzer: forensics.NewAnalyzer(forensics.AnalyzerOptions{}), Clock: clock.Now, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []struct {
		role    claim.Role
		subject string
	}{{claim.RoleReviewer, "alice"}, {claim.RoleReviewer, "bob"}, {claim.RoleBuyer, "b-4412"}, {claim.RoleMerchant, "m-hangzhou-ceramics"}} {
		_, secret, err := rf.real.CreateKey(ctx, realAdmin, k.role, k.subject)
		if err != nil {
			t.Fatal(err)
		}
		rf.secrets[k.subject] = secret
	}

	wctx, stopWorkers := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- rf.real.RunWorkers(wctx, adjudicate.WorkerOptions{Workers: 1, PollInterval: 10 * time.Millisecond})
	}()
	t.Cleanup(func() {
		stopWorkers()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Error(err)
		}
	})

	now := clock.Now()
	placed := now.Add(-12 * 24 * time.Hour)
	shipped, delivered := placed.Add(2*24*time.Hour), placed.Add(5*24*time.Hour)
	file := func(external, buyer, sku, name string, amount int64, ref, evidence []byte) string {
		t.Helper()
		o, err := rf.real.CreateOrder(ctx, realMerchant, adjudicate.OrderInput{
			ExternalID: external, BuyerID: buyer, Amount: claim.Money{Value: amount, Currency: "CNY"},
			Items:    []claim.Item{{SKU: sku, Name: name, Quantity: 1}},
			PlacedAt: placed, ShippedAt: &shipped, DeliveredAt: &delivered,
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rf.real.AddProductImages(ctx, realMerchant, sku, []adjudicate.Upload{{Name: "catalog.jpg", Data: ref}}); err != nil {
			t.Fatal(err)
		}
		d, err := rf.real.FileClaim(ctx, claim.Principal{KeyID: "k-" + buyer, Role: claim.RoleBuyer, Subject: buyer}, adjudicate.ClaimInput{
			OrderID: o.ID, Reason: claim.ReasonDamaged, Description: "The vase arrived cracked, see photo.",
			Amount: amount, RefundType: claim.RefundOnly, Photos: []adjudicate.Upload{{Name: "IMG_2041.jpg", Data: evidence}},
		})
		if err != nil {
			t.Fatal(err)
		}
		return d.Claim.ID
	}
	rf.big = file("TB-20261101-7731", "b-4412", "VASE-CELADON-L", "Celadon vase, large", 459900, jpegBytes(t, merchantPhoto()), rf.editedJPEG)
	rf.small = file("TB-20261102-0042", "b-77", "TEAPOT-S", "Teapot, small", 129900, jpegBytes(t, teapotPhoto()), jpegBytes(t, cleanPhoto()))
	if got := rf.waitRouted(t, rf.big); got != claim.StatusInReview {
		t.Fatalf("the stolen, painted photo's claim is %s after analysis, want in_review", got)
	}
	rf.waitRouted(t, rf.small)
	if _, err := rf.real.RespondToClaim(ctx, realMerchant, rf.big, "This is our catalogue photo with a crack drawn on it. Our packing photo shows the vase intact.", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := rf.real.RespondToClaim(ctx, realMerchant, rf.small, "We packed it with care; please check.", nil); err != nil {
		t.Fatal(err)
	}
	tasks, err := rf.real.ListTasks(ctx, realStaff, adjudicate.TaskFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tv := range tasks {
		switch tv.Task.ClaimID {
		case rf.big:
			rf.bigTask = tv.Task.ID
		case rf.small:
			rf.smallTsk = tv.Task.ID
		}
	}
	if rf.bigTask == "" || rf.smallTsk == "" {
		t.Fatalf("review tasks %+v: want one per claim (the clean claim is %s)", tasks, rf.status(t, rf.small))
	}
	rf.regions = rf.editRegions(t)

	c, err := New(Options{Service: rf.real, Clock: clock.Now, Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	c.heartbeatEvery = 300 * time.Millisecond
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	rf.fixture = &fixture{srv: srv}
	return rf
}

// waitRouted waits for the analysis workers and the rules to route a claim.
func (rf *realFixture) waitRouted(t *testing.T, id string) claim.Status {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		s := rf.status(t, id)
		if s != claim.StatusSubmitted && s != claim.StatusAnalyzing {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("claim %s still %s after a minute", id, s)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// editRegions reads the painted photo's localized_edit regions from its stored report and
// checks that the engine found the paint: each region painted by editedPhoto is covered.
func (rf *realFixture) editRegions(t *testing.T) []forensics.Region {
	t.Helper()
	d, err := rf.real.GetClaim(context.Background(), realStaff, rf.big)
	if err != nil {
		t.Fatal(err)
	}
	var rep forensics.EvidenceReport
	if err := json.Unmarshal(d.Evidence[0].Report, &rep); err != nil {
		t.Fatal(err)
	}
	var regions []forensics.Region
	for _, f := range rep.Findings {
		if f.Code == forensics.CodeLocalizedEdit {
			regions = append(regions, f.Regions...)
		}
	}
	for _, painted := range editRegions {
		found := false
		for _, r := range regions {
			found = found || overlapShare(painted, r) > 0.8
		}
		if !found {
			t.Fatalf("the engine's regions %+v miss the paint at %+v", regions, painted)
		}
	}
	return regions
}

// overlapShare is the share of a's area that b covers.
func overlapShare(a, b forensics.Region) float64 {
	w := min(a.X+a.W, b.X+b.W) - max(a.X, b.X)
	h := min(a.Y+a.H, b.Y+b.H) - max(a.Y, b.Y)
	if w <= 0 || h <= 0 {
		return 0
	}
	return float64(w*h) / float64(a.W*a.H)
}

func (rf *realFixture) status(t *testing.T, id string) claim.Status {
	t.Helper()
	d, err := rf.real.GetClaim(context.Background(), realStaff, id)
	if err != nil {
		t.Fatal(err)
	}
	return d.Claim.Status
}

func (rf *realFixture) tasksOfKind(t *testing.T, kind claim.TaskKind) []adjudicate.TaskView {
	t.Helper()
	tasks, err := rf.real.ListTasks(context.Background(), realStaff, adjudicate.TaskFilter{Kind: kind})
	if err != nil {
		t.Fatal(err)
	}
	return tasks
}

// TestRealService runs the console's server side on the real review service and SQLite.
func TestRealService(t *testing.T) {
	rf := newRealFixture(t)

	t.Run("buyer and merchant keys are refused by their real roles", func(t *testing.T) {
		for _, who := range []string{"b-4412", "m-hangzhou-ceramics"} {
			cl := rf.client(t)
			form := cl.get("/console/signin")
			if p := cl.post("/console/signin", url.Values{"csrf": {cl.token(form)}, "key": {rf.secrets[who]}}); p.status != http.StatusForbidden {
				t.Errorf("%s: status %d", who, p.status)
			}
		}
	})

	alice := rf.client(t)
	tok := alice.signIn(rf.secrets["alice"])
	if p := alice.post("/console/lease", url.Values{"csrf": {tok}}); p.header.Get("Location") != "/console/tasks/"+rf.bigTask {
		t.Fatalf("lease: %d %q, want the painted photo's task first", p.status, p.header.Get("Location"))
	}
	page := alice.get("/console/tasks/" + rf.bigTask)
	if page.status != http.StatusOK {
		t.Fatalf("claim page: %d\n%s", page.status, page.body)
	}
	d, err := rf.real.GetClaim(context.Background(), realStaff, rf.big)
	if err != nil {
		t.Fatal(err)
	}
	ev := d.Evidence[0]

	t.Run("the claim page shows the stored claim, its analysis and the rules in words", func(t *testing.T) {
		want := []string{
			"¥4,599.00", "Celadon vase, large", "The vase arrived cracked", `id="decision-form"`,
			`src="/console/evidence/` + ev.ID + `/content" data-heatmap="/console/evidence/` + ev.ID + `/heatmap"`,
			"Damage painted on", "The merchant&#39;s own photo", "reference-photo-reused", "This is our catalogue photo",
		}
		for _, r := range rf.regions {
			want = append(want, fmt.Sprintf(`<rect class="region" x="%d" y="%d" width="%d" height="%d"`, r.X, r.Y, r.W, r.H))
		}
		for _, want := range want {
			if !strings.Contains(page.body, want) {
				t.Errorf("claim page lacks %s", want)
			}
		}
		for _, raw := range []string{`"findings":`, `&#34;code&#34;`} {
			if strings.Contains(page.body, raw) {
				t.Errorf("raw report JSON on the page (%s)", raw)
			}
		}
	})

	t.Run("photos come from the blob store through the console", func(t *testing.T) {
		p := alice.get("/console/evidence/" + ev.ID + "/content")
		if p.status != http.StatusOK || p.header.Get("Content-Type") != "image/jpeg" || !bytes.Equal([]byte(p.body), rf.editedJPEG) {
			t.Fatalf("evidence: %d %s, %d bytes", p.status, p.header.Get("Content-Type"), len(p.body))
		}
		if p := alice.get("/console/evidence/" + ev.ID + "/heatmap"); p.status != http.StatusOK || p.header.Get("Content-Type") != "image/png" {
			t.Errorf("heatmap: %d %s", p.status, p.header.Get("Content-Type"))
		}
		v := buildEvidence(newLocale(langEN, time.UTC, time.Now()), ev, 1, d.Order)
		if p := alice.get("/console/references/" + v.Reference.ID + "/content"); p.status != http.StatusOK || p.header.Get("Content-Type") != "image/jpeg" {
			t.Errorf("reference: %d %s", p.status, p.header.Get("Content-Type"))
		}
		if p := alice.get("/console/evidence/nope/content"); p.status != http.StatusNotFound {
			t.Errorf("unknown evidence: %d", p.status)
		}
	})

	t.Run("the heartbeat renews the lease", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, alice.base+"/console/tasks/"+rf.bigTask+"/heartbeat", nil)
		req.Header.Set(csrfHeader, tok)
		if p := alice.do(req); p.status != http.StatusOK {
			t.Errorf("heartbeat: %d %s", p.status, p.body)
		}
	})

	t.Run("flagging the buyer shows in the record", func(t *testing.T) {
		p := alice.post("/console/buyers/b-4412/flag", url.Values{"csrf": {tok}, "reason": {"painted crack on the catalogue photo"}, "back": {"/console/tasks/" + rf.bigTask}})
		if p.status != http.StatusSeeOther {
			t.Fatalf("flag: %d\n%s", p.status, p.body)
		}
		if page := alice.get("/console/tasks/" + rf.bigTask); !strings.Contains(page.body, "painted crack on the catalogue photo") {
			t.Error("the flag is not in the buyer's record")
		}
	})

	t.Run("the case file is the service's ZIP", func(t *testing.T) {
		p := alice.get("/console/claims/" + rf.big + "/case-file")
		if p.status != http.StatusOK || p.header.Get("Content-Type") != "application/zip" {
			t.Fatalf("case file: %d %s", p.status, p.header.Get("Content-Type"))
		}
		z, err := zip.NewReader(bytes.NewReader([]byte(p.body)), int64(len(p.body)))
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, f := range z.File {
			names = append(names, f.Name)
		}
		if !strings.Contains(strings.Join(names, " "), "manifest.json") {
			t.Errorf("case file holds %v", names)
		}
		if p := alice.get("/console/claims/nope/case-file"); p.status != http.StatusNotFound {
			t.Errorf("unknown claim: %d", p.status)
		}
	})

	t.Run("the service's refusals reach the reviewer", func(t *testing.T) {
		bob := rf.client(t)
		btok := bob.signIn(rf.secrets["bob"])
		p := bob.post("/console/tasks/"+rf.bigTask+"/decision", url.Values{"csrf": {btok}, "outcome": {"approve"}})
		if p.status != http.StatusConflict {
			t.Errorf("deciding alice's task: %d", p.status)
		}
	})
}
