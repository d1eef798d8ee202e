package store

import (
	"context"
	"encoding/json"
	"math"
	"slices"
	"time"

	"gorm.io/gorm"

	"github.com/refundguard/refundguard/pkg/claim"
)

// ---- decisions ----

// CreateDecision stores a routing or a ruling. An empty ID is assigned. Decisions are never
// changed afterwards: a confirmation or a reversal is a decision of its own.
func (s *Store) CreateDecision(ctx context.Context, d claim.Decision) (claim.Decision, error) {
	if d.ID == "" {
		d.ID = newID("dec")
	}
	if d.CreatedAt.IsZero() {
		d.CreatedAt = s.now()
	}
	row, err := decisionToRow(d)
	if err != nil {
		return claim.Decision{}, err
	}
	if err := s.write(ctx).Create(&row).Error; err != nil {
		return claim.Decision{}, s.translate(err, "decision")
	}
	return decisionFromRow(row)
}

// GetDecision returns the decision with id.
func (s *Store) GetDecision(ctx context.Context, id string) (claim.Decision, error) {
	var row decisionRow
	if err := s.read(ctx).Where("id = ?", id).Take(&row).Error; err != nil {
		return claim.Decision{}, s.translate(err, "decision")
	}
	return decisionFromRow(row)
}

// ListDecisions returns a claim's decisions, oldest first.
func (s *Store) ListDecisions(ctx context.Context, claimID string) ([]claim.Decision, error) {
	out, err := s.DecisionsForClaims(ctx, []string{claimID})
	return out[claimID], err
}

// DecisionsForClaims returns the decisions of several claims, oldest first per claim.
func (s *Store) DecisionsForClaims(ctx context.Context, claimIDs []string) (map[string][]claim.Decision, error) {
	out := make(map[string][]claim.Decision, len(claimIDs))
	if len(claimIDs) == 0 {
		return out, nil
	}
	var rows []decisionRow
	if err := s.read(ctx).Where("claim_id IN ?", claimIDs).Order("seq").Find(&rows).Error; err != nil {
		return nil, s.translate(err, "decisions")
	}
	for _, r := range rows {
		d, err := decisionFromRow(r)
		if err != nil {
			return nil, err
		}
		out[d.ClaimID] = append(out[d.ClaimID], d)
	}
	return out, nil
}

// ---- review tasks ----

// CreateTask puts a task in the review queue, with its barred reviewers (ExcludeReviewers,
// duplicates dropped), in one transaction. An empty ID is assigned; the state defaults to
// open.
func (s *Store) CreateTask(ctx context.Context, t claim.ReviewTask) (claim.ReviewTask, error) {
	if t.ID == "" {
		t.ID = newID("tsk")
	}
	if t.State == "" {
		t.State = claim.TaskOpen
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = s.now()
	}
	var barred []string
	for _, r := range t.ExcludeReviewers {
		if r != "" && !slices.Contains(barred, r) {
			barred = append(barred, r)
		}
	}
	t.ExcludeReviewers = barred
	row := taskToRow(t)
	err := s.InTx(ctx, func(ctx context.Context) error {
		db := s.write(ctx)
		if err := db.Create(&row).Error; err != nil {
			return s.translate(err, "review task")
		}
		if len(barred) == 0 {
			return nil
		}
		xs := make([]taskExclusionRow, len(barred))
		for i, r := range barred {
			xs[i] = taskExclusionRow{TaskID: row.ID, Reviewer: r, Ordinal: int64(i)}
		}
		if err := db.Create(&xs).Error; err != nil {
			return s.translate(err, "review task exclusions")
		}
		return nil
	})
	if err != nil {
		return claim.ReviewTask{}, err
	}
	out := taskFromRow(row)
	out.ExcludeReviewers = barred
	return out, nil
}

// GetTask returns the task with id.
func (s *Store) GetTask(ctx context.Context, id string) (claim.ReviewTask, error) {
	return s.takeTask(ctx, s.read(ctx), "id = ?", id)
}

// GetTaskForUpdate is GetTask that locks the task until the transaction in ctx ends.
func (s *Store) GetTaskForUpdate(ctx context.Context, id string) (claim.ReviewTask, error) {
	return s.takeTask(ctx, s.d.forUpdate(s.write(ctx)), "id = ?", id)
}

