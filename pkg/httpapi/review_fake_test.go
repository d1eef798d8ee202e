package httpapi

import (
	"context"
	"io"

	"github.com/refundguard/refundguard/pkg/adjudicate"
	"github.com/refundguard/refundguard/pkg/claim"
	"github.com/refundguard/refundguard/rules"
)

// The review half of fakeService, for the handler unit tests: each method records its call
// and returns the injected error or a fixed answer. The review endpoints' behaviour is
// tested end to end on the real service (review_e2e_test.go).

func (f *fakeService) LeaseTask(_ context.Context, _ claim.Principal) (claim.ReviewTask, bool, error) {
	if err := f.enter("LeaseTask", nil); err != nil {
		return claim.ReviewTask{}, false, err
	}
	return claim.ReviewTask{ID: "t1", ClaimID: "c1", Kind: claim.TaskReview, State: claim.TaskLeased}, true, nil
}

func (f *fakeService) GetTask(_ context.Context, _ claim.Principal, id string) (claim.ReviewTask, error) {
	if err := f.enter("GetTask", id); err != nil {
		return claim.ReviewTask{}, err
	}
	return claim.ReviewTask{ID: id, ClaimID: "c1", Kind: claim.TaskReview, State: claim.TaskOpen}, nil
}

func (f *fakeService) ListTasks(_ context.Context, _ claim.Principal, filter adjudicate.TaskFilter) ([]adjudicate.TaskView, error) {
	return nil, f.enter("ListTasks", filter)
}

func (f *fakeService) HeartbeatTask(_ context.Context, _ claim.Principal, id string) (claim.ReviewTask, error) {
	return claim.ReviewTask{ID: id}, f.enter("HeartbeatTask", id)
}

func (f *fakeService) DecideTask(_ context.Context, _ claim.Principal, id string, in adjudicate.DecisionInput) (claim.Decision, error) {
	return claim.Decision{ID: "d2", Outcome: in.Outcome}, f.enter("DecideTask", in)
}

func (f *fakeService) Appeal(_ context.Context, _ claim.Principal, _ string, in adjudicate.AppealInput) (claim.Claim, error) {
	return f.details.Claim, f.enter("Appeal", in)
}

func (f *fakeService) GetBuyerRecord(_ context.Context, _ claim.Principal, id string) (adjudicate.BuyerRecord, error) {
	return adjudicate.BuyerRecord{BuyerID: id}, f.enter("GetBuyerRecord", id)
}

func (f *fakeService) FlagBuyer(_ context.Context, _ claim.Principal, id, reason string) (adjudicate.BuyerFlag, error) {
	return adjudicate.BuyerFlag{BuyerID: id, Reason: reason}, f.enter("FlagBuyer", reason)
}

func (f *fakeService) WriteCaseFile(_ context.Context, _ claim.Principal, id string, _ io.Writer) error {
	return f.enter("WriteCaseFile", id)
}

func (f *fakeService) CreateRuleSet(_ context.Context, _ claim.Principal, yaml []byte) (claim.RuleSetVersion, bool, error) {
	return claim.RuleSetVersion{ID: "rs1", YAML: yaml}, true, f.enter("CreateRuleSet", string(yaml))
}

func (f *fakeService) ListRuleSets(_ context.Context, _ claim.Principal) ([]claim.RuleSetVersion, error) {
	return nil, f.enter("ListRuleSets", nil)
}

func (f *fakeService) GetRuleSet(_ context.Context, _ claim.Principal, id string) (claim.RuleSetVersion, error) {
	return claim.RuleSetVersion{ID: id}, f.enter("GetRuleSet", id)
}

func (f *fakeService) ActivateRuleSet(_ context.Context, _ claim.Principal, id string) (claim.RuleSetVersion, error) {
	return claim.RuleSetVersion{ID: id, Active: true}, f.enter("ActivateRuleSet", id)
}

func (f *fakeService) BacktestRuleSet(_ context.Context, _ claim.Principal, id string) (rules.BacktestReport, error) {
	return rules.BacktestReport{}, f.enter("BacktestRuleSet", id)
}
