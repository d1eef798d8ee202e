package rules

import "fmt"

// Route is where the rules send a claim. Rules have no reject route: only a reviewer
// rejects.
type Route string

const (
	RouteApprove         Route = "approve"          // refund without a reviewer
	RouteRequestEvidence Route = "request_evidence" // ask the buyer for more or better photos
	RouteAwaitMerchant   Route = "await_merchant"   // wait for the merchant's answer within its window
	RouteReview          Route = "review"           // a reviewer decides
	RouteReviewPriority  Route = "review_priority"  // a reviewer decides, ahead of the queue
)

// routeOrder lists routes from least to most severe; the most severe matching route wins.
var routeOrder = [...]Route{RouteApprove, RouteRequestEvidence, RouteAwaitMerchant, RouteReview, RouteReviewPriority}

// Routes lists every route from least to most severe.
func Routes() []Route { return routeOrder[:] }

// Severity ranks a route: approve 1 < request_evidence 2 < await_merchant 3 < review 4 <
// review_priority 5; 0 for an unknown route.
func (r Route) Severity() int {
	for i, o := range routeOrder {
		if r == o {
			return i + 1
		}
	}
	return 0
}

// Valid reports whether r is a known route.
func (r Route) Valid() bool { return r.Severity() > 0 }

// ToReview reports whether the route puts the claim in front of a reviewer.
func (r Route) ToReview() bool { return r == RouteReview || r == RouteReviewPriority }

// Outcome is a reviewer's final decision on a claim, as backtests compare against it.
type Outcome string

const (
	OutcomeApprove Outcome = "approve"
	OutcomePartial Outcome = "partial"
	OutcomeReject  Outcome = "reject"
)

var outcomeOrder = [...]Outcome{OutcomeApprove, OutcomePartial, OutcomeReject}

// Outcomes lists the final outcomes a backtest compares against.
func Outcomes() []Outcome { return outcomeOrder[:] }

func (o Outcome) valid() bool {
	return o == OutcomeApprove || o == OutcomePartial || o == OutcomeReject
}

func (o Outcome) index() int {
	for i, x := range outcomeOrder {
		if o == x {
			return i
		}
	}
	panic(fmt.Sprintf("rules: unknown outcome %q", o))
}