func (s *Store) takeTask(ctx context.Context, q *gorm.DB, where string, args ...any) (claim.ReviewTask, error) {
	var row taskRow
	if err := q.Where(where, args...).Take(&row).Error; err != nil {
		return claim.ReviewTask{}, s.translate(err, "review task")
	}
	return s.taskWithBars(ctx, row)
}

// taskWithBars is tasksFromRows for one row.
func (s *Store) taskWithBars(ctx context.Context, row taskRow) (claim.ReviewTask, error) {
	tasks, err := s.tasksFromRows(ctx, []taskRow{row})
	if err != nil {
		return claim.ReviewTask{}, err
	}
	return tasks[0], nil
}

// tasksFromRows converts task rows and reads each task's barred reviewers. A task's bars are
// written in the transaction that creates it and never change, so reading them in a
// statement of their own sees exactly the bars of every task the first read saw.
func (s *Store) tasksFromRows(ctx context.Context, rows []taskRow) ([]claim.ReviewTask, error) {
	out := make([]claim.ReviewTask, len(rows))
	at := make(map[string]int, len(rows))
	ids := make([]string, len(rows))
	for i, r := range rows {
		out[i], at[r.ID], ids[i] = taskFromRow(r), i, r.ID
	}
	if len(rows) == 0 {
		return out, nil
	}
	var xs []taskExclusionRow
	if err := s.read(ctx).Where("task_id IN ?", ids).Order("task_id, ordinal").Find(&xs).Error; err != nil {
		return nil, s.translate(err, "review task exclusions")
	}
	for _, x := range xs {
		i := at[x.TaskID]
		out[i].ExcludeReviewers = append(out[i].ExcludeReviewers, x.Reviewer)
	}
	return out, nil
}

// queueOrder is the review queue's order: priority first (route and amount, see the
// service), then the nearest deadline, then the highest risk, then the oldest. Tasks always
// carry a deadline; the CASE keeps NULLs last in both dialects all the same.
const queueOrder = "priority DESC, CASE WHEN deadline IS NULL THEN 1 ELSE 0 END, deadline, risk DESC, seq"

// leasable selects tasks a reviewer may take: open, or leased under a lease that has
// expired (its reviewer went away). Arguments: now.
const leasableTask = "(state = 'open' OR (state = 'leased' AND lease_expires_at < ?))"

// notBarred selects tasks that do not bar the reviewer: no review_task_exclusions row names
// it, nor the legacy exclude_reviewer column (see taskRow). Arguments: reviewer, reviewer.
const notBarred = "(exclude_reviewer <> ? AND NOT EXISTS (SELECT 1 FROM review_task_exclusions x " +
	"WHERE x.task_id = review_tasks.id AND x.reviewer = ?))"

// LeaseTask hands reviewer the next task until now+lease: the one it already holds, if any
// (renewed, so reloading a page never takes a second task), else the first leasable task in
// queue order that is not barred to it (ExcludeReviewers). ok is false when there is none:
// a task that bars every reviewer who asks waits in the queue; it is never handed to one of
// them.
//
// Two reviewers never hold the same task: the task is taken by a conditional UPDATE that
// matches only while the task is still leasable, inside a transaction that (on PostgreSQL)
// read it with FOR UPDATE SKIP LOCKED, so concurrent leases pass over each other's rows; on
// SQLite the single writer serialises them. The bars are part of that one read (NOT EXISTS
// on the task's exclusion rows, which never change once the task exists).
func (s *Store) LeaseTask(ctx context.Context, reviewer string, now time.Time, lease time.Duration) (claim.ReviewTask, bool, error) {
	now = stamp(now)
	expires := stamp(now.Add(lease))
	var (
		out claim.ReviewTask
		ok  bool
	)
	err := s.InTx(ctx, func(ctx context.Context) error {
		db := s.write(ctx)
		var held taskRow
		err := s.d.forUpdate(db).Where("state = 'leased' AND leased_by = ? AND lease_expires_at >= ? AND "+notBarred,
			reviewer, now, reviewer, reviewer).Order(queueOrder).Limit(1).Find(&held).Error
		if err != nil {
			return s.translate(err, "review task")
		}
		if held.ID != "" {
			if err := db.Model(&taskRow{}).Where("id = ?", held.ID).Update("lease_expires_at", expires).Error; err != nil {
				return s.translate(err, "review task")
			}
			held.LeaseExpiresAt = &expires
			out, err = s.taskWithBars(ctx, held)
			ok = err == nil
			return err
		}
		// A candidate can only slip away between the read and the update on a database
		// without SKIP LOCKED semantics for it; try the next one then.
		for range 5 {
			var row taskRow
			q := s.d.skipLocked(db).Where(leasableTask+" AND "+notBarred, now, reviewer, reviewer).
				Order(queueOrder).Limit(1)
			if err := q.Find(&row).Error; err != nil {
				return s.translate(err, "review task")
			}
			if row.ID == "" {
				return nil
			}
			res := db.Model(&taskRow{}).Where("id = ? AND "+leasableTask, row.ID, now).
				Updates(map[string]any{"state": string(claim.TaskLeased), "leased_by": reviewer, "lease_expires_at": expires})
			if res.Error != nil {
				return s.translate(res.Error, "review task")
			}
			if res.RowsAffected == 1 {
				row.State, row.LeasedBy, row.LeaseExpiresAt = string(claim.TaskLeased), reviewer, &expires
				out, err = s.taskWithBars(ctx, row)
				ok = err == nil
				return err
			}
		}
		return claim.Errorf(claim.CodeUnavailable, "the review queue is busy; retry")
	})
	return out, ok, err
}

