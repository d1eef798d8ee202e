package adjudicate

// Routing: after the forensic analysis (and again when the merchant answers or its window
// passes), the claim's facts are evaluated by the active rule set, the decision is recorded
// with every rule's trace, and the claim moves on, all in the transaction that changed it.
// A claim sent to review gets its review task in that same transaction (DESIGN.md habit 12).

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"time"

	"github.com/refundguard/refundguard/pkg/claim"
	"github.com/refundguard/refundguard/rules"
)

// ReviewOptions configure routing and the review queue. Zero values take the defaults.
type ReviewOptions struct {
	// Lease is how long a reviewer holds a task without a heartbeat (default 15 min).
	Lease time.Duration
	// Currency is the platform currency the thresholds and the buyer's record are kept in
	// (default CNY).
	Currency string
	// FourEyesThreshold: a rejection of a claim of at least this much (minor units of
	// Currency; default 300000 = 3,000 CNY) is final only when a second, different reviewer
	// confirms it. Claims in another currency always need the second reviewer.
	FourEyesThreshold int64
	// AppealWindow is how long after a decision the buyer or merchant may appeal (default
	// 15 days); once it has passed the sweeper closes the claim.
	AppealWindow time.Duration
	// EvidenceWindow is how long the buyer has to send photos when asked (default 72 h).
	EvidenceWindow time.Duration
	// ReviewSLA is the deadline a review task is given (default 48 h; half for
	// review_priority).
	ReviewSLA time.Duration
	// MerchantWindow is the merchant's response window when the rule set names none
	// (default 48 h).
	MerchantWindow time.Duration
	// DuplicateRadius is the PDQ distance within which two claims' photos are the same shot
	// (default 31, PDQ's match threshold).
	DuplicateRadius int
}

func (o ReviewOptions) withDefaults() ReviewOptions {
	if o.Lease <= 0 {
		o.Lease = 15 * time.Minute
	}
	if o.Currency == "" {
		o.Currency = "CNY"
	}
	if o.FourEyesThreshold <= 0 {
		o.FourEyesThreshold = 300000
	}
	if o.AppealWindow <= 0 {
		o.AppealWindow = 15 * 24 * time.Hour
	}
	if o.EvidenceWindow <= 0 {
		o.EvidenceWindow = 72 * time.Hour
	}
	if o.ReviewSLA <= 0 {
		o.ReviewSLA = 48 * time.Hour
	}
	if o.MerchantWindow <= 0 {
		o.MerchantWindow = 48 * time.Hour
	}
	if o.DuplicateRadius <= 0 {
		o.DuplicateRadius = 31
	}
	return o
}

// ruleCache keeps compiled rule sets by version, so a stored set compiles once per process.
type ruleCache struct {
	mu   sync.Mutex
	sets map[string]*rules.RuleSet
}

func (rc *ruleCache) get(rs claim.RuleSetVersion) (*rules.RuleSet, error) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if set, ok := rc.sets[rs.Version]; ok {
		return set, nil
	}
	set, err := rules.Compile(rs.YAML)
	if err != nil {
		return nil, err
	}
	rc.sets[rs.Version] = set
	return set, nil
}

// actorRules is the audit actor for routing; decisions say DecidedByRules.
const actorRules = "system:rules"

// Prepare readies the service before it takes traffic: it stores the configured rule set as
// a version (activating it when RulesExplicit is set or no set is active yet) and builds the
// duplicate-evidence index from every stored photo. Both also happen on first use when
// Prepare is not called, but a large index is better built before the first claim arrives.
func (s *Service) Prepare(ctx context.Context) error {
	if _, err := s.ensureRules(ctx); err != nil {
		return err
	}
	return s.dups.ensure(ctx, s, time.Time{})
}

