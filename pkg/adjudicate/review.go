package adjudicate

// The review queue: reviewers lease tasks, keep them with heartbeats and decide them. A
// rejection at or above the four-eyes threshold waits for a second, different reviewer; the
// buyer or the merchant may appeal a decision once, within the appeal window, to a reviewer
// who had no part in it.

import (
	"context"
	"regexp"
	"slices"
	"strings"

	"github.com/refundguard/refundguard/pkg/claim"
)

// requireReviewer admits the staff roles to the review queue.
func requireReviewer(p claim.Principal) error {
	return requireRole(p, claim.RoleReviewer, claim.RoleAdmin)
}

// LeaseTask hands the reviewer its next task: the one it already holds (renewed), else the
// first open task in queue order that it is not barred from (a second review of its own
// rejection, an appeal of a claim it ruled on), or a task whose lease expired. ok is false when
// the queue has nothing for it. Many reviewers may call it at once: none gets a task another
// holds.
func (s *Service) LeaseTask(ctx context.Context, p claim.Principal) (claim.ReviewTask, bool, error) {
	if err := requireReviewer(p); err != nil {
		return claim.ReviewTask{}, false, err
	}
	return s.store.LeaseTask(ctx, p.Actor(), s.now(), s.review.Lease)
}

// GetTask returns a review task (staff only).
func (s *Service) GetTask(ctx context.Context, p claim.Principal, id string) (claim.ReviewTask, error) {
	if err := requireReviewer(p); err != nil {
		return claim.ReviewTask{}, err
	}
	return s.store.GetTask(ctx, id)
}

// ListTasks returns the queue in lease order with each task's claim (staff only).
func (s *Service) ListTasks(ctx context.Context, p claim.Principal, f TaskFilter) ([]TaskView, error) {
	if err := requireReviewer(p); err != nil {
		return nil, err
	}
	q := claim.TaskQuery{Kind: f.Kind, Route: f.Route, Limit: f.Limit}
	if f.State != "" {
		q.States = []claim.TaskState{f.State}
	}
	tasks, err := s.store.ListTasks(ctx, q)
	if err != nil {
		return nil, err
	}
	out := make([]TaskView, 0, len(tasks))
	for _, t := range tasks {
		c, err := s.store.GetClaim(ctx, t.ClaimID)
		if err != nil {
			return nil, err
		}
		out = append(out, TaskView{Task: t, Claim: c, Amount: c.Amount})
	}
	return out, nil
}

// HeartbeatTask extends the caller's lease on a task by the lease duration. It is a
// conflict when the caller no longer holds the task (another reviewer took it after the
// lease expired, or it was decided).
func (s *Service) HeartbeatTask(ctx context.Context, p claim.Principal, id string) (claim.ReviewTask, error) {
	if err := requireReviewer(p); err != nil {
		return claim.ReviewTask{}, err
	}
	return s.store.ExtendTaskLease(ctx, id, p.Actor(), s.now().Add(s.review.Lease))
}

// reasonCodePattern is what a reason code looks like (rejections need one from the list).
var reasonCodePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// checkDecision validates a ruling against the claim, returning the refund amount (nil for
// rejections and evidence requests).
func (s *Service) checkDecision(in DecisionInput, c claim.Claim) (*claim.Money, error) {
	if err := s.validateText("note", in.Note); err != nil {
		return nil, err
	}
	if in.ReasonCode != "" && !reasonCodePattern.MatchString(in.ReasonCode) {
		return nil, claim.FieldError("reason_code", "reason_code must be a lower-case code such as %s", claim.ReasonFabricatedEvidence)
	}
	switch in.Outcome {
	case claim.OutcomeApprove:
		if in.Amount != nil && *in.Amount != c.Amount.Value {
			return nil, claim.FieldError("amount", "an approval refunds the claimed %s; use partial for less", c.Amount)
		}
		amount := c.Amount
		return &amount, nil
	case claim.OutcomePartial:
		switch {
		case in.Amount == nil:
			return nil, claim.FieldError("amount", "a partial refund needs an amount (minor units)")
		case *in.Amount <= 0 || *in.Amount >= c.Amount.Value:
			return nil, claim.FieldError("amount", "a partial refund is more than 0 and less than the claimed %s", c.Amount)
		}
		return &claim.Money{Value: *in.Amount, Currency: c.Amount.Currency}, nil
	case claim.OutcomeReject:
		if in.Amount != nil {
			return nil, claim.FieldError("amount", "a rejection refunds nothing; leave amount out")
		}
		for _, r := range claim.RejectReasons() {
			if in.ReasonCode == r {
				return nil, nil
			}
		}
		return nil, claim.FieldError("reason_code", "a rejection needs a reason_code: %s", strings.Join(claim.RejectReasons(), ", "))
	case claim.OutcomeRequestEvidence:
		if strings.TrimSpace(in.Note) == "" {
			return nil, claim.FieldError("note", "say in the note what the buyer should send")
		}
		return nil, nil
	}
	return nil, claim.FieldError("outcome", "outcome must be approve, partial, reject or request_evidence")
}