// errTaskNotHeld refuses work on a task whose lease the caller does not hold.
func errTaskNotHeld(what string) error {
	return claim.Errorf(claim.CodeConflict, "you do not hold this task's lease (it expired and passed to another reviewer, was completed, or was never yours); %s", what)
}

// ExtendTaskLease moves the lease of a task reviewer holds to until. A lease that expired
// while nobody else took the task is still the reviewer's to extend.
func (s *Store) ExtendTaskLease(ctx context.Context, id, reviewer string, until time.Time) (claim.ReviewTask, error) {
	res := s.write(ctx).Model(&taskRow{}).Where("id = ? AND state = 'leased' AND leased_by = ?", id, reviewer).
		Update("lease_expires_at", stamp(until))
	if res.Error != nil {
		return claim.ReviewTask{}, s.translate(res.Error, "review task")
	}
	if res.RowsAffected == 0 {
		if _, err := s.GetTask(ctx, id); err != nil {
			return claim.ReviewTask{}, err
		}
		return claim.ReviewTask{}, errTaskNotHeld("lease the next task")
	}
	return s.GetTask(ctx, id)
}

// CompleteTask marks a task reviewer holds as done.
func (s *Store) CompleteTask(ctx context.Context, id, reviewer string, at time.Time) error {
	res := s.write(ctx).Model(&taskRow{}).Where("id = ? AND state = 'leased' AND leased_by = ?", id, reviewer).
		Updates(map[string]any{"state": string(claim.TaskDone), "completed_at": stamp(at), "lease_expires_at": nil})
	if res.Error != nil {
		return s.translate(res.Error, "review task")
	}
	if res.RowsAffected == 0 {
		return errTaskNotHeld("your decision was not recorded")
	}
	return nil
}

// CloseClaimTasks marks every unfinished task of a claim done (the claim was withdrawn or
// decided elsewhere) and returns how many it closed.
func (s *Store) CloseClaimTasks(ctx context.Context, claimID string, at time.Time) (int64, error) {
	res := s.write(ctx).Model(&taskRow{}).Where("claim_id = ? AND state <> 'done'", claimID).
		Updates(map[string]any{"state": string(claim.TaskDone), "completed_at": stamp(at), "lease_expires_at": nil})
	if res.Error != nil {
		return 0, s.translate(res.Error, "review tasks")
	}
	return res.RowsAffected, nil
}

// ReleaseExpiredLeases puts tasks whose lease expired back in the open state, so queue views
// show them as waiting. (Leasing already treats them as available; this is book-keeping.)
func (s *Store) ReleaseExpiredLeases(ctx context.Context, now time.Time) (int64, error) {
	res := s.write(ctx).Model(&taskRow{}).Where("state = 'leased' AND lease_expires_at < ?", stamp(now)).
		Updates(map[string]any{"state": string(claim.TaskOpen), "leased_by": "", "lease_expires_at": nil})
	if res.Error != nil {
		return 0, s.translate(res.Error, "review tasks")
	}
	return res.RowsAffected, nil
}