// ensureRules stores the configured set if its version is new and activates it when the
// configuration says so; it returns the active version.
func (s *Service) ensureRules(ctx context.Context) (claim.RuleSetVersion, error) {
	var active claim.RuleSetVersion
	attempt := func() error {
		return s.store.InTx(ctx, func(ctx context.Context) error {
			var err error
			active, err = s.ensureRulesTx(ctx)
			return err
		})
	}
	err := attempt()
	if claim.ErrorCode(err) == claim.CodeConflict {
		err = attempt() // another instance stored the same version at the same moment
	}
	return active, err
}

func (s *Service) ensureRulesTx(ctx context.Context) (claim.RuleSetVersion, error) {
	stored, err := s.store.RuleSetByVersion(ctx, s.rules.Version)
	if claim.IsNotFound(err) {
		stored, err = s.store.CreateRuleSet(ctx, claim.RuleSetVersion{Version: s.rules.Version, Name: s.rules.Name,
			Revision: s.rules.Revision, YAML: s.rules.Source(), CreatedBy: "system:config", CreatedAt: s.now()})
		if err == nil {
			err = s.audit(ctx, "system:config", "ruleset.created", "ruleset", stored.ID, nil, ruleSetAudit(stored))
		}
	}
	if err != nil {
		return claim.RuleSetVersion{}, err
	}
	active, err := s.store.ActiveRuleSet(ctx)
	switch {
	case claim.IsNotFound(err) || err == nil && s.rulesExplicit && active.ID != stored.ID:
		before := map[string]any{"active": ""}
		if err == nil {
			before["active"] = active.ID
		}
		if active, err = s.store.ActivateRuleSet(ctx, stored.ID); err != nil {
			return claim.RuleSetVersion{}, err
		}
		if err := s.audit(ctx, "system:config", "ruleset.activated", "ruleset", active.ID, before, ruleSetAudit(active)); err != nil {
			return claim.RuleSetVersion{}, err
		}
		s.log.InfoContext(ctx, "rule set activated", "id", active.ID, "version", active.Version, "name", active.Name)
	case err != nil:
		return claim.RuleSetVersion{}, err
	}
	return active, nil
}

func ruleSetAudit(rs claim.RuleSetVersion) map[string]any {
	return map[string]any{"version": rs.Version, "name": rs.Name, "revision": rs.Revision, "active": rs.Active}
}

// activeSet returns the compiled rule set that routes claims now. Reading the active version
// on every routing lets an activation on one instance reach every instance sharing the
// database. A stored set that no longer compiles (a newer binary refusing an old set) is
// reported and the configured set routes instead, so claims never wait on a broken policy.
func (s *Service) activeSet(ctx context.Context) (*rules.RuleSet, error) {
	rs, err := s.store.ActiveRuleSet(ctx)
	if claim.IsNotFound(err) {
		rs, err = s.ensureRulesTx(ctx)
	}
	if err != nil {
		return nil, err
	}
	set, err := s.compiled.get(rs)
	if err != nil {
		s.log.ErrorContext(ctx, "the active rule set does not compile; routing with the configured set", "id", rs.ID, "version", rs.Version, "error", err)
		return s.rules, nil
	}
	return set, nil
}

// routing is one evaluation, with what was decided from it.
type routing struct {
	set      *rules.RuleSet
	facts    rules.Facts
	result   rules.Result
	route    claim.Route
	note     string
	previous []claim.Decision
}

// evaluate builds the claim's facts and runs the active rule set.
func (s *Service) evaluate(ctx context.Context, c claim.Claim) (routing, error) {
	set, err := s.activeSet(ctx)
	if err != nil {
		return routing{}, err
	}
	facts, previous, err := s.facts(ctx, c)
	if err != nil {
		return routing{}, err
	}
	res := set.Evaluate(facts)
	return routing{set: set, facts: facts, result: res, route: claim.Route(res.Route), previous: previous}, nil
}

// atLeastReview raises a routing to review, saying why, when a rule would let it through
// without a person.
func (r *routing) atLeastReview(why string) {
	if r.route.Severity() < claim.RouteReview.Severity() {
		r.route, r.note = claim.RouteReview, why
	}
}