// needsSecondReviewer reports whether rejecting a claim of this amount needs four eyes.
func (s *Service) needsSecondReviewer(amount claim.Money) bool {
	return amount.Currency != s.review.Currency || amount.Value >= s.review.FourEyesThreshold
}

// DecideTask records the lease holder's ruling on a task's claim, in one transaction with
// the task's completion, the claim's new state and the audit event:
//
//   - approve / partial: the claim is (partially) approved for the amount, appealable for the
//     appeal window (a decision on an appeal is final);
//   - request_evidence: the buyer is asked for photos (the note says which) by a deadline;
//   - reject below the four-eyes threshold: rejected;
//   - reject at or above it: recorded as pending and a second_review task is queued for
//     any reviewer but this one; the claim stays in review.
//
// On a second_review task, reject confirms the pending rejection; approve or partial
// overturns it and is final (granting money needs one person, refusing it two);
// request_evidence asks the buyer, and the claim is reviewed again when the photos come.
func (s *Service) DecideTask(ctx context.Context, p claim.Principal, id string, in DecisionInput) (claim.Decision, error) {
	if err := requireReviewer(p); err != nil {
		return claim.Decision{}, err
	}
	in.Note = strings.TrimSpace(in.Note)
	in.ReasonCode = strings.TrimSpace(in.ReasonCode)
	var out claim.Decision
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		task, err := s.store.GetTaskForUpdate(ctx, id)
		if err != nil {
			return err
		}
		if task.State != claim.TaskLeased || task.LeasedBy != p.Actor() {
			return errNotYourLease()
		}
		if slices.Contains(task.ExcludeReviewers, p.Actor()) {
			return claim.Errorf(claim.CodeForbidden, "you took part in the decision this %s checks: another reviewer must decide it", task.Kind)
		}
		c, err := s.store.GetClaimForUpdate(ctx, task.ClaimID)
		if err != nil {
			return err
		}
		if c.Status != claim.StatusInReview {
			return claim.Errorf(claim.CodeConflict, "the claim is %s, no longer in review", c.Status)
		}
		amount, err := s.checkDecision(in, c)
		if err != nil {
			return err
		}
		now := s.now()
		if err := s.store.CompleteTask(ctx, task.ID, p.Actor(), now); err != nil {
			return err
		}
		dec := claim.Decision{ClaimID: c.ID, Outcome: in.Outcome, Amount: amount, ReasonCode: in.ReasonCode, Note: in.Note,
			DecidedBy: p.Actor(), TaskID: task.ID, CreatedAt: now}
		audit := map[string]any{"outcome": in.Outcome, "reason_code": in.ReasonCode, "task_id": task.ID, "task_kind": task.Kind}
		if amount != nil {
			audit["amount"] = amount
		}
		if task.Kind == claim.TaskSecondReview {
			audit["confirms"] = task.DecisionID
			if in.Outcome != claim.OutcomeReject {
				delete(audit, "confirms")
				audit["overturns"] = task.DecisionID
			}
		}
		if in.Outcome == claim.OutcomeReject && task.Kind != claim.TaskSecondReview && s.needsSecondReviewer(c.Amount) {
			dec.Pending = true
			if out, err = s.store.CreateDecision(ctx, dec); err != nil {
				return err
			}
			second, err := s.createTask(ctx, c, claim.TaskSecondReview, task.Route, []string{p.Actor()}, out.ID)
			if err != nil {
				return err
			}
			audit["decision_id"], audit["second_review_task_id"], audit["status"] = out.ID, second.ID, c.Status
			return s.audit(ctx, p.Actor(), "claim.rejection_proposed", "claim", c.ID, map[string]any{"status": c.Status}, audit)
		}
		if out, err = s.store.CreateDecision(ctx, dec); err != nil {
			return err
		}
		after, err := s.applyRuling(ctx, c, dec)
		if err != nil {
			return err
		}
		audit["decision_id"], audit["status"] = out.ID, after.Status
		return s.audit(ctx, p.Actor(), "claim.decided", "claim", c.ID, map[string]any{"status": c.Status}, audit)
	})
	if err != nil {
		return claim.Decision{}, err
	}
	return out, nil
}

