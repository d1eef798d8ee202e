// Package claim holds refundguard's domain types: orders, claims, evidence, decisions,
// review tasks and the errors shared by every layer. It imports only the standard library.
package claim

import (
	"encoding/json"
	"time"
)

// Role is what a principal may do.
type Role string

const (
	RoleBuyer    Role = "buyer"
	RoleMerchant Role = "merchant"
	RoleReviewer Role = "reviewer"
	RoleAdmin    Role = "admin"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	switch r {
	case RoleBuyer, RoleMerchant, RoleReviewer, RoleAdmin:
		return true
	}
	return false
}

// IsStaff reports whether the role belongs to the platform (sees everything).
func (r Role) IsStaff() bool { return r == RoleReviewer || r == RoleAdmin }

// Principal is the authenticated caller: the key it used, its role, and the subject the
// key is bound to (a buyer id, a merchant id, or a reviewer's name).
type Principal struct {
	KeyID   string
	Role    Role
	Subject string
}

// Actor names the principal in audit records and decisions, e.g. "reviewer:alice".
func (p Principal) Actor() string { return string(p.Role) + ":" + p.Subject }

// APIKey is a stored credential. Only the hash of the secret is kept.
type APIKey struct {
	ID        string
	Role      Role
	Subject   string
	Hash      string // hex sha256 of the secret
	CreatedAt time.Time
	RevokedAt *time.Time
}

// Item is one line of an order.
type Item struct {
	SKU      string `json:"sku"`
	Name     string `json:"name"`
	Quantity int    `json:"quantity"`
}

// Order is registered by the merchant that shipped it.
type Order struct {
	ID          string
	ExternalID  string
	MerchantID  string
	BuyerID     string
	Amount      Money
	Items       []Item
	PlacedAt    time.Time
	ShippedAt   *time.Time
	DeliveredAt *time.Time
	CreatedAt   time.Time
}

// ImageKind says where a merchant's reference photo comes from.
type ImageKind string

const (
	ImageCatalog ImageKind = "catalog" // product photo of a SKU, shared by all its orders
	ImagePacking ImageKind = "packing" // photo of this order's parcel before shipping
)

// Hashes are the perceptual hashes of one photo, as hex strings (forensics' encoding).
type Hashes struct {
	PDQ        string `json:"pdq"`
	PDQQuality int    `json:"pdq_quality"`
	PHash      string `json:"phash"`
	DHash      string `json:"dhash"`
}

// ReferenceImage is a merchant photo evidence is compared with. Hashes are computed once, at upload.
type ReferenceImage struct {
	ID         string
	MerchantID string
	OrderID    string // set for packing photos
	SKU        string // set for catalog photos
	Kind       ImageKind
	SHA256     string // blob key
	Format     string
	Width      int
	Height     int
	Size       int64
	Hashes     Hashes
	CreatedAt  time.Time
}

// Reason is why the buyer asks for a refund.
type Reason string

const (
	ReasonDamaged        Reason = "damaged"
	ReasonDefective      Reason = "defective"
	ReasonNotAsDescribed Reason = "not_as_described"
	ReasonMissingParts   Reason = "missing_parts"
	ReasonNotReceived    Reason = "not_received"
)

// Valid reports whether r is a known reason.
func (r Reason) Valid() bool {
	switch r {
	case ReasonDamaged, ReasonDefective, ReasonNotAsDescribed, ReasonMissingParts, ReasonNotReceived:
		return true
	}
	return false
}

// RefundType distinguishes "refund only" (the buyer keeps the goods) from a return.
type RefundType string

const (
	RefundOnly      RefundType = "refund_only"
	ReturnAndRefund RefundType = "return_and_refund"
)

// Valid reports whether t is a known refund type.
func (t RefundType) Valid() bool { return t == RefundOnly || t == ReturnAndRefund }

