package adjudicate

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/refundguard/refundguard/forensics"
	"github.com/refundguard/refundguard/pkg/claim"
)

// WorkerOptions configure RunWorkers. Zero values take the defaults.
type WorkerOptions struct {
	Workers int // analyses running at once (default runtime.NumCPU())
	// Lease is how long a job stays with a worker that stops heartbeating (it dies, say)
	// before another may take it. Heartbeats renew it every Lease/3. Default 1 minute.
	Lease time.Duration
	// PollInterval is how often idle workers look for jobs they were not told about (queued
	// by another instance, or whose backoff ended). Default 2 seconds.
	PollInterval time.Duration
	// Drain is how long running analyses may go on after ctx ends; then they are cut short
	// and their jobs go back to the queue. Default 0: back to the queue at once.
	Drain time.Duration
	// MaxAttempts is how many failed runs a job gets before it is parked as failed and its
	// claim goes to review without a report. Default 5.
	MaxAttempts int
	// ReclaimOnStart puts jobs still leased by anyone back in the queue when the pool starts.
	// Right for a database only this instance uses (SQLite: whoever held them is gone); with
	// a shared database leave it off and let expired leases speak.
	ReclaimOnStart bool
	// Owner names this instance in leases (default host:pid:random).
	Owner string
}

func (o WorkerOptions) withDefaults() WorkerOptions {
	if o.Workers <= 0 {
		o.Workers = runtime.NumCPU()
	}
	if o.Lease <= 0 {
		o.Lease = time.Minute
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 2 * time.Second
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 5
	}
	if o.Owner == "" {
		host, _ := os.Hostname()
		var b [4]byte
		rand.Read(b[:])
		o.Owner = fmt.Sprintf("%s:%d:%s", host, os.Getpid(), hex.EncodeToString(b[:]))
	}
	return o
}

// RunWorkers runs the analysis worker pool until ctx ends, then stops taking jobs, gives
// running analyses opts.Drain to finish, cuts the rest short (their jobs go back to the
// queue, to run again on the next start) and returns. Jobs are leased from the database, so
// several instances may run pools against one PostgreSQL database.
func (s *Service) RunWorkers(ctx context.Context, opts WorkerOptions) error {
	opts = opts.withDefaults()
	if opts.ReclaimOnStart {
		n, err := s.store.RequeueLeased(ctx)
		if err != nil {
			return err
		}
		if n > 0 {
			s.log.InfoContext(ctx, "analysis jobs interrupted by the last shutdown requeued", "jobs", n)
		}
	}
	// Running jobs get their own context: ctx ending stops the leasing, not the analyses.
	jobCtx, cutShort := context.WithCancel(context.WithoutCancel(ctx))
	defer cutShort()

	var wg sync.WaitGroup
	for range opts.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.work(ctx, jobCtx, opts)
		}()
	}
	s.log.InfoContext(ctx, "analysis workers started", "workers", opts.Workers, "owner", opts.Owner)
	<-ctx.Done()

	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	timer := time.NewTimer(opts.Drain)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		cutShort()
		<-done
	}
	s.log.Info("analysis workers stopped")
	return nil
}

// work is one worker: lease a job, run it, repeat; wait for a nudge or the poll when idle.
func (s *Service) work(ctx, jobCtx context.Context, opts WorkerOptions) {
	ticker := time.NewTicker(opts.PollInterval)
	defer ticker.Stop()
	for ctx.Err() == nil {
		job, ok, err := s.store.LeaseJob(ctx, opts.Owner, s.now(), opts.Lease)
		if err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "leasing an analysis job", "error", err)
		}
		if ok {
			s.notifyWorkers() // there may be more: let an idle worker look too
			s.runJob(jobCtx, job, opts)
			continue
		}
		select {
		case <-ctx.Done():
		case <-s.wake:
		case <-ticker.C:
		}
	}
}

// errLeaseLost marks a run whose lease passed to another worker mid-way.
var errLeaseLost = errors.New("lease lost")

