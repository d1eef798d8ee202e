package store

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"

	"github.com/refundguard/refundguard/pkg/claim"
)

// EnqueueAnalysis makes sure the claim has an analysis job that will look at its unanalysed
// evidence: it creates one, revives a failed one, or leaves a queued or running one alone (a
// running job re-checks for new evidence when it finishes). Call it in the transaction that
// stores the evidence.
func (s *Store) EnqueueAnalysis(ctx context.Context, claimID string) (claim.AnalysisJob, error) {
	var out claim.AnalysisJob
	err := s.InTx(ctx, func(ctx context.Context) error {
		db := s.write(ctx)
		var row jobRow
		err := db.Where("claim_id = ?", claimID).Take(&row).Error
		switch {
		case errors.Is(err, gorm.ErrRecordNotFound):
			now := s.now()
			row = jobRow{ID: newID("job"), ClaimID: claimID, AvailableAt: now, CreatedAt: now}
			if err := db.Create(&row).Error; err != nil {
				return s.translate(err, "analysis job")
			}
		case err != nil:
			return s.translate(err, "analysis job")
		case row.Failed:
			if err := db.Model(&jobRow{}).Where("id = ?", row.ID).Updates(map[string]any{
				"failed": false, "attempts": 0, "available_at": s.now(), "last_error": "",
			}).Error; err != nil {
				return s.translate(err, "analysis job")
			}
			if err := db.Where("id = ?", row.ID).Take(&row).Error; err != nil {
				return s.translate(err, "analysis job")
			}
		}
		out = jobFromRow(row)
		return nil
	})
	return out, err
}

// leasable selects jobs a worker may take at a time: not failed, past their backoff, and
// not held (or held under an expired lease). Arguments: false, now, now.
const leasable = "failed = ? AND available_at <= ? AND (lease_expires_at IS NULL OR lease_expires_at < ?)"

// LeaseJob hands the oldest available job to owner until now+lease, with a fresh lease token.
// A job whose lease has expired (its worker died) is available again. ok is false when there
// is nothing to do.
func (s *Store) LeaseJob(ctx context.Context, owner string, now time.Time, lease time.Duration) (job claim.AnalysisJob, ok bool, err error) {
	now = stamp(now)
	// Idle workers poll: look on a reader first, so an empty queue costs no write lock.
	var ready int64
	if err := s.read(ctx).Model(&jobRow{}).Where(leasable, false, now, now).Limit(1).Count(&ready).Error; err != nil {
		return job, false, s.translate(err, "analysis job")
	}
	if ready == 0 {
		return job, false, nil
	}
	err = s.InTx(ctx, func(ctx context.Context) error {
		var row jobRow
		q := s.d.skipLocked(s.write(ctx)).
			Where(leasable, false, now, now).
			Order("available_at, created_at, id").Limit(1)
		if err := q.Find(&row).Error; err != nil {
			return s.translate(err, "analysis job")
		}
		if row.ID == "" {
			return nil
		}
		expires := stamp(now.Add(lease))
		token := newID("lease")
		res := s.write(ctx).Model(&jobRow{}).Where("id = ? AND lease_token = ?", row.ID, row.LeaseToken).
			Updates(map[string]any{"lease_owner": owner, "lease_token": token, "lease_expires_at": expires})
		if res.Error != nil {
			return s.translate(res.Error, "analysis job")
		}
		if res.RowsAffected == 1 {
			row.LeaseOwner, row.LeaseToken, row.LeaseExpiresAt = owner, token, &expires
			job, ok = jobFromRow(row), true
		}
		return nil
	})
	return job, ok, err
}

// errLeaseLost is returned when a job's lease token no longer matches: the lease expired and
// another worker took the job, which now owns the outcome.
var errLeaseLost = claim.Errorf(claim.CodeConflict, "the analysis job's lease was lost to another worker")