// Claim is a buyer's refund request.
type Claim struct {
	ID          string
	OrderID     string
	BuyerID     string
	MerchantID  string
	Reason      Reason
	Description string
	Amount      Money
	RefundType  RefundType
	Status      Status
	Risk        int // 0-100, the highest evidence risk
	// MerchantDeadline ends the merchant's response window; BuyerDeadline ends a request for more evidence;
	// AppealDeadline ends the window for appealing a final decision.
	MerchantDeadline *time.Time
	BuyerDeadline    *time.Time
	AppealDeadline   *time.Time
	ApprovedAmount   *Money
	// Outcome, ReasonCode and DecidedAt record the ruling in force once the claim is decided
	// (approved, partially approved or rejected); they stay when the claim is closed, so the
	// buyer's record reads them from the claim alone.
	Outcome        Outcome
	ReasonCode     string
	DecidedAt      *time.Time
	IdempotencyKey string
	CreatedAt      time.Time
	UpdatedAt      time.Time

	// RequestHash fingerprints the filing request (fields and photo hashes), telling a replay
	// under the same IdempotencyKey from a different request that reuses the key.
	RequestHash string
}

// EvidenceSource says who supplied a photo attached to a claim.
type EvidenceSource string

const (
	SourceBuyer    EvidenceSource = "buyer"
	SourceMerchant EvidenceSource = "merchant" // counter-evidence with a response
)

// Evidence is one photo attached to a claim, with its forensic report once analysed.
type Evidence struct {
	ID         string
	ClaimID    string
	Source     EvidenceSource
	SHA256     string // blob key
	Format     string
	Width      int
	Height     int
	Size       int64
	Hashes     Hashes
	Report     json.RawMessage // forensics per-evidence report (DESIGN.md §2); empty until analysed
	HeatmapSHA string          // blob key of the marked-up diff, when one was made
	Risk       int
	CreatedAt  time.Time
}

// Response is a merchant's answer to a claim.
type Response struct {
	ID          string
	ClaimID     string
	MerchantID  string
	Statement   string
	EvidenceIDs []string
	CreatedAt   time.Time
}

// Route is where the rules send a claim.
type Route string

const (
	RouteApprove         Route = "approve"
	RouteRequestEvidence Route = "request_evidence"
	RouteAwaitMerchant   Route = "await_merchant"
	RouteReview          Route = "review"
	RouteReviewPriority  Route = "review_priority"
)

// Severity orders routes: the most severe among matching rules wins.
func (r Route) Severity() int {
	switch r {
	case RouteApprove:
		return 1
	case RouteRequestEvidence:
		return 2
	case RouteAwaitMerchant:
		return 3
	case RouteReview:
		return 4
	case RouteReviewPriority:
		return 5
	}
	return 0
}

// RuleHit records one evaluated rule: whether it matched and the inputs it saw.
type RuleHit struct {
	ID      string         `json:"id"`
	Matched bool           `json:"matched"`
	Route   Route          `json:"route"`
	Score   int            `json:"score,omitempty"`
	Inputs  map[string]any `json:"inputs,omitempty"`
	Error   string         `json:"error,omitempty"`
}

// Outcome is a final (or interim) result of a decision.
type Outcome string

const (
	OutcomeApprove         Outcome = "approve"
	OutcomePartial         Outcome = "partial"
	OutcomeReject          Outcome = "reject"
	OutcomeRequestEvidence Outcome = "request_evidence"
)

// Decision is a routing by the rules or a ruling by a reviewer.
type Decision struct {
	ID             string
	ClaimID        string
	Route          Route   // set for rule decisions
	Outcome        Outcome // set for reviewer decisions
	Amount         *Money
	ReasonCode     string
	Note           string
	RuleSetVersion string
	Rules          []RuleHit
	DecidedBy      string // "rules" or a principal's Actor()
	CreatedAt      time.Time

	// Score is the sum of the matching rules' scores (rule decisions).
	Score int
	// Facts are the facts the rules were evaluated on, as JSON (rules.Facts), so a backtest
	// can replay the claim exactly as it was routed.
	Facts json.RawMessage
	// TaskID is the review task a reviewer decided (reviewer decisions).
	TaskID string
	// Pending marks a rejection that waits for a second reviewer's confirmation (four
	// eyes): it is not in force, and the parties do not see it.
	Pending bool
}

// DecidedByRules is Decision.DecidedBy for routing by the rule set.
const DecidedByRules = "rules"

