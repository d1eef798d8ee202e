package adjudicate_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/refundguard/refundguard/forensics"
	"github.com/refundguard/refundguard/pkg/adjudicate"
	"github.com/refundguard/refundguard/pkg/claim"
)

// heatmapAnalyzer is the real analyzer plus a heatmap for every photo, so the heatmap path
// is exercised before the forensics engine draws its own.
type heatmapAnalyzer struct{ adjudicate.Analyzer }

func (a heatmapAnalyzer) Analyze(ctx context.Context, ev forensics.Input, refs []forensics.Reference, times forensics.Times) forensics.Result {
	res := a.Analyzer.Analyze(ctx, ev, refs, times)
	res.Heatmap = pngBytes(8, 8)
	return res
}

// recordingAnalyzer remembers what each Analyze call was given.
type recordingAnalyzer struct {
	adjudicate.Analyzer
	mu    sync.Mutex
	refs  [][]string
	times []forensics.Times
}

func (a *recordingAnalyzer) Analyze(ctx context.Context, ev forensics.Input, refs []forensics.Reference, times forensics.Times) forensics.Result {
	var names []string
	for _, r := range refs {
		data, err := r.Load(ctx)
		if err != nil || len(data) == 0 {
			panic("reference not loadable: " + r.Name)
		}
		names = append(names, r.Name)
	}
	a.mu.Lock()
	a.refs = append(a.refs, names)
	a.times = append(a.times, times)
	a.mu.Unlock()
	return a.Analyzer.Analyze(ctx, ev, refs, times)
}

// blockingAnalyzer stands for a long analysis: it signals started and waits for release
// or for its context to end (shutdown).
type blockingAnalyzer struct {
	adjudicate.Analyzer
	started chan string
	release chan struct{}
}

func newBlockingAnalyzer() *blockingAnalyzer {
	return &blockingAnalyzer{Analyzer: forensics.NewAnalyzer(forensics.AnalyzerOptions{}),
		started: make(chan string, 16), release: make(chan struct{})}
}

func (a *blockingAnalyzer) Analyze(ctx context.Context, ev forensics.Input, refs []forensics.Reference, times forensics.Times) forensics.Result {
	a.started <- ev.Name
	select {
	case <-a.release:
		return a.Analyzer.Analyze(ctx, ev, refs, times)
	case <-ctx.Done():
		return forensics.Result{Report: forensics.EvidenceReport{File: ev.Name,
			Error: &forensics.Error{Code: forensics.ErrCodeCanceled, Message: "canceled"}}}
	}
}

func waitStarted(t *testing.T, a *blockingAnalyzer) {
	t.Helper()
	select {
	case <-a.started:
	case <-time.After(20 * time.Second):
		t.Fatal("the analysis never started")
	}
}

