package adjudicate

import (
	"context"
	"time"

	"github.com/refundguard/refundguard/pkg/claim"
)

// ReviewStore keeps what routing and review add to a claim: decisions, the review queue,
// rule set versions, buyer flags and appeals, and the reads the buyer's record, the
// merchant facts, the deadline sweeper and the duplicate-evidence index need. Same rules as
// Store: *claim.Error values, CodeNotFound for a missing record.
type ReviewStore interface {
	CreateDecision(ctx context.Context, d claim.Decision) (claim.Decision, error)
	GetDecision(ctx context.Context, id string) (claim.Decision, error)
	ListDecisions(ctx context.Context, claimID string) ([]claim.Decision, error)
	DecisionsForClaims(ctx context.Context, claimIDs []string) (map[string][]claim.Decision, error)

	CreateTask(ctx context.Context, t claim.ReviewTask) (claim.ReviewTask, error)
	GetTask(ctx context.Context, id string) (claim.ReviewTask, error)
	GetTaskForUpdate(ctx context.Context, id string) (claim.ReviewTask, error)
	// LeaseTask hands reviewer the task it holds, or the next leasable one not barred to it,
	// atomically: two reviewers never hold the same task.
	LeaseTask(ctx context.Context, reviewer string, now time.Time, lease time.Duration) (claim.ReviewTask, bool, error)
	ExtendTaskLease(ctx context.Context, id, reviewer string, until time.Time) (claim.ReviewTask, error)
	CompleteTask(ctx context.Context, id, reviewer string, at time.Time) error
	CloseClaimTasks(ctx context.Context, claimID string, at time.Time) (int64, error)
	ReleaseExpiredLeases(ctx context.Context, now time.Time) (int64, error)
	ListTasks(ctx context.Context, q claim.TaskQuery) ([]claim.ReviewTask, error)
	ClaimTasks(ctx context.Context, claimID string) ([]claim.ReviewTask, error)

	CreateRuleSet(ctx context.Context, rs claim.RuleSetVersion) (claim.RuleSetVersion, error)
	GetRuleSet(ctx context.Context, id string) (claim.RuleSetVersion, error)
	RuleSetByVersion(ctx context.Context, version string) (claim.RuleSetVersion, error)
	ActiveRuleSet(ctx context.Context) (claim.RuleSetVersion, error)
	ListRuleSets(ctx context.Context) ([]claim.RuleSetVersion, error)
	ActivateRuleSet(ctx context.Context, id string) (claim.RuleSetVersion, error)

	CreateBuyerFlag(ctx context.Context, f claim.BuyerFlag) (claim.BuyerFlag, error)
	BuyerFlags(ctx context.Context, buyerID string) ([]claim.BuyerFlag, error)
	BuyerClaims(ctx context.Context, buyerID string, since time.Time) ([]claim.Claim, error)
	BuyerKnown(ctx context.Context, buyerID string) (bool, error)
	MerchantClaimRate(ctx context.Context, merchantID string, since time.Time) (orders, claimed int64, err error)

	CreateAppeal(ctx context.Context, a claim.Appeal) (claim.Appeal, error)
	ListAppeals(ctx context.Context, claimID string) ([]claim.Appeal, error)

	ClaimsPastDeadline(ctx context.Context, status claim.Status, which string, now time.Time, limit int) ([]claim.Claim, error)
	// EvidenceHashesBetween walks the evidence photos with from <= seq <= to in seq order.
	EvidenceHashesBetween(ctx context.Context, from, to int64, fn func(seq int64, ev claim.Evidence) error) error
}
