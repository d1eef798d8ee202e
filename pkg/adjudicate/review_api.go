package adjudicate

// The review-queue half of the transport contract (issue 4): leasing, deciding, appeals,
// buyer records and case files. Same rules as api.go: add freely, change only with callers.

import (
	"context"
	"io"

	"github.com/refundguard/refundguard/pkg/claim"
	"github.com/refundguard/refundguard/rules"
)

// TaskFilter selects review tasks for a queue view.
type TaskFilter struct {
	Kind  claim.TaskKind  // empty: any
	Route claim.Route     // empty: any
	State claim.TaskState // empty: open and leased
	Limit int             // default 50, at most 200
}

// TaskView is a task with what a queue row shows about its claim.
type TaskView struct {
	Task   claim.ReviewTask
	Claim  claim.Claim
	Amount claim.Money
}

// DecisionInput is a reviewer's ruling on a leased task.
type DecisionInput struct {
	Outcome    claim.Outcome
	Amount     *int64 // minor units; required for partial, defaults to the claimed amount for approve
	ReasonCode string // from a documented list; required for reject
	Note       string
}

// AppealInput is a buyer's or merchant's appeal of a final decision.
type AppealInput struct {
	Statement string
	Photos    []Upload
}

// BuyerFlag is a reviewer's mark on a buyer (e.g. "fabricated evidence in claim X").
type BuyerFlag = claim.BuyerFlag

// WindowCounts are a buyer's refund figures over one window.
type WindowCounts struct {
	Days               int
	Claims             int
	Refunds            int         // approved or partially approved
	RefundedAmount     claim.Money // per currency; the record is kept in the platform currency
	Rejected           int
	RejectedFabricated int
	Merchants          int // distinct merchants claimed against
}

// BuyerRecord is a buyer's refund behaviour across all merchants.
type BuyerRecord struct {
	BuyerID  string
	Windows  []WindowCounts // 30, 90, 365 days
	Outcomes map[claim.Outcome]int
	Flags    []BuyerFlag
	// FabricatedShare is rejected-as-fabricated over decided claims (0 when none decided).
	FabricatedShare float64
}

// ReviewTransport is the reviewer-facing method set, implemented by *Service.
type ReviewTransport interface {
	// LeaseTask hands the next task to the reviewer; ok is false when the queue is empty.
	LeaseTask(ctx context.Context, p claim.Principal) (task claim.ReviewTask, ok bool, err error)
	GetTask(ctx context.Context, p claim.Principal, id string) (claim.ReviewTask, error)
	ListTasks(ctx context.Context, p claim.Principal, f TaskFilter) ([]TaskView, error)
	HeartbeatTask(ctx context.Context, p claim.Principal, id string) (claim.ReviewTask, error)
	DecideTask(ctx context.Context, p claim.Principal, id string, in DecisionInput) (claim.Decision, error)

	Appeal(ctx context.Context, p claim.Principal, claimID string, in AppealInput) (claim.Claim, error)
	GetBuyerRecord(ctx context.Context, p claim.Principal, buyerID string) (BuyerRecord, error)
	FlagBuyer(ctx context.Context, p claim.Principal, buyerID, reason string) (BuyerFlag, error)
	// WriteCaseFile writes the claim's case file as a ZIP (manifest.json, photos, reports,
	// heatmaps, decisions with rule traces, audit events with chain hashes).
	WriteCaseFile(ctx context.Context, p claim.Principal, claimID string, w io.Writer) error
	// ReferenceContent streams a merchant reference photo (staff; the owning merchant).
	// The "reference" field of a forensic finding is the reference image's id.
	ReferenceContent(ctx context.Context, p claim.Principal, imageID string) (Content, error)
}

// RuleSetTransport is the admins' method set for rule set versions.
type RuleSetTransport interface {
	// CreateRuleSet stores an uploaded YAML rule set as an inactive version; created is
	// false when that exact version was stored before. A set that does not compile is
	// CodeInvalid with every problem (rule id, line, reason) in the message.
	CreateRuleSet(ctx context.Context, p claim.Principal, yaml []byte) (rs claim.RuleSetVersion, created bool, err error)
	ListRuleSets(ctx context.Context, p claim.Principal) ([]claim.RuleSetVersion, error)
	GetRuleSet(ctx context.Context, p claim.Principal, id string) (claim.RuleSetVersion, error)
	ActivateRuleSet(ctx context.Context, p claim.Principal, id string) (claim.RuleSetVersion, error)
	BacktestRuleSet(ctx context.Context, p claim.Principal, id string) (rules.BacktestReport, error)
}