func TestAnalysisStoresReportsAndRoutesTheClaim(t *testing.T) {
	eachDialect(t, func(t *testing.T, h *harness) {
		rec := &recordingAnalyzer{Analyzer: heatmapAnalyzer{forensics.NewAnalyzer(forensics.AnalyzerOptions{})}}
		h.svc, _ = adjudicate.New(adjudicate.Config{Store: h.store, Blobs: h.blobs, Analyzer: rec, Clock: h.clock.Now, Observer: h.observed})
		ctx := context.Background()
		o := h.order(merchant1, "b1", "T-1")
		catalog, err := h.svc.AddProductImages(ctx, merchant1, "MUG-1", uploads(101))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.svc.AddProductImages(ctx, merchant2, "MUG-1", uploads(102)); err != nil {
			t.Fatal(err)
		}
		d := h.file(buyer1, o, 1)
		stop := h.runWorkers(adjudicate.WorkerOptions{Workers: 2})
		// 1,299 CNY, clean photos, the merchant not heard yet: the default policy waits for it.
		c := h.waitStatus(d.Claim.ID, claim.StatusAwaitingMerchant)
		stop()

		got, err := h.svc.GetClaim(ctx, reviewer, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		ev := got.Evidence[0]
		var rep forensics.EvidenceReport
		if err := json.Unmarshal(ev.Report, &rep); err != nil {
			t.Fatalf("stored report %s: %v", ev.Report, err)
		}
		if rep.File != ev.ID || rep.SHA256 != ev.SHA256 || rep.Format != "jpeg" || ev.Risk != rep.Risk || c.Risk != rep.Risk {
			t.Fatalf("report %+v for evidence %+v (claim risk %d)", rep, ev, c.Risk)
		}
		if data, err := h.blobs.Get(ctx, ev.HeatmapSHA); err != nil || len(data) == 0 {
			t.Fatalf("heatmap blob: %v", err)
		}
		packing, _ := h.store.OrderImages(ctx, o.ID)
		wantRefs := []string{packing[0].ID, catalog[0].ID} // not merchant 2's photo of its own MUG-1
		if len(rec.refs) != 1 || !slices.Equal(rec.refs[0], wantRefs) {
			t.Fatalf("analysed against %v, want the order's packing photo and the merchant's catalog photo %v", rec.refs, wantRefs)
		}
		if tm := rec.times[0]; !tm.PlacedAt.Equal(placed) || !tm.ShippedAt.Equal(shipped) || !tm.DeliveredAt.Equal(delivered) {
			t.Fatalf("times %+v", tm)
		}
		analysed, routed := got.Timeline[len(got.Timeline)-2], got.Timeline[len(got.Timeline)-1]
		if analysed.Action != "claim.analyzed" || analysed.Actor != "system:analysis" {
			t.Fatalf("analysis recorded as %+v", analysed)
		}
		if routed.Action != "claim.routed" || routed.Actor != "system:rules" || !strings.Contains(string(routed.After), `"status":"awaiting_merchant"`) {
			t.Fatalf("timeline ends with %+v", routed)
		}
		if len(got.Decisions) != 1 || got.Decisions[0].Route != claim.RouteAwaitMerchant || got.Decisions[0].DecidedBy != "rules" {
			t.Fatalf("decisions %+v", got.Decisions)
		}
		if depth, _ := h.store.QueueDepth(ctx); depth != 0 {
			t.Fatalf("queue depth %d after analysis", depth)
		}
		if seen := h.observed.seen(); !slices.Equal(seen, []string{adjudicate.OutcomeDone}) {
			t.Fatalf("observer saw %v", seen)
		}
	})
}

func TestARestartInTheMiddleOfAnalysisResumesIt(t *testing.T) {
	blocking := newBlockingAnalyzer()
	h := newHarness(t, withAnalyzer(blocking))
	o := h.order(merchant1, "b1", "T-1")
	d := h.file(buyer1, o, 1)

	stop := h.runWorkers(adjudicate.WorkerOptions{Workers: 1})
	waitStarted(t, blocking)
	stop() // shutdown while the analysis runs: the job goes back to the queue
	jobs, err := h.store.ListJobs(context.Background())
	if err != nil || len(jobs) != 1 || jobs[0].LeaseToken != "" || jobs[0].LeaseExpiresAt != nil || jobs[0].Attempts != 0 {
		t.Fatalf("after shutdown the job is %+v (%v), want it queued, unleased, no attempt counted", jobs, err)
	}
	h.store.Close()

	h2 := startHarness(t, h.dsn, h.dataDir)
	if c, _ := h2.store.GetClaim(context.Background(), d.Claim.ID); c.Status != claim.StatusAnalyzing {
		t.Fatalf("after the interrupted run the claim is %s", c.Status)
	}
	h2.runWorkers(adjudicate.WorkerOptions{Workers: 1, ReclaimOnStart: true})
	c := h2.waitStatus(d.Claim.ID, claim.StatusAwaitingMerchant)
	if ev, _ := h2.store.ListEvidence(context.Background(), c.ID); len(ev[0].Report) == 0 {
		t.Fatal("resumed, but no report stored")
	}
	if seen := h.observed.seen(); !slices.Equal(seen, []string{adjudicate.OutcomeReleased}) {
		t.Fatalf("first run ended as %v, want released", seen)
	}
}

func TestACrashedWorkersJobRunsAgain(t *testing.T) {
	for _, tc := range []struct {
		name    string
		reclaim bool
		advance time.Duration
	}{
		// SQLite: the only instance restarted, so its old leases are dead at once.
		{"reclaimed at start", true, 0},
		// A shared database: another instance takes the job when the lease expires.
		{"after the lease expires", false, 2 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			o := h.order(merchant1, "b1", "T-1")
			d := h.file(buyer1, o, 1)
			// A worker that leased the job and died without a word.
			if _, ok, err := h.store.LeaseJob(context.Background(), "dead-host:1", h.clock.Now(), time.Minute); !ok || err != nil {
				t.Fatalf("lease: %v %v", ok, err)
			}
			h.clock.Advance(tc.advance)
			h.runWorkers(adjudicate.WorkerOptions{Workers: 1, ReclaimOnStart: tc.reclaim})
			h.waitStatus(d.Claim.ID, claim.StatusAwaitingMerchant)
		})
	}
}