// route evaluates the rules on a claim and moves it where they send it, recording the
// decision (and the review task, for review routes). Call it inside a transaction holding
// the claim; it returns the claim as stored.
func (s *Service) route(ctx context.Context, c claim.Claim, actor string) (claim.Claim, error) {
	r, err := s.evaluate(ctx, c)
	if err != nil {
		return claim.Claim{}, err
	}
	if last := lastPersonDecision(r.previous); last != nil && last.Outcome == claim.OutcomeRequestEvidence {
		r.atLeastReview("a reviewer asked for these photos: they see them before any refund")
	}
	return s.applyRouting(ctx, c, r, actor)
}

// applyRouting records r's decision and moves the claim.
func (s *Service) applyRouting(ctx context.Context, c claim.Claim, r routing, actor string) (claim.Claim, error) {
	now := s.now()
	if r.route == claim.RouteAwaitMerchant && c.MerchantDeadline != nil && !now.Before(*c.MerchantDeadline) {
		// A custom set that keeps waiting after the window would stall the claim forever.
		r.route, r.note = claim.RouteReview, "the merchant's response window has passed: the claim cannot wait any longer"
	}
	factsJSON, err := json.Marshal(r.facts)
	if err != nil {
		return claim.Claim{}, claim.Wrap(err, claim.CodeInternal, "encoding the routing facts")
	}
	dec := claim.Decision{ClaimID: c.ID, Route: r.route, RuleSetVersion: r.result.RuleSetVersion, Rules: ruleHits(r.result.Hits),
		Score: r.result.Score, Facts: factsJSON, Note: r.note, DecidedBy: claim.DecidedByRules, CreatedAt: now}
	next := c
	switch r.route {
	case claim.RouteApprove:
		amount := c.Amount
		dec.Amount = &amount
		next.Status = claim.StatusApproved
		next.ApprovedAmount, next.Outcome, next.ReasonCode = &amount, claim.OutcomeApprove, ""
		next.DecidedAt, next.AppealDeadline = &now, timePtr(now.Add(s.review.AppealWindow))
		next.BuyerDeadline = nil
	case claim.RouteRequestEvidence:
		next.Status = claim.StatusAwaitingBuyerEvidence
		next.BuyerDeadline = timePtr(now.Add(s.review.EvidenceWindow))
	case claim.RouteAwaitMerchant:
		next.Status = claim.StatusAwaitingMerchant
		if next.MerchantDeadline == nil {
			window := r.set.MerchantResponseWindow
			if window <= 0 {
				window = s.review.MerchantWindow
			}
			next.MerchantDeadline = timePtr(now.Add(window))
		}
	case claim.RouteReview, claim.RouteReviewPriority:
		next.Status = claim.StatusInReview
		next.BuyerDeadline = nil
	default:
		return claim.Claim{}, claim.Errorf(claim.CodeInternal, "the rule set chose unknown route %q", r.route)
	}
	if next.Status != c.Status && !c.Status.CanBecome(next.Status) {
		return claim.Claim{}, claim.Errorf(claim.CodeInternal, "routing chose %s, which a %s claim cannot become", r.route, c.Status)
	}
	if dec, err = s.store.CreateDecision(ctx, dec); err != nil {
		return claim.Claim{}, err
	}
	stored, err := s.store.UpdateClaim(ctx, next, c.Status)
	if err != nil {
		return claim.Claim{}, err
	}
	after := map[string]any{"status": stored.Status, "route": r.route, "decision_id": dec.ID,
		"rule_set_version": dec.RuleSetVersion, "decisive": r.result.Decisive, "score": r.result.Score}
	if r.note != "" {
		after["note"] = r.note
	}
	if r.route.Severity() >= claim.RouteReview.Severity() {
		task, err := s.createTask(ctx, stored, claim.TaskReview, r.route, nil, "")
		if err != nil {
			return claim.Claim{}, err
		}
		after["task_id"] = task.ID
	}
	switch {
	case stored.MerchantDeadline != nil && stored.Status == claim.StatusAwaitingMerchant:
		after["merchant_deadline"] = stored.MerchantDeadline
	case stored.BuyerDeadline != nil:
		after["buyer_deadline"] = stored.BuyerDeadline
	case stored.ApprovedAmount != nil && stored.Status == claim.StatusApproved:
		after["approved_amount"] = stored.ApprovedAmount
	}
	if err := s.audit(ctx, actor, "claim.routed", "claim", c.ID, map[string]any{"status": c.Status}, after); err != nil {
		return claim.Claim{}, err
	}
	return stored, nil
}