// leased updates the job if the caller still holds its lease.
func (s *Store) leased(ctx context.Context, job claim.AnalysisJob, updates map[string]any) error {
	res := s.write(ctx).Model(&jobRow{}).Where("id = ? AND lease_token = ? AND lease_token <> ''", job.ID, job.LeaseToken).Updates(updates)
	if res.Error != nil {
		return s.translate(res.Error, "analysis job")
	}
	if res.RowsAffected == 0 {
		return errLeaseLost
	}
	return nil
}

// ExtendLease moves the lease's expiry to until, if the lease is still held.
func (s *Store) ExtendLease(ctx context.Context, job claim.AnalysisJob, until time.Time) error {
	return s.leased(ctx, job, map[string]any{"lease_expires_at": stamp(until)})
}

// ReleaseJob returns a leased job to the queue, available from availableAt. attempts and
// lastErr record a failed run (pass the job's own values for a run that was merely cut short).
func (s *Store) ReleaseJob(ctx context.Context, job claim.AnalysisJob, availableAt time.Time, attempts int, lastErr string) error {
	return s.leased(ctx, job, map[string]any{
		"lease_owner": "", "lease_token": "", "lease_expires_at": nil,
		"available_at": stamp(availableAt), "attempts": attempts, "last_error": lastErr,
	})
}

// FailJob parks a leased job as failed after too many attempts. It stays in the table for
// operators and is revived by the next EnqueueAnalysis for its claim.
func (s *Store) FailJob(ctx context.Context, job claim.AnalysisJob, attempts int, lastErr string) error {
	return s.leased(ctx, job, map[string]any{
		"lease_owner": "", "lease_token": "", "lease_expires_at": nil,
		"failed": true, "attempts": attempts, "last_error": lastErr,
	})
}

// CompleteJob deletes a finished job, if the caller still holds its lease.
func (s *Store) CompleteJob(ctx context.Context, job claim.AnalysisJob) error {
	res := s.write(ctx).Where("id = ? AND lease_token = ? AND lease_token <> ''", job.ID, job.LeaseToken).Delete(&jobRow{})
	if res.Error != nil {
		return s.translate(res.Error, "analysis job")
	}
	if res.RowsAffected == 0 {
		return errLeaseLost
	}
	return nil
}

// RequeueLeased returns every leased job to the queue at once, whoever holds it. Only for a
// database no other live instance uses: on SQLite, at start, the previous process is gone
// and waiting for its leases to expire would only delay its interrupted work.
func (s *Store) RequeueLeased(ctx context.Context) (int64, error) {
	res := s.write(ctx).Model(&jobRow{}).Where("lease_token <> '' AND failed = ?", false).
		Updates(map[string]any{"lease_owner": "", "lease_token": "", "lease_expires_at": nil})
	if res.Error != nil {
		return 0, s.translate(res.Error, "analysis jobs")
	}
	return res.RowsAffected, nil
}

// GetJob returns the analysis job with id.
func (s *Store) GetJob(ctx context.Context, id string) (claim.AnalysisJob, error) {
	var row jobRow
	if err := s.read(ctx).Where("id = ?", id).Take(&row).Error; err != nil {
		return claim.AnalysisJob{}, s.translate(err, "analysis job")
	}
	return jobFromRow(row), nil
}

// ListJobs returns every analysis job (queued, running or failed), oldest first.
func (s *Store) ListJobs(ctx context.Context) ([]claim.AnalysisJob, error) {
	var rows []jobRow
	if err := s.read(ctx).Order("created_at, id").Find(&rows).Error; err != nil {
		return nil, s.translate(err, "analysis jobs")
	}
	out := make([]claim.AnalysisJob, len(rows))
	for i, r := range rows {
		out[i] = jobFromRow(r)
	}
	return out, nil
}

// QueueDepth counts analysis jobs waiting or running (failed ones excluded).
func (s *Store) QueueDepth(ctx context.Context) (int64, error) {
	var n int64
	if err := s.read(ctx).Model(&jobRow{}).Where("failed = ?", false).Count(&n).Error; err != nil {
		return 0, s.translate(err, "analysis jobs")
	}
	return n, nil
}