func TestGracefulShutdownLetsRunningAnalysisFinishWithinTheDrain(t *testing.T) {
	blocking := newBlockingAnalyzer()
	h := newHarness(t, withAnalyzer(blocking))
	o := h.order(merchant1, "b1", "T-1")
	d := h.file(buyer1, o, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- h.svc.RunWorkers(ctx, adjudicate.WorkerOptions{Workers: 1, Drain: time.Minute, PollInterval: 10 * time.Millisecond})
	}()
	waitStarted(t, blocking)
	cancel()
	select {
	case <-done:
		t.Fatal("the pool returned while an analysis was still running inside the drain period")
	case <-time.After(100 * time.Millisecond):
	}
	close(blocking.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if c, _ := h.store.GetClaim(context.Background(), d.Claim.ID); c.Status != claim.StatusAwaitingMerchant {
		t.Fatalf("claim %s after a drained shutdown", c.Status)
	}
}

func TestFailingAnalysisIsRetriedThenParkedForReview(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	o := h.order(merchant1, "b1", "T-1")
	d := h.file(buyer1, o, 1)
	// The photo's bytes vanish behind the service's back: every run fails to read them.
	sha := d.Evidence[0].SHA256
	if err := os.Remove(filepath.Join(h.dataDir, "blobs", "sha256", sha[:2], sha)); err != nil {
		t.Fatal(err)
	}
	h.runWorkers(adjudicate.WorkerOptions{Workers: 1, MaxAttempts: 2})
	deadline := time.Now().Add(20 * time.Second)
	for len(h.observed.seen()) < 1 {
		if time.Now().After(deadline) {
			t.Fatal("no run finished")
		}
		time.Sleep(10 * time.Millisecond)
	}
	h.clock.Advance(time.Hour) // past the backoff
	c := h.waitStatus(d.Claim.ID, claim.StatusInReview)
	if seen := h.observed.seen(); !slices.Equal(seen, []string{adjudicate.OutcomeRetry, adjudicate.OutcomeFailed}) {
		t.Fatalf("observer saw %v", seen)
	}
	events, _ := h.store.AuditEvents(ctx, "claim", c.ID)
	if last := events[len(events)-1]; last.Action != "claim.analysis_failed" {
		t.Fatalf("last event %+v", last)
	}
	if depth, _ := h.store.QueueDepth(ctx); depth != 0 {
		t.Fatalf("a parked job still counts as queued: %d", depth)
	}
}

func TestStatsAndReadiness(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	o1 := h.order(merchant1, "b1", "T-1")
	o2 := h.order(merchant1, "b1", "T-2")
	h.file(buyer1, o1, 1)
	c2 := h.file(buyer1, o2, 2)
	if _, err := h.svc.WithdrawClaim(ctx, buyer1, c2.Claim.ID); err != nil {
		t.Fatal(err)
	}
	st, err := h.svc.Stats(ctx)
	if err != nil || st.QueueDepth != 2 || st.ClaimsByStatus[claim.StatusAnalyzing] != 1 || st.ClaimsByStatus[claim.StatusWithdrawn] != 1 {
		t.Fatalf("stats %+v %v", st, err)
	}
	if err := h.svc.Ready(ctx); err != nil {
		t.Fatalf("ready: %v", err)
	}
	tmp := filepath.Join(h.dataDir, "blobs", "tmp")
	os.RemoveAll(tmp)
	os.WriteFile(tmp, nil, 0o600) // the blob store can no longer write
	wantCode(t, h.svc.Ready(ctx), claim.CodeUnavailable, "")
	os.Remove(tmp)
	os.Mkdir(tmp, 0o750)
	h.store.Close()
	wantCode(t, h.svc.Ready(ctx), claim.CodeUnavailable, "")
}