func timePtr(t time.Time) *time.Time { return &t }

func ruleHits(hits []rules.Hit) []claim.RuleHit {
	out := make([]claim.RuleHit, len(hits))
	for i, h := range hits {
		out[i] = claim.RuleHit{ID: h.ID, Matched: h.Matched, Route: claim.Route(h.Route), Score: h.Score, Inputs: h.Inputs, Error: h.Error}
	}
	return out
}

// lastPersonDecision is the newest decision made by a person (not the rules), or nil.
func lastPersonDecision(ds []claim.Decision) *claim.Decision {
	for i := len(ds) - 1; i >= 0; i-- {
		if ds[i].DecidedBy != claim.DecidedByRules && ds[i].Outcome != "" {
			return &ds[i]
		}
	}
	return nil
}

// createTask queues a review task for the claim, prioritised by route, amount and risk,
// with a deadline from the review SLA, barred to the reviewers in exclude. Once the claim
// has an appeal task, every later task of the claim also bars whoever that task bars: the
// appeal is heard to its end (a second review of its rejection, a review of the photos its
// reviewer asked for) by reviewers who had no part in the decision under appeal.
func (s *Service) createTask(ctx context.Context, c claim.Claim, kind claim.TaskKind, route claim.Route, exclude []string, decisionID string) (claim.ReviewTask, error) {
	now := s.now()
	sla := s.review.ReviewSLA
	if route == claim.RouteReviewPriority {
		sla /= 2
	}
	if kind != claim.TaskAppeal {
		tasks, err := s.store.ClaimTasks(ctx, c.ID)
		if err != nil {
			return claim.ReviewTask{}, err
		}
		for _, t := range tasks {
			if t.Kind == claim.TaskAppeal {
				exclude = append(slices.Clone(t.ExcludeReviewers), exclude...)
			}
		}
	}
	return s.store.CreateTask(ctx, claim.ReviewTask{ClaimID: c.ID, Kind: kind, State: claim.TaskOpen,
		Priority: s.priority(route, c.Amount), Route: route, Risk: c.Risk, ExcludeReviewers: exclude,
		Deadline: timePtr(now.Add(sla)), DecisionID: decisionID, CreatedAt: now})
}

// priority orders the queue: review_priority before review (tens), then the amount band
// (units: under 500, under 3,000, 3,000 or more in the platform currency; other currencies
// in the middle band). Within a priority the store orders by deadline, then risk, then age.
func (s *Service) priority(route claim.Route, amount claim.Money) int {
	tier := 1
	if route == claim.RouteReviewPriority {
		tier = 2
	}
	band := 1
	if amount.Currency == s.review.Currency {
		switch {
		case amount.Value >= s.review.FourEyesThreshold:
			band = 2
		case amount.Value < 50000:
			band = 0
		}
	}
	return tier*10 + band
}