func errNotYourLease() error {
	return claim.Errorf(claim.CodeConflict, "you do not hold this task's lease (it expired and passed to another reviewer, was decided, or was never yours)")
}

// applyRuling moves a claim in review according to a reviewer's decision.
func (s *Service) applyRuling(ctx context.Context, c claim.Claim, dec claim.Decision) (claim.Claim, error) {
	now := s.now()
	next := c
	switch dec.Outcome {
	case claim.OutcomeRequestEvidence:
		next.Status = claim.StatusAwaitingBuyerEvidence
		next.BuyerDeadline = timePtr(now.Add(s.review.EvidenceWindow))
	default:
		next.Status = map[claim.Outcome]claim.Status{claim.OutcomeApprove: claim.StatusApproved,
			claim.OutcomePartial: claim.StatusPartiallyApproved, claim.OutcomeReject: claim.StatusRejected}[dec.Outcome]
		next.ApprovedAmount = dec.Amount
		next.Outcome, next.ReasonCode, next.DecidedAt = dec.Outcome, dec.ReasonCode, &now
		next.BuyerDeadline = nil
		appeals, err := s.store.ListAppeals(ctx, c.ID)
		if err != nil {
			return claim.Claim{}, err
		}
		next.AppealDeadline = nil // a ruling on an appeal is final
		if len(appeals) == 0 {
			next.AppealDeadline = timePtr(now.Add(s.review.AppealWindow))
		}
	}
	if !c.Status.CanBecome(next.Status) {
		return claim.Claim{}, claim.Errorf(claim.CodeConflict, "a %s claim cannot become %s", c.Status, next.Status)
	}
	stored, err := s.store.UpdateClaim(ctx, next, c.Status)
	if err != nil {
		return claim.Claim{}, err
	}
	// Any other task on the claim (there should be none) has nothing left to decide.
	if _, err := s.store.CloseClaimTasks(ctx, c.ID, now); err != nil {
		return claim.Claim{}, err
	}
	return stored, nil
}

