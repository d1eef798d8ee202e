package adjudicate

// Deadlines. A background sweeper moves claims whose deadline has passed:
//
//   - the merchant's response window (awaiting_merchant): the rules route the claim again
//     with merchant.window_expired set, so a silent merchant never stalls a clean claim;
//   - a request for the buyer's evidence (awaiting_buyer_evidence): the rules are evaluated
//     for the record, and the claim goes to a reviewer at least (who may reject it for
//     insufficient evidence); silence never earns a refund by itself;
//   - the appeal window of a decided claim: the claim is closed;
//
// and returns review tasks whose lease expired to the open state.

import (
	"context"
	"time"

	"github.com/refundguard/refundguard/pkg/claim"
)

// SweepResult counts what one sweep moved.
type SweepResult struct {
	MerchantWindows  int   // claims re-routed after the merchant's window
	EvidenceRequests int   // claims sent to review after the buyer's evidence deadline
	Closed           int   // decided claims closed after the appeal window
	LeasesReleased   int64 // review tasks whose lease expired, back to open
}

// sweepBatch bounds the claims one sweep reads per kind of deadline; a backlog drains over
// consecutive sweeps.
const sweepBatch = 200

// actorDeadline is the audit actor of moves made because a deadline passed.
const actorDeadline = "system:deadlines"

// SweepDeadlines runs one pass over the deadlines that have passed at the service clock's
// now. Each claim moves in a transaction of its own that checks, under the claim's lock,
// that it is still where the sweep found it.
func (s *Service) SweepDeadlines(ctx context.Context) (SweepResult, error) {
	var res SweepResult
	now := s.now()
	var err error
	if res.LeasesReleased, err = s.store.ReleaseExpiredLeases(ctx, now); err != nil {
		return res, err
	}
	passes := []struct {
		status claim.Status
		which  string
		count  *int
		move   func(ctx context.Context, c claim.Claim) error
	}{
		{claim.StatusAwaitingMerchant, "merchant", &res.MerchantWindows, func(ctx context.Context, c claim.Claim) error {
			_, err := s.route(ctx, c, actorDeadline)
			return err
		}},
		{claim.StatusAwaitingBuyerEvidence, "buyer", &res.EvidenceRequests, func(ctx context.Context, c claim.Claim) error {
			r, err := s.evaluate(ctx, c)
			if err != nil {
				return err
			}
			r.route = claim.RouteReview
			if r.result.Route == "review_priority" {
				r.route = claim.RouteReviewPriority
			}
			r.note = "the buyer did not send the photos asked for by " + c.BuyerDeadline.UTC().Format(time.RFC3339)
			_, err = s.applyRouting(ctx, c, r, actorDeadline)
			return err
		}},
		{claim.StatusApproved, "appeal", &res.Closed, s.closeClaim},
		{claim.StatusPartiallyApproved, "appeal", &res.Closed, s.closeClaim},
		{claim.StatusRejected, "appeal", &res.Closed, s.closeClaim},
	}
	for _, pass := range passes {
		due, err := s.store.ClaimsPastDeadline(ctx, pass.status, pass.which, now, sweepBatch)
		if err != nil {
			return res, err
		}
		for _, found := range due {
			moved := false
			err := s.store.InTx(ctx, func(ctx context.Context) error {
				c, err := s.store.GetClaimForUpdate(ctx, found.ID)
				if err != nil {
					return err
				}
				if c.Status != pass.status || !deadlinePassed(c, pass.which, now) {
					return nil // moved on since the sweep read it
				}
				moved = true
				return pass.move(ctx, c)
			})
			if err != nil {
				if ctx.Err() != nil {
					return res, ctx.Err()
				}
				// One broken claim must not hold up the rest; it is tried again next sweep.
				s.log.ErrorContext(ctx, "deadline sweep could not move a claim", "claim_id", found.ID, "deadline", pass.which, "error", err)
				continue
			}
			if moved {
				*pass.count++
			}
		}
	}
	return res, nil
}

func deadlinePassed(c claim.Claim, which string, now time.Time) bool {
	var d *time.Time
	switch which {
	case "merchant":
		d = c.MerchantDeadline
	case "buyer":
		d = c.BuyerDeadline
	case "appeal":
		d = c.AppealDeadline
	}
	return d != nil && !now.Before(*d)
}

// closeClaim closes a decided claim whose appeal window has passed.
func (s *Service) closeClaim(ctx context.Context, c claim.Claim) error {
	closed, err := s.move(ctx, c, claim.StatusClosed)
	if err != nil {
		return err
	}
	return s.audit(ctx, actorDeadline, "claim.closed", "claim", c.ID, map[string]any{"status": c.Status},
		map[string]any{"status": closed.Status, "outcome": closed.Outcome, "appeal_deadline": c.AppealDeadline})
}

// RunSweeper sweeps the deadlines every interval (default 1 minute) until ctx ends.
func (s *Service) RunSweeper(ctx context.Context, interval time.Duration) error {
	if interval <= 0 {
		interval = time.Minute
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		res, err := s.SweepDeadlines(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			s.log.ErrorContext(ctx, "deadline sweep failed", "error", err)
		case res != SweepResult{}:
			s.log.InfoContext(ctx, "deadlines swept", "merchant_windows", res.MerchantWindows,
				"evidence_requests", res.EvidenceRequests, "closed", res.Closed, "leases_released", res.LeasesReleased)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