// facts gathers what the rules read about a claim at this moment, and the claim's decisions
// so far.
func (s *Service) facts(ctx context.Context, c claim.Claim) (rules.Facts, []claim.Decision, error) {
	now := s.now()
	order, err := s.store.GetOrder(ctx, c.OrderID)
	if err != nil {
		return rules.Facts{}, nil, err
	}
	evs, err := s.store.ListEvidence(ctx, c.ID)
	if err != nil {
		return rules.Facts{}, nil, err
	}
	decisions, err := s.store.ListDecisions(ctx, c.ID)
	if err != nil {
		return rules.Facts{}, nil, err
	}
	responses, err := s.store.ListResponses(ctx, c.ID)
	if err != nil {
		return rules.Facts{}, nil, err
	}
	f := rules.Facts{
		Claim: rules.ClaimFacts{Reason: string(c.Reason), Amount: c.Amount.Value, Currency: c.Amount.Currency,
			RefundType: string(c.RefundType), HoursSinceFiling: now.Sub(c.CreatedAt).Hours()},
		Order: rules.OrderFacts{Amount: order.Amount.Value, Currency: order.Amount.Currency, PlacedAt: order.PlacedAt},
	}
	if order.ShippedAt != nil {
		f.Order.ShippedAt = *order.ShippedAt
	}
	if order.DeliveredAt != nil {
		f.Order.DeliveredAt, f.Order.HasDelivery = *order.DeliveredAt, true
		f.Claim.HoursSinceDelivery = c.CreatedAt.Sub(*order.DeliveredAt).Hours()
	}
	for _, d := range decisions {
		if d.Route == claim.RouteRequestEvidence || d.Outcome == claim.OutcomeRequestEvidence {
			f.Claim.EvidenceRequests++
		}
	}
	var reports []rules.EvidenceReport
	for _, ev := range evs {
		if ev.Source != claim.SourceBuyer {
			continue
		}
		var rep rules.EvidenceReport
		if len(ev.Report) == 0 {
			rep.Error = &rules.ReportError{Code: "not_analyzed", Message: "the photo has not been analysed"}
		} else if err := json.Unmarshal(ev.Report, &rep); err != nil {
			rep = rules.EvidenceReport{Error: &rules.ReportError{Code: "unreadable_report", Message: err.Error()}}
		}
		reports = append(reports, rep)
	}
	f.Evidence = rules.SummarizeEvidence(reports)
	if f.Buyer, err = s.buyerFacts(ctx, c.BuyerID, c.ID, c.Amount.Currency, now); err != nil {
		return rules.Facts{}, nil, err
	}
	responded := len(responses) > 0
	f.Merchant = rules.MerchantFacts{Responded: responded,
		ResponsePending: !responded && (c.MerchantDeadline == nil || now.Before(*c.MerchantDeadline)),
		WindowExpired:   !responded && c.MerchantDeadline != nil && !now.Before(*c.MerchantDeadline)}
	orders, claimed, err := s.store.MerchantClaimRate(ctx, c.MerchantID, now.Add(-90*24*time.Hour))
	if err != nil {
		return rules.Facts{}, nil, err
	}
	if orders > 0 {
		f.Merchant.ClaimRate = float64(claimed) / float64(orders)
	}
	return f, decisions, nil
}

// sendToReview puts a claim in front of a reviewer without the rules (analysis failed for
// good): a decision saying why and a review task, in the caller's transaction.
func (s *Service) sendToReview(ctx context.Context, c claim.Claim, why, actor string) (claim.Claim, error) {
	if !c.Status.CanBecome(claim.StatusInReview) {
		return claim.Claim{}, claim.Errorf(claim.CodeConflict, "a %s claim cannot go to review", c.Status)
	}
	dec, err := s.store.CreateDecision(ctx, claim.Decision{ClaimID: c.ID, Route: claim.RouteReview, Note: why,
		DecidedBy: claim.DecidedByRules, CreatedAt: s.now()})
	if err != nil {
		return claim.Claim{}, err
	}
	from := c.Status
	c.Status = claim.StatusInReview
	stored, err := s.store.UpdateClaim(ctx, c, from)
	if err != nil {
		return claim.Claim{}, err
	}
	task, err := s.createTask(ctx, stored, claim.TaskReview, claim.RouteReview, nil, "")
	if err != nil {
		return claim.Claim{}, err
	}
	return stored, s.audit(ctx, actor, "claim.routed", "claim", c.ID, map[string]any{"status": from},
		map[string]any{"status": stored.Status, "route": claim.RouteReview, "decision_id": dec.ID, "task_id": task.ID, "note": why})
}