// runJob analyses a leased job's claim, keeping the lease alive, and settles the job: done,
// released (cut short), retried after a backoff, or failed for good.
func (s *Service) runJob(ctx context.Context, job claim.AnalysisJob, opts WorkerOptions) {
	start := time.Now()
	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	heartbeatDone := make(chan struct{})
	go func() {
		defer close(heartbeatDone)
		s.heartbeat(runCtx, job, opts.Lease, cancel)
	}()

	err := s.analyzeClaim(runCtx, job)
	cancel(nil)
	<-heartbeatDone

	log := s.log.With("job_id", job.ID, "claim_id", job.ClaimID)
	outcome := OutcomeDone
	switch {
	case err == nil:
		log.Info("claim analysed", "seconds", time.Since(start).Seconds())
	case errors.Is(err, errLeaseLost) || errors.Is(context.Cause(runCtx), errLeaseLost):
		outcome = OutcomeReleased
		log.Warn("analysis lease lost to another worker; its result is discarded")
	case ctx.Err() != nil:
		// Shutdown cut the run short: put the job back without counting an attempt.
		outcome = OutcomeReleased
		if rerr := s.settle(func(ctx context.Context) error {
			return s.store.ReleaseJob(ctx, job, s.now(), job.Attempts, job.LastError)
		}); rerr != nil {
			log.Warn("could not release the analysis job; it runs again when its lease expires", "error", rerr)
		}
		log.Info("analysis cut short by shutdown; the job is back in the queue")
	default:
		attempts := job.Attempts + 1
		if attempts >= opts.MaxAttempts {
			outcome = OutcomeFailed
			log.Error("analysis failed for good; the claim goes to review without a report", "attempts", attempts, "error", err)
			if ferr := s.settle(func(ctx context.Context) error { return s.failAnalysis(ctx, job, attempts, err) }); ferr != nil {
				log.Error("could not park the failed analysis job", "error", ferr)
			}
		} else {
			outcome = OutcomeRetry
			wait := backoff(attempts)
			log.Warn("analysis failed; retrying", "attempts", attempts, "retry_in", wait.String(), "error", err)
			if rerr := s.settle(func(ctx context.Context) error {
				return s.store.ReleaseJob(ctx, job, s.now().Add(wait), attempts, err.Error())
			}); rerr != nil {
				log.Warn("could not requeue the analysis job; it runs again when its lease expires", "error", rerr)
			}
		}
	}
	s.observer.AnalysisFinished(outcome, time.Since(start))
}

// settle runs a job's book-keeping after its run's context may have ended.
func (s *Service) settle(fn func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return fn(ctx)
}

func backoff(attempts int) time.Duration {
	d := 5 * time.Second << min(attempts-1, 10)
	return min(d, 5*time.Minute)
}

// heartbeat renews the job's lease every lease/3 until ctx ends; losing the lease cancels
// the run.
func (s *Service) heartbeat(ctx context.Context, job claim.AnalysisJob, lease time.Duration, cancel context.CancelCauseFunc) {
	t := time.NewTicker(lease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			err := s.store.ExtendLease(ctx, job, s.now().Add(lease))
			if claim.ErrorCode(err) == claim.CodeConflict {
				cancel(errLeaseLost)
				return
			}
			if err != nil && ctx.Err() == nil {
				s.log.Warn("analysis lease heartbeat failed", "job_id", job.ID, "error", err)
			}
		}
	}
}

// analyzeClaim runs forensics on every unanalysed evidence photo of the job's claim, against
// the order's packing photos and its SKUs' catalog photos with the order's times, then
// stores the reports and moves the claim on, all in one transaction with its audit event.
func (s *Service) analyzeClaim(ctx context.Context, job claim.AnalysisJob) error {
	started := time.Now() // the duplicate lookups see every photo committed before this
	c, err := s.store.GetClaim(ctx, job.ClaimID)
	if err != nil {
		return err
	}
	order, err := s.store.GetOrder(ctx, c.OrderID)
	if err != nil {
		return err
	}
	evs, err := s.store.ListEvidence(ctx, c.ID)
	if err != nil {
		return err
	}
	refs, err := s.references(ctx, order)
	if err != nil {
		return err
	}
	refs = forensics.ShareDecodes(refs) // one decode per reference for all of the claim's photos
	times := forensics.Times{PlacedAt: order.PlacedAt}
	if order.ShippedAt != nil {
		times.ShippedAt = *order.ShippedAt
	}
	if order.DeliveredAt != nil {
		times.DeliveredAt = *order.DeliveredAt
	}

	var results []claim.Evidence
	for _, ev := range evs {
		if len(ev.Report) > 0 {
			continue
		}
		data, err := s.blobs.Get(ctx, ev.SHA256)
		if err != nil {
			return fmt.Errorf("reading evidence %s: %w", ev.ID, err)
		}
		res := s.analyzer.Analyze(ctx, forensics.Input{Name: ev.ID, Data: data}, refs, times)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if res.Report.Error != nil && res.Report.Error.Code == forensics.ErrCodeCanceled {
			return context.Canceled
		}
		if res.Report.Error == nil && ev.Source == claim.SourceBuyer {
			// Reuse across claims is the server's own finding, added before the rules read the report.
			dup, found, err := s.duplicateFinding(ctx, started, c, ev)
			if err != nil {
				return fmt.Errorf("looking for evidence %s in other claims: %w", ev.ID, err)
			}
			if found {
				res.Report.Findings = append(res.Report.Findings, dup)
				res.Report.Risk = forensics.Risk(res.Report.Findings)
			}
		}
		if ev.Report, err = json.Marshal(res.Report); err != nil {
			return fmt.Errorf("encoding the report of %s: %w", ev.ID, err)
		}
		ev.Risk = res.Report.Risk
		if len(res.Heatmap) > 0 {
			if ev.HeatmapSHA, err = s.blobs.Put(ctx, res.Heatmap); err != nil {
				return fmt.Errorf("storing the heatmap of %s: %w", ev.ID, err)
			}
		}
		results = append(results, ev)
	}
	return s.storeAnalysis(ctx, job, c.ID, results)
}

