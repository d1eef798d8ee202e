package claim

// Status is a claim's place in its lifecycle:
//
//	submitted -> analyzing -> awaiting_merchant | in_review | awaiting_buyer_evidence
//	          -> approved | partially_approved | rejected -> (appealed -> in_review) -> closed
//
// and withdrawn from any open state.
type Status string

const (
	StatusSubmitted             Status = "submitted"
	StatusAnalyzing             Status = "analyzing"
	StatusAwaitingMerchant      Status = "awaiting_merchant"
	StatusInReview              Status = "in_review"
	StatusAwaitingBuyerEvidence Status = "awaiting_buyer_evidence"
	StatusApproved              Status = "approved"
	StatusPartiallyApproved     Status = "partially_approved"
	StatusRejected              Status = "rejected"
	StatusAppealed              Status = "appealed"
	StatusClosed                Status = "closed"
	StatusWithdrawn             Status = "withdrawn"
)

var transitions = map[Status][]Status{
	StatusSubmitted:             {StatusAnalyzing, StatusWithdrawn},
	StatusAnalyzing:             {StatusAwaitingMerchant, StatusInReview, StatusAwaitingBuyerEvidence, StatusApproved, StatusWithdrawn},
	StatusAwaitingMerchant:      {StatusAnalyzing, StatusInReview, StatusAwaitingBuyerEvidence, StatusApproved, StatusWithdrawn},
	StatusAwaitingBuyerEvidence: {StatusAnalyzing, StatusInReview, StatusWithdrawn},
	StatusInReview:              {StatusAnalyzing, StatusApproved, StatusPartiallyApproved, StatusRejected, StatusAwaitingBuyerEvidence, StatusWithdrawn},
	StatusApproved:              {StatusAppealed, StatusClosed},
	StatusPartiallyApproved:     {StatusAppealed, StatusClosed},
	StatusRejected:              {StatusAppealed, StatusClosed},
	StatusAppealed:              {StatusInReview},
}

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	_, ok := transitions[s]
	return ok || s == StatusClosed || s == StatusWithdrawn
}

// CanBecome reports whether the lifecycle allows moving from s to next.
func (s Status) CanBecome(next Status) bool {
	for _, t := range transitions[s] {
		if t == next {
			return true
		}
	}
	return false
}

// Open reports whether the claim still awaits a decision.
func (s Status) Open() bool {
	switch s {
	case StatusSubmitted, StatusAnalyzing, StatusAwaitingMerchant, StatusInReview, StatusAwaitingBuyerEvidence, StatusAppealed:
		return true
	}
	return false
}

// Final reports whether a decision has been made (appealable until closed).
func (s Status) Final() bool {
	return s == StatusApproved || s == StatusPartiallyApproved || s == StatusRejected
}