// Appeal lets the buyer or the merchant of a decided claim ask for another look, once,
// within the appeal window, with a statement and optionally new photos. The claim becomes
// appealed; once its new photos are analysed (at once without photos) it goes to review as
// an appeal task that no reviewer who ruled on the claim may take (see appealBars).
func (s *Service) Appeal(ctx context.Context, p claim.Principal, claimID string, in AppealInput) (claim.Claim, error) {
	if err := requireRole(p, claim.RoleBuyer, claim.RoleMerchant); err != nil {
		return claim.Claim{}, err
	}
	statement := strings.TrimSpace(in.Statement)
	if statement == "" {
		return claim.Claim{}, claim.FieldError("statement", "an appeal needs a statement saying why the decision is wrong")
	}
	if err := s.validateText("statement", statement); err != nil {
		return claim.Claim{}, err
	}
	source := claim.SourceBuyer
	if p.Role == claim.RoleMerchant {
		source = claim.SourceMerchant
	}
	check := func(ctx context.Context, lock bool) (claim.Claim, error) {
		c, err := s.claimFor(ctx, p, claimID, lock)
		if err != nil {
			return claim.Claim{}, err
		}
		if (p.Role == claim.RoleBuyer && c.BuyerID != p.Subject) || (p.Role == claim.RoleMerchant && c.MerchantID != p.Subject) {
			return claim.Claim{}, notFound("claim")
		}
		switch {
		case !c.Status.Final():
			return claim.Claim{}, claim.Errorf(claim.CodeConflict, "only a decided claim can be appealed; this one is %s", c.Status)
		case c.AppealDeadline == nil:
			return claim.Claim{}, claim.Errorf(claim.CodeConflict, "this decision cannot be appealed (it already decided an appeal)")
		case !s.now().Before(*c.AppealDeadline): // the window is [decision, deadline), as the sweeper reads it
			return claim.Claim{}, claim.Errorf(claim.CodeConflict, "the appeal window closed at %s", c.AppealDeadline.Format("2006-01-02 15:04 MST"))
		}
		return c, nil
	}
	if _, err := check(ctx, false); err != nil {
		return claim.Claim{}, err
	}
	var photos []photo
	if len(in.Photos) > 0 {
		var err error
		if photos, err = s.checkPhotos(ctx, in.Photos); err != nil {
			return claim.Claim{}, err
		}
		if err := s.storePhotos(ctx, photos); err != nil {
			return claim.Claim{}, err
		}
	}
	var out claim.Claim
	var added []string
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		c, err := check(ctx, true)
		if err != nil {
			return err
		}
		if added, err = s.addEvidence(ctx, c, photos, source); err != nil {
			return err
		}
		appeal, err := s.store.CreateAppeal(ctx, claim.Appeal{ClaimID: c.ID, By: p.Actor(), Role: p.Role,
			Statement: statement, EvidenceIDs: added, CreatedAt: s.now()})
		if err != nil {
			return err
		}
		next := c
		next.Status, next.AppealDeadline = claim.StatusAppealed, nil
		if out, err = s.store.UpdateClaim(ctx, next, c.Status); err != nil {
			return err
		}
		if err := s.audit(ctx, p.Actor(), "claim.appealed", "claim", c.ID, map[string]any{"status": c.Status},
			map[string]any{"status": out.Status, "appeal_id": appeal.ID, "evidence": added}); err != nil {
			return err
		}
		if len(photos) == 0 {
			out, err = s.startAppealReview(ctx, out)
		}
		return err
	})
	if err != nil {
		return claim.Claim{}, err
	}
	if len(photos) > 0 {
		s.notifyWorkers()
	}
	return out, nil
}

// startAppealReview sends an appealed claim to review as an appeal task barred to everyone
// who ruled on the claim (appealBars; nobody is barred when only the rules decided).
func (s *Service) startAppealReview(ctx context.Context, c claim.Claim) (claim.Claim, error) {
	decisions, err := s.store.ListDecisions(ctx, c.ID)
	if err != nil {
		return claim.Claim{}, err
	}
	stored, err := s.move(ctx, c, claim.StatusInReview)
	if err != nil {
		return claim.Claim{}, err
	}
	task, err := s.createTask(ctx, stored, claim.TaskAppeal, claim.RouteReview, appealBars(decisions), "")
	if err != nil {
		return claim.Claim{}, err
	}
	return stored, s.audit(ctx, "system:appeals", "claim.appeal_queued", "claim", c.ID, map[string]any{"status": c.Status},
		map[string]any{"status": stored.Status, "task_id": task.ID, "exclude_reviewers": task.ExcludeReviewers})
}

// appealBars lists the reviewers an appeal must not go to: every person who ruled on the
// claim before the appeal, ordered by their latest ruling (the decider last). That is the
// decider of the ruling under appeal and everyone else who took part in it: the proposer and
// the confirmer of a four-eyes rejection, a proposer whose rejection was overturned, a
// reviewer who asked for the photos the ruling was made on. An appeal is heard by someone
// with no part in the claim so far, so it waits while only those reviewers ask for work.
// A ruling on an appeal is final; were it ever appealable, its decider would have ruled on
// the claim and be barred from that appeal too.
func appealBars(decisions []claim.Decision) []string {
	var bars []string
	for _, d := range decisions {
		if d.DecidedBy == claim.DecidedByRules || d.Outcome == "" {
			continue
		}
		bars = append(slices.DeleteFunc(bars, func(r string) bool { return r == d.DecidedBy }), d.DecidedBy)
	}
	return bars
}