// ListTasks returns tasks in queue order.
func (s *Store) ListTasks(ctx context.Context, q claim.TaskQuery) ([]claim.ReviewTask, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = defaultPage
	}
	limit = min(limit, maxPage)
	db := s.read(ctx).Model(&taskRow{})
	if q.ClaimID != "" {
		db = db.Where("claim_id = ?", q.ClaimID)
	}
	if q.Kind != "" {
		db = db.Where("kind = ?", string(q.Kind))
	}
	if q.Route != "" {
		db = db.Where("route = ?", string(q.Route))
	}
	states := []string{string(claim.TaskOpen), string(claim.TaskLeased)}
	if len(q.States) > 0 {
		states = states[:0]
		for _, st := range q.States {
			states = append(states, string(st))
		}
	}
	var rows []taskRow
	if err := db.Where("state IN ?", states).Order(queueOrder).Limit(limit).Find(&rows).Error; err != nil {
		return nil, s.translate(err, "review tasks")
	}
	return s.tasksFromRows(ctx, rows)
}

// ClaimTasks returns every task of a claim, oldest first, whatever its state.
func (s *Store) ClaimTasks(ctx context.Context, claimID string) ([]claim.ReviewTask, error) {
	var rows []taskRow
	if err := s.read(ctx).Where("claim_id = ?", claimID).Order("seq").Find(&rows).Error; err != nil {
		return nil, s.translate(err, "review tasks")
	}
	return s.tasksFromRows(ctx, rows)
}

// ---- rule sets ----

// CreateRuleSet stores a rule set version (inactive unless rs.Active). An empty ID is
// assigned; a version already stored is a conflict.
func (s *Store) CreateRuleSet(ctx context.Context, rs claim.RuleSetVersion) (claim.RuleSetVersion, error) {
	if rs.ID == "" {
		rs.ID = newID("rs")
	}
	if rs.CreatedAt.IsZero() {
		rs.CreatedAt = s.now()
	}
	row := ruleSetRow{ID: rs.ID, Version: rs.Version, Name: rs.Name, Revision: rs.Revision, YAML: string(rs.YAML),
		CreatedBy: rs.CreatedBy, CreatedAt: stamp(rs.CreatedAt), Active: rs.Active}
	if err := s.write(ctx).Create(&row).Error; err != nil {
		return claim.RuleSetVersion{}, s.translate(err, "rule set version")
	}
	return ruleSetFromRow(row), nil
}

// GetRuleSet returns the rule set with id.
func (s *Store) GetRuleSet(ctx context.Context, id string) (claim.RuleSetVersion, error) {
	return s.takeRuleSet(s.read(ctx), "id = ?", id)
}

// RuleSetByVersion returns the rule set stored under a content hash.
func (s *Store) RuleSetByVersion(ctx context.Context, version string) (claim.RuleSetVersion, error) {
	return s.takeRuleSet(s.read(ctx), "version = ?", version)
}

// ActiveRuleSet returns the rule set that routes claims (not_found when none is active).
func (s *Store) ActiveRuleSet(ctx context.Context) (claim.RuleSetVersion, error) {
	return s.takeRuleSet(s.read(ctx), "active = ?", true)
}

func (s *Store) takeRuleSet(q *gorm.DB, where string, args ...any) (claim.RuleSetVersion, error) {
	var row ruleSetRow
	if err := q.Where(where, args...).Order("created_at DESC, id").Limit(1).Take(&row).Error; err != nil {
		return claim.RuleSetVersion{}, s.translate(err, "rule set")
	}
	return ruleSetFromRow(row), nil
}

// ListRuleSets returns every stored version, newest first.
func (s *Store) ListRuleSets(ctx context.Context) ([]claim.RuleSetVersion, error) {
	var rows []ruleSetRow
	if err := s.read(ctx).Order("created_at DESC, id").Find(&rows).Error; err != nil {
		return nil, s.translate(err, "rule sets")
	}
	out := make([]claim.RuleSetVersion, len(rows))
	for i, r := range rows {
		out[i] = ruleSetFromRow(r)
	}
	return out, nil
}