// references lists the photos evidence is compared with. Finding "reference" fields name
// reference images by id.
func (s *Service) references(ctx context.Context, o claim.Order) ([]forensics.Reference, error) {
	imgs, err := s.store.OrderImages(ctx, o.ID)
	if err != nil {
		return nil, err
	}
	skus := make([]string, 0, len(o.Items))
	for _, it := range o.Items {
		skus = append(skus, it.SKU)
	}
	catalog, err := s.store.ProductImages(ctx, o.MerchantID, skus)
	if err != nil {
		return nil, err
	}
	imgs = append(imgs, catalog...)
	refs := make([]forensics.Reference, 0, len(imgs))
	for _, img := range imgs {
		// Key: a photo's decode is the same for every claim, so the analyzer's reference
		// cache (serve --reference-cache) keeps it by the blob's sha256 across jobs.
		ref := forensics.Reference{Name: img.ID, Key: img.SHA256, Load: func(ctx context.Context) ([]byte, error) {
			return s.blobs.Get(ctx, img.SHA256)
		}}
		if img.Hashes.PDQ != "" {
			ref.Hashes = &forensics.Hashes{PDQ: img.Hashes.PDQ, PDQQuality: img.Hashes.PDQQuality,
				PHash: img.Hashes.PHash, DHash: img.Hashes.DHash}
		}
		refs = append(refs, ref)
	}
	return refs, nil
}

// storeAnalysis saves the reports and settles the job in one transaction: if evidence arrived
// while this run worked, the job goes back to the queue for it; otherwise the job is done and
// an analysing claim moves on.
func (s *Service) storeAnalysis(ctx context.Context, job claim.AnalysisJob, claimID string, results []claim.Evidence) error {
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		c, err := s.store.GetClaimForUpdate(ctx, claimID)
		if err != nil {
			return err
		}
		done := make(map[string]bool, len(results))
		for _, ev := range results {
			if err := s.store.SaveAnalysis(ctx, ev); err != nil {
				return err
			}
			done[ev.ID] = true
		}
		all, err := s.store.ListEvidence(ctx, claimID)
		if err != nil {
			return err
		}
		pending := 0
		risk := 0
		summary := make([]map[string]any, 0, len(results))
		for _, ev := range all {
			if len(ev.Report) == 0 {
				pending++
			}
			if ev.Source == claim.SourceBuyer {
				risk = max(risk, ev.Risk)
			}
			if done[ev.ID] {
				summary = append(summary, map[string]any{"evidence_id": ev.ID, "risk": ev.Risk})
			}
		}
		if pending > 0 {
			err = s.store.ReleaseJob(ctx, job, s.now(), job.Attempts, job.LastError)
		} else {
			err = s.store.CompleteJob(ctx, job)
		}
		if err != nil {
			if claim.ErrorCode(err) == claim.CodeConflict {
				return errLeaseLost
			}
			return err
		}
		before := map[string]any{"status": c.Status, "risk": c.Risk}
		c.Risk = risk
		if c, err = s.store.UpdateClaim(ctx, c, c.Status); err != nil {
			return err
		}
		if err := s.audit(ctx, "system:analysis", "claim.analyzed", "claim", c.ID, before,
			map[string]any{"status": c.Status, "risk": c.Risk, "evidence": summary, "pending": pending}); err != nil {
			return err
		}
		if pending > 0 {
			return nil
		}
		switch c.Status {
		case claim.StatusAnalyzing:
			_, err = s.route(ctx, c, actorRules)
		case claim.StatusAppealed:
			_, err = s.startAppealReview(ctx, c)
		}
		return err
	})
	if err == nil {
		s.notifyWorkers()
	}
	return err
}

// failAnalysis parks a job that failed too often and sends an analysing claim to review, so
// a person looks at it rather than it waiting forever.
func (s *Service) failAnalysis(ctx context.Context, job claim.AnalysisJob, attempts int, cause error) error {
	return s.store.InTx(ctx, func(ctx context.Context) error {
		if err := s.store.FailJob(ctx, job, attempts, cause.Error()); err != nil {
			return err
		}
		c, err := s.store.GetClaimForUpdate(ctx, job.ClaimID)
		if err != nil {
			return err
		}
		after := c
		if c.Status == claim.StatusAnalyzing || c.Status == claim.StatusAppealed {
			why := "the forensic analysis failed " + strconv.Itoa(attempts) + " times: a reviewer judges the photos unaided"
			if c.Status == claim.StatusAppealed {
				after, err = s.startAppealReview(ctx, c)
			} else {
				after, err = s.sendToReview(ctx, c, why, "system:analysis")
			}
			if err != nil {
				return err
			}
		}
		return s.audit(ctx, "system:analysis", "claim.analysis_failed", "claim", c.ID,
			map[string]any{"status": c.Status}, map[string]any{"status": after.Status, "attempts": attempts})
	})
}
