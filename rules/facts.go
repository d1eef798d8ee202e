package rules

import "time"

// Facts is everything a rule may read about a claim. The service fills it in before each
// evaluation; rule expressions see it as five groups, named in snake_case:
//
//	claim.amount >= 300000 and "reference_match" in evidence.codes
//
// Every field carries an `expr` name (what rule writers type), matching `json` and `yaml`
// names (fixtures and backtest history) and a `doc` line, from which Fields() and
// `refundguard rules fields` build the documented field table. Unknown values are zero
// (an empty string, 0, false, the zero time) unless the field's doc says otherwise.
//
// The fact types deliberately have no methods: expr would expose every exported method to
// rule writers next to the fields.
type Facts struct {
	Claim    ClaimFacts    `expr:"claim" json:"claim" yaml:"claim" doc:"the refund claim being routed"`
	Order    OrderFacts    `expr:"order" json:"order" yaml:"order" doc:"the order the claim is about"`
	Evidence EvidenceFacts `expr:"evidence" json:"evidence" yaml:"evidence" doc:"forensic findings over the buyer's evidence photos (see SummarizeEvidence)"`
	Buyer    BuyerFacts    `expr:"buyer" json:"buyer" yaml:"buyer" doc:"the buyer's refund record across all merchants"`
	Merchant MerchantFacts `expr:"merchant" json:"merchant" yaml:"merchant" doc:"the merchant and its answer to this claim"`
}

// ClaimFacts describe the claim itself.
type ClaimFacts struct {
	Reason             string  `expr:"reason" json:"reason" yaml:"reason" doc:"why the buyer asks: damaged, defective, not_as_described, missing_parts, not_received"`
	Amount             int64   `expr:"amount" json:"amount" yaml:"amount" doc:"requested refund in minor units of currency (fen for CNY: 300000 = 3,000 CNY)"`
	Currency           string  `expr:"currency" json:"currency" yaml:"currency" doc:"ISO 4217 code of amount, e.g. CNY"`
	RefundType         string  `expr:"refund_type" json:"refund_type" yaml:"refund_type" doc:"refund_only (the buyer keeps the goods) or return_and_refund"`
	HoursSinceDelivery float64 `expr:"hours_since_delivery" json:"hours_since_delivery" yaml:"hours_since_delivery" doc:"hours from delivery to filing the claim; 0 when the order has no delivery time"`
	HoursSinceFiling   float64 `expr:"hours_since_filing" json:"hours_since_filing" yaml:"hours_since_filing" doc:"hours from filing the claim to this evaluation"`
	EvidenceRequests   int     `expr:"evidence_requests" json:"evidence_requests" yaml:"evidence_requests" doc:"how many times the buyer has already been asked for more evidence on this claim"`
}

// OrderFacts describe the order the claim is about.
type OrderFacts struct {
	Amount      int64     `expr:"amount" json:"amount" yaml:"amount" doc:"what the buyer paid, in minor units of currency"`
	Currency    string    `expr:"currency" json:"currency" yaml:"currency" doc:"ISO 4217 code of the order amount"`
	PlacedAt    time.Time `expr:"placed_at" json:"placed_at" yaml:"placed_at" doc:"when the order was placed"`
	ShippedAt   time.Time `expr:"shipped_at" json:"shipped_at" yaml:"shipped_at" doc:"when it was shipped; zero time when not shipped"`
	DeliveredAt time.Time `expr:"delivered_at" json:"delivered_at" yaml:"delivered_at" doc:"when it was delivered; zero time when not delivered"`
	HasDelivery bool      `expr:"has_delivery" json:"has_delivery" yaml:"has_delivery" doc:"whether the carrier recorded a delivery"`
}