// ActivateRuleSet makes the set with id the only active one.
func (s *Store) ActivateRuleSet(ctx context.Context, id string) (claim.RuleSetVersion, error) {
	var out claim.RuleSetVersion
	err := s.InTx(ctx, func(ctx context.Context) error {
		db := s.write(ctx)
		if err := s.d.serialize(db, "rule_sets"); err != nil {
			return s.translate(err, "rule sets")
		}
		if _, err := s.GetRuleSet(ctx, id); err != nil {
			return err
		}
		if err := db.Model(&ruleSetRow{}).Where("active = ? AND id <> ?", true, id).Update("active", false).Error; err != nil {
			return s.translate(err, "rule sets")
		}
		if err := db.Model(&ruleSetRow{}).Where("id = ?", id).Update("active", true).Error; err != nil {
			return s.translate(err, "rule set")
		}
		var err error
		out, err = s.GetRuleSet(ctx, id)
		return err
	})
	return out, err
}

// ---- buyers ----

// CreateBuyerFlag records a reviewer's flag on a buyer. An empty ID is assigned.
func (s *Store) CreateBuyerFlag(ctx context.Context, f claim.BuyerFlag) (claim.BuyerFlag, error) {
	if f.ID == "" {
		f.ID = newID("flg")
	}
	if f.CreatedAt.IsZero() {
		f.CreatedAt = s.now()
	}
	row := buyerFlagRow{ID: f.ID, BuyerID: f.BuyerID, Reason: f.Reason, By: f.By, CreatedAt: stamp(f.CreatedAt)}
	if err := s.write(ctx).Create(&row).Error; err != nil {
		return claim.BuyerFlag{}, s.translate(err, "buyer flag")
	}
	return flagFromRow(row), nil
}

// BuyerFlags returns a buyer's flags, oldest first.
func (s *Store) BuyerFlags(ctx context.Context, buyerID string) ([]claim.BuyerFlag, error) {
	var rows []buyerFlagRow
	if err := s.read(ctx).Where("buyer_id = ?", buyerID).Order("seq").Find(&rows).Error; err != nil {
		return nil, s.translate(err, "buyer flags")
	}
	out := make([]claim.BuyerFlag, len(rows))
	for i, r := range rows {
		out[i] = flagFromRow(r)
	}
	return out, nil
}

// BuyerClaims returns every claim a buyer filed (with any merchant) since a time, oldest
// first; the zero time means all of them.
func (s *Store) BuyerClaims(ctx context.Context, buyerID string, since time.Time) ([]claim.Claim, error) {
	db := s.read(ctx).Where("buyer_id = ?", buyerID)
	if !since.IsZero() {
		db = db.Where("created_at >= ?", stamp(since))
	}
	var rows []claimRow
	if err := db.Order("seq").Find(&rows).Error; err != nil {
		return nil, s.translate(err, "claims")
	}
	return claimsFromRows(rows), nil
}

// BuyerKnown reports whether any merchant registered an order for the buyer.
func (s *Store) BuyerKnown(ctx context.Context, buyerID string) (bool, error) {
	var n int64
	if err := s.read(ctx).Model(&orderRow{}).Where("buyer_id = ?", buyerID).Limit(1).Count(&n).Error; err != nil {
		return false, s.translate(err, "orders")
	}
	return n > 0, nil
}

// MerchantClaimRate counts the merchant's orders placed since a time and how many of them
// drew a claim.
func (s *Store) MerchantClaimRate(ctx context.Context, merchantID string, since time.Time) (orders, claimed int64, err error) {
	since = stamp(since)
	if err := s.read(ctx).Model(&orderRow{}).Where("merchant_id = ? AND placed_at >= ?", merchantID, since).Count(&orders).Error; err != nil {
		return 0, 0, s.translate(err, "orders")
	}
	sub := s.read(ctx).Model(&claimRow{}).Select("order_id").Where("merchant_id = ?", merchantID)
	if err := s.read(ctx).Model(&orderRow{}).Where("merchant_id = ? AND placed_at >= ? AND id IN (?)", merchantID, since, sub).
		Count(&claimed).Error; err != nil {
		return 0, 0, s.translate(err, "claims")
	}
	return orders, claimed, nil
}

// ---- appeals ----

