package httpapi

import (
	"time"

	"github.com/refundguard/refundguard/pkg/adjudicate"
	"github.com/refundguard/refundguard/pkg/claim"
)

// Wire types of the review queue, buyer records and rule sets (see dto.go for why they are
// separate from the domain types).

type decisionRequest struct {
	Outcome    claim.Outcome `json:"outcome"`
	Amount     *int64        `json:"amount"`
	ReasonCode string        `json:"reason_code"`
	Note       string        `json:"note"`
}

type flagRequest struct {
	Reason string `json:"reason"`
}

type ruleSetRequest struct {
	YAML string `json:"yaml"`
}

// taskDTO is a review task. task_id names it (the contract); the claim it is about
// is claim_id.
type taskDTO struct {
	TaskID           string          `json:"task_id"`
	ClaimID          string          `json:"claim_id"`
	Kind             claim.TaskKind  `json:"kind"`
	State            claim.TaskState `json:"state"`
	Route            claim.Route     `json:"route"`
	Priority         int             `json:"priority"`
	Risk             int             `json:"risk"`
	LeasedBy         string          `json:"leased_by"`
	LeaseExpiresAt   *time.Time      `json:"lease_expires_at"`
	ExcludeReviewers []string        `json:"exclude_reviewers"`
	ExcludeReviewer  string          `json:"exclude_reviewer"` // deprecated: the last of ExcludeReviewers
	DecisionID       string          `json:"decision_id"`
	Deadline         *time.Time      `json:"deadline"`
	CreatedAt        time.Time       `json:"created_at"`
	CompletedAt      *time.Time      `json:"completed_at"`
}

func toTask(t claim.ReviewTask) taskDTO {
	out := taskDTO{TaskID: t.ID, ClaimID: t.ClaimID, Kind: t.Kind, State: t.State, Route: t.Route, Priority: t.Priority,
		Risk: t.Risk, LeasedBy: t.LeasedBy, LeaseExpiresAt: t.LeaseExpiresAt, ExcludeReviewers: []string{},
		DecisionID: t.DecisionID, Deadline: t.Deadline, CreatedAt: t.CreatedAt, CompletedAt: t.CompletedAt}
	if n := len(t.ExcludeReviewers); n > 0 {
		out.ExcludeReviewers, out.ExcludeReviewer = t.ExcludeReviewers, t.ExcludeReviewers[n-1]
	}
	return out
}

// taskRowDTO is a task in the queue listing, with its claim's summary.
type taskRowDTO struct {
	taskDTO
	Claim staffClaimSummary `json:"claim"`
}

type taskList struct {
	Tasks []taskRowDTO `json:"tasks"`
}

type windowDTO struct {
	Days               int         `json:"days"`
	Claims             int         `json:"claims"`
	Refunds            int         `json:"refunds"`
	RefundedAmount     claim.Money `json:"refunded_amount"`
	Rejected           int         `json:"rejected"`
	RejectedFabricated int         `json:"rejected_fabricated"`
	Merchants          int         `json:"merchants"`
}

type flagDTO struct {
	ID        string    `json:"id"`
	BuyerID   string    `json:"buyer_id"`
	Reason    string    `json:"reason"`
	By        string    `json:"by"`
	CreatedAt time.Time `json:"created_at"`
}

func toFlag(f claim.BuyerFlag) flagDTO {
	return flagDTO{ID: f.ID, BuyerID: f.BuyerID, Reason: f.Reason, By: f.By, CreatedAt: f.CreatedAt}
}

type buyerRecordDTO struct {
	BuyerID         string         `json:"buyer_id"`
	Windows         []windowDTO    `json:"windows"`
	Outcomes        map[string]int `json:"outcomes"`
	FabricatedShare float64        `json:"fabricated_share"`
	Flags           []flagDTO      `json:"flags"`
}

func toBuyerRecord(r adjudicate.BuyerRecord) buyerRecordDTO {
	out := buyerRecordDTO{BuyerID: r.BuyerID, Windows: make([]windowDTO, len(r.Windows)), Outcomes: map[string]int{},
		FabricatedShare: r.FabricatedShare, Flags: make([]flagDTO, len(r.Flags))}
	for i, w := range r.Windows {
		out.Windows[i] = windowDTO{Days: w.Days, Claims: w.Claims, Refunds: w.Refunds, RefundedAmount: w.RefundedAmount,
			Rejected: w.Rejected, RejectedFabricated: w.RejectedFabricated, Merchants: w.Merchants}
	}
	for o, n := range r.Outcomes {
		out.Outcomes[string(o)] = n
	}
	for i, f := range r.Flags {
		out.Flags[i] = toFlag(f)
	}
	return out
}

type ruleSetDTO struct {
	ID                     string    `json:"id"`
	Version                string    `json:"version"`
	Name                   string    `json:"name"`
	Revision               string    `json:"revision"`
	Rules                  int       `json:"rules"`
	Fallback               string    `json:"fallback"`
	MerchantResponseWindow string    `json:"merchant_response_window"`
	Active                 bool      `json:"active"`
	CreatedBy              string    `json:"created_by"`
	CreatedAt              time.Time `json:"created_at"`
	YAML                   *string   `json:"yaml,omitempty"`
}

func toRuleSet(rs claim.RuleSetVersion, withYAML bool) ruleSetDTO {
	n, window, fallback := ruleSetSummary(rs.YAML)
	out := ruleSetDTO{ID: rs.ID, Version: rs.Version, Name: rs.Name, Revision: rs.Revision, Rules: n, Fallback: fallback,
		MerchantResponseWindow: window, Active: rs.Active, CreatedBy: rs.CreatedBy, CreatedAt: rs.CreatedAt}
	if withYAML {
		y := string(rs.YAML)
		out.YAML = &y
	}
	return out
}

type ruleSetList struct {
	RuleSets []ruleSetDTO `json:"rule_sets"`
}

type appealDTO struct {
	ID          string     `json:"id"`
	By          string     `json:"by"`
	Role        claim.Role `json:"role"`
	Statement   string     `json:"statement"`
	EvidenceIDs []string   `json:"evidence_ids"`
	CreatedAt   time.Time  `json:"created_at"`
}

func toAppeals(as []claim.Appeal) []appealDTO {
	out := make([]appealDTO, len(as))
	for i, a := range as {
		out[i] = appealDTO{ID: a.ID, By: a.By, Role: a.Role, Statement: a.Statement, EvidenceIDs: orEmpty(a.EvidenceIDs), CreatedAt: a.CreatedAt}
	}
	return out
}