// Reason codes a reviewer gives for a ruling. A rejection needs one of these; the
// fabrication codes count in the buyer's record as "rejected as fabricated".
const (
	ReasonFabricatedEvidence   = "fabricated_evidence"   // damage painted on, a doctored photo
	ReasonStolenMerchantPhoto  = "stolen_merchant_photo" // the merchant's own catalogue or packing photo
	ReasonAIGenerated          = "ai_generated"          // an AI-generated picture
	ReasonReusedEvidence       = "reused_evidence"       // a photo already used in another claim
	ReasonDamageNotShown       = "damage_not_shown"      // the photos do not show the problem claimed
	ReasonInsufficientEvidence = "insufficient_evidence" // not enough to grant it (e.g. no answer to a request)
	ReasonOutsidePolicy        = "outside_policy"        // the claim is not covered (late, wrong reason...)
	ReasonOther                = "other"                 // explained in the note
)

// RejectReasons lists the reason codes a rejection may carry, fabrication codes first.
func RejectReasons() []string {
	return []string{ReasonFabricatedEvidence, ReasonStolenMerchantPhoto, ReasonAIGenerated, ReasonReusedEvidence,
		ReasonDamageNotShown, ReasonInsufficientEvidence, ReasonOutsidePolicy, ReasonOther}
}

// IsFabrication reports whether a rejection's reason code means the evidence was
// fabricated (painted, stolen, generated or reused), which marks the buyer's record.
func IsFabrication(reasonCode string) bool {
	switch reasonCode {
	case ReasonFabricatedEvidence, ReasonStolenMerchantPhoto, ReasonAIGenerated, ReasonReusedEvidence:
		return true
	}
	return false
}

// TaskKind says why a claim is in the review queue.
type TaskKind string

const (
	TaskReview       TaskKind = "review"
	TaskSecondReview TaskKind = "second_review" // four-eyes confirmation of a large rejection
	TaskAppeal       TaskKind = "appeal"
)

// TaskState is a review task's place in the queue.
type TaskState string

const (
	TaskOpen   TaskState = "open"
	TaskLeased TaskState = "leased"
	TaskDone   TaskState = "done"
)

// ReviewTask is a unit of reviewer work.
type ReviewTask struct {
	ID             string
	ClaimID        string
	Kind           TaskKind
	State          TaskState
	Priority       int
	Route          Route
	LeasedBy       string
	LeaseExpiresAt *time.Time
	Deadline       *time.Time
	CreatedAt      time.Time
	CompletedAt    *time.Time

	// Risk is the claim's risk when the task was made; the queue orders by it after
	// priority and deadline.
	Risk int
	// DecisionID is, for a second review, the pending rejection to confirm or overturn.
	DecisionID string
	// ExcludeReviewers may never lease or decide the task, in the order they were barred
	// (the most recent decider last): for a second review, the reviewer whose rejection it
	// checks; for an appeal, everyone who ruled on the claim before it was appealed. Every
	// later task of an appealed claim (a second review of the appeal's rejection, a review
	// of photos the appeal's reviewer asked for) bars them too.
	ExcludeReviewers []string
}

// RuleSetVersion is a rule set stored in the database: the YAML as uploaded, its content
// hash (rules.RuleSet.Version), and whether it is the one routing claims now.
type RuleSetVersion struct {
	ID        string
	Version   string // "sha256:..." of the YAML
	Name      string
	Revision  string // the author's label (the YAML's version key)
	YAML      []byte
	CreatedBy string
	CreatedAt time.Time
	Active    bool
}

// BuyerFlag is a reviewer's mark on a buyer (e.g. "fabricated evidence in claim X").
type BuyerFlag struct {
	ID        string
	BuyerID   string
	Reason    string
	By        string
	CreatedAt time.Time
}

// Appeal is a buyer's or merchant's request to reconsider a decided claim.
type Appeal struct {
	ID          string
	ClaimID     string
	By          string // the appellant's Actor()
	Role        Role
	Statement   string
	EvidenceIDs []string
	CreatedAt   time.Time
}

// AuditEvent is one link of the append-only, hash-chained audit log.
type AuditEvent struct {
	Seq      int64
	Time     time.Time
	Actor    string
	Action   string
	Entity   string // "claim", "order", "key", "buyer", "evidence", ...
	EntityID string
	Before   json.RawMessage
	After    json.RawMessage
	PrevHash string
	Hash     string
}