// CreateAppeal stores an appeal. An empty ID is assigned.
func (s *Store) CreateAppeal(ctx context.Context, a claim.Appeal) (claim.Appeal, error) {
	if a.ID == "" {
		a.ID = newID("apl")
	}
	if a.CreatedAt.IsZero() {
		a.CreatedAt = s.now()
	}
	ids := a.EvidenceIDs
	if ids == nil {
		ids = []string{}
	}
	b, err := json.Marshal(ids)
	if err != nil {
		return claim.Appeal{}, internal(err, "encoding appeal evidence ids")
	}
	row := appealRow{ID: a.ID, ClaimID: a.ClaimID, By: a.By, Role: string(a.Role), Statement: a.Statement,
		EvidenceIDs: string(b), CreatedAt: stamp(a.CreatedAt)}
	if err := s.write(ctx).Create(&row).Error; err != nil {
		return claim.Appeal{}, s.translate(err, "appeal")
	}
	return appealFromRow(row)
}

// ListAppeals returns a claim's appeals, oldest first.
func (s *Store) ListAppeals(ctx context.Context, claimID string) ([]claim.Appeal, error) {
	var rows []appealRow
	if err := s.read(ctx).Where("claim_id = ?", claimID).Order("seq").Find(&rows).Error; err != nil {
		return nil, s.translate(err, "appeals")
	}
	out := make([]claim.Appeal, 0, len(rows))
	for _, r := range rows {
		a, err := appealFromRow(r)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// ---- deadlines and the duplicate index ----

// ClaimsPastDeadline returns up to limit claims in status whose deadline (which: "merchant",
// "buyer" or "appeal") is at or before now, earliest deadline first.
func (s *Store) ClaimsPastDeadline(ctx context.Context, status claim.Status, which string, now time.Time, limit int) ([]claim.Claim, error) {
	col := map[string]string{"merchant": "merchant_deadline", "buyer": "buyer_deadline", "appeal": "appeal_deadline"}[which]
	if col == "" {
		return nil, internal(nil, "unknown deadline %q", which)
	}
	var rows []claimRow
	err := s.read(ctx).Where("status = ? AND "+col+" IS NOT NULL AND "+col+" <= ?", string(status), stamp(now)).
		Order(col + ", seq").Limit(max(limit, 1)).Find(&rows).Error
	if err != nil {
		return nil, s.translate(err, "claims")
	}
	return claimsFromRows(rows), nil
}

// EvidenceHashesBetween calls fn with the seq, identity and hashes (ID, ClaimID, Source,
// Hashes, CreatedAt; no report) of every evidence photo whose seq is in [from, to], in seq
// (upload) order, reading the table in batches so a database of millions of photos never sits
// in memory at once. Each batch is one range scan of the primary key. fn's error stops the
// walk.
//
// Seqs are drawn when a row is inserted, so on PostgreSQL a transaction may commit a row below
// the highest seq another has already committed: a reader that follows the table by seq (the
// duplicate-evidence index) keeps the seqs it has not seen below its high-water mark and asks
// for them again. SQLite runs one write transaction at a time, so there rows commit in seq
// order.
func (s *Store) EvidenceHashesBetween(ctx context.Context, from, to int64, fn func(seq int64, ev claim.Evidence) error) error {
	const batch = 5000
	for from <= to {
		var rows []struct {
			Seq        int64
			ID         string
			ClaimID    string
			Source     string
			PDQ        string
			PDQQuality int
			PHash      string
			DHash      string
			CreatedAt  time.Time
		}
		err := evidenceHashBatch(s.read(ctx), from, to, batch).Scan(&rows).Error
		if err != nil {
			return s.translate(err, "evidence")
		}
		for _, r := range rows {
			ev := claim.Evidence{ID: r.ID, ClaimID: r.ClaimID, Source: claim.EvidenceSource(r.Source),
				Hashes: claim.Hashes{PDQ: r.PDQ, PDQQuality: r.PDQQuality, PHash: r.PHash, DHash: r.DHash}, CreatedAt: r.CreatedAt.UTC()}
			if err := fn(r.Seq, ev); err != nil {
				return err
			}
		}
		if len(rows) < batch || rows[len(rows)-1].Seq == math.MaxInt64 {
			return nil
		}
		from = rows[len(rows)-1].Seq + 1
	}
	return nil
}

// evidenceHashBatch is EvidenceHashesBetween's query: a range of the primary key.
func evidenceHashBatch(db *gorm.DB, from, to int64, limit int) *gorm.DB {
	return db.Model(&evidenceRow{}).Select("seq, id, claim_id, source, pdq, pdq_quality, p_hash, d_hash, created_at").
		Where("seq >= ? AND seq <= ?", from, to).Order("seq").Limit(limit)
}