// EvidenceFacts summarise the forensic reports of the buyer's evidence photos. Build them
// with SummarizeEvidence rather than by hand so every service computes them alike.
type EvidenceFacts struct {
	Count                int            `expr:"count" json:"count" yaml:"count" doc:"evidence photos attached by the buyer"`
	UsableCount          int            `expr:"usable_count" json:"usable_count" yaml:"usable_count" doc:"photos that were analysed and are not low_quality"`
	Failed               int            `expr:"failed" json:"failed" yaml:"failed" doc:"photos that could not be analysed (unreadable, unsupported)"`
	Codes                []string       `expr:"codes" json:"codes" yaml:"codes" doc:"distinct finding codes over all photos, sorted (e.g. reference_match, ai_generated_label)"`
	CodeCounts           map[string]int `expr:"code_counts" json:"code_counts" yaml:"code_counts" doc:"findings per code; a missing code reads as 0: evidence.code_counts[\"localized_edit\"]"`
	MaxSeverity          string         `expr:"max_severity" json:"max_severity" yaml:"max_severity" doc:"highest finding severity: \"\" (no findings), info, low, medium or high"`
	MinReferenceDistance int            `expr:"min_reference_distance" json:"min_reference_distance" yaml:"min_reference_distance" doc:"smallest hash distance of a reference_match finding; -1 when nothing matched a reference photo"`
	MaxChangedFraction   float64        `expr:"max_changed_fraction" json:"max_changed_fraction" yaml:"max_changed_fraction" doc:"largest share (0-1) of a photo that differs from its matched reference (localized_edit)"`
	AILabeled            bool           `expr:"ai_labeled" json:"ai_labeled" yaml:"ai_labeled" doc:"a photo carries an AI-generation label (ai_generated_label, or content credentials that declare AI generation)"`
	CaptureTimeConflicts int            `expr:"capture_time_conflicts" json:"capture_time_conflicts" yaml:"capture_time_conflicts" doc:"photos whose capture time precedes the buyer having the item"`
	Duplicates           int            `expr:"duplicates" json:"duplicates" yaml:"duplicates" doc:"photos also used as evidence in another claim (duplicate_evidence)"`
	MaxRisk              int            `expr:"max_risk" json:"max_risk" yaml:"max_risk" doc:"highest per-photo risk score, 0-100"`
}

// BuyerFacts are the buyer's refund record across every merchant on the platform. Windows
// end at the evaluation time and exclude the claim being routed.
type BuyerFacts struct {
	Claims30d          int      `expr:"claims_30d" json:"claims_30d" yaml:"claims_30d" doc:"claims filed in the last 30 days"`
	Claims90d          int      `expr:"claims_90d" json:"claims_90d" yaml:"claims_90d" doc:"claims filed in the last 90 days"`
	Claims365d         int      `expr:"claims_365d" json:"claims_365d" yaml:"claims_365d" doc:"claims filed in the last 365 days"`
	Refunds30d         int      `expr:"refunds_30d" json:"refunds_30d" yaml:"refunds_30d" doc:"claims approved in full or in part in the last 30 days"`
	Refunds90d         int      `expr:"refunds_90d" json:"refunds_90d" yaml:"refunds_90d" doc:"claims approved in full or in part in the last 90 days"`
	Refunds365d        int      `expr:"refunds_365d" json:"refunds_365d" yaml:"refunds_365d" doc:"claims approved in full or in part in the last 365 days"`
	RefundedAmount30d  int64    `expr:"refunded_amount_30d" json:"refunded_amount_30d" yaml:"refunded_amount_30d" doc:"money refunded in the last 30 days, minor units of the claim's currency"`
	RefundedAmount90d  int64    `expr:"refunded_amount_90d" json:"refunded_amount_90d" yaml:"refunded_amount_90d" doc:"money refunded in the last 90 days, minor units of the claim's currency"`
	RefundedAmount365d int64    `expr:"refunded_amount_365d" json:"refunded_amount_365d" yaml:"refunded_amount_365d" doc:"money refunded in the last 365 days, minor units of the claim's currency"`
	RejectedFabricated int      `expr:"rejected_fabricated" json:"rejected_fabricated" yaml:"rejected_fabricated" doc:"claims ever rejected by a reviewer as fabricated evidence"`
	FabricatedShare    float64  `expr:"fabricated_share" json:"fabricated_share" yaml:"fabricated_share" doc:"share (0-1) of the buyer's decided claims rejected as fabricated"`
	Flags              []string `expr:"flags" json:"flags" yaml:"flags" doc:"reasons of the reviewers' manual flags on the buyer; empty when unflagged"`
}

// MerchantFacts describe the merchant and where its response to this claim stands.
type MerchantFacts struct {
	ClaimRate       float64 `expr:"claim_rate" json:"claim_rate" yaml:"claim_rate" doc:"share (0-1) of the merchant's orders that drew a claim in the last 90 days"`
	ResponsePending bool    `expr:"response_pending" json:"response_pending" yaml:"response_pending" doc:"the merchant has not answered and its response window is open (or not yet opened)"`
	WindowExpired   bool    `expr:"window_expired" json:"window_expired" yaml:"window_expired" doc:"the response window ended without an answer"`
	Responded       bool    `expr:"responded" json:"responded" yaml:"responded" doc:"the merchant answered the claim (statement and/or counter-evidence)"`
}
