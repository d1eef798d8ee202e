package adjudicate

// Rule set versions (admins): upload a draft, list, activate, backtest against the stored
// claims. A set is compiled before it is stored, so the database only holds sets that
// compile; the version is the SHA-256 of the YAML, so a decision names its exact policy.

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/refundguard/refundguard/pkg/claim"
	"github.com/refundguard/refundguard/rules"
)

// maxRuleSetBytes bounds an uploaded rule set.
const maxRuleSetBytes = 256 << 10

// compileRuleSet compiles YAML, turning a refusal into an invalid-input error that names
// every problem (rule id, line, reason).
func compileRuleSet(src []byte) (*rules.RuleSet, error) {
	if len(src) > maxRuleSetBytes {
		return nil, &claim.Error{Code: claim.CodeTooLarge, Field: "yaml", Message: "the rule set is larger than 256 KiB"}
	}
	set, err := rules.Compile(src)
	var ce *rules.CompileError
	if errors.As(err, &ce) {
		problems := make([]string, len(ce.Problems))
		for i, p := range ce.Problems {
			problems[i] = p.String()
		}
		return nil, &claim.Error{Code: claim.CodeInvalid, Field: "yaml",
			Message: "rule set refused: " + strings.Join(problems, "; "), Err: err}
	}
	if err != nil {
		return nil, claim.Wrap(err, claim.CodeInvalid, "rule set refused: "+err.Error())
	}
	return set, nil
}

// CreateRuleSet stores an uploaded rule set as a new, inactive version (admins). A set that
// does not compile is refused with every problem named. Uploading a version already stored
// returns it with created false.
func (s *Service) CreateRuleSet(ctx context.Context, p claim.Principal, yaml []byte) (rs claim.RuleSetVersion, created bool, err error) {
	if err := requireRole(p, claim.RoleAdmin); err != nil {
		return rs, false, err
	}
	set, err := compileRuleSet(yaml)
	if err != nil {
		return rs, false, err
	}
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		existing, err := s.store.RuleSetByVersion(ctx, set.Version)
		if err == nil {
			rs = existing
			return nil
		}
		if !claim.IsNotFound(err) {
			return err
		}
		if rs, err = s.store.CreateRuleSet(ctx, claim.RuleSetVersion{Version: set.Version, Name: set.Name,
			Revision: set.Revision, YAML: set.Source(), CreatedBy: p.Actor(), CreatedAt: s.now()}); err != nil {
			return err
		}
		created = true
		return s.audit(ctx, p.Actor(), "ruleset.created", "ruleset", rs.ID, nil, ruleSetAudit(rs))
	})
	return rs, created, err
}

// ListRuleSets returns every stored version, newest first (admins).
func (s *Service) ListRuleSets(ctx context.Context, p claim.Principal) ([]claim.RuleSetVersion, error) {
	if err := requireRole(p, claim.RoleAdmin); err != nil {
		return nil, err
	}
	if _, err := s.ensureRules(ctx); err != nil {
		return nil, err
	}
	return s.store.ListRuleSets(ctx)
}

// GetRuleSet returns one stored version with its YAML (admins).
func (s *Service) GetRuleSet(ctx context.Context, p claim.Principal, id string) (claim.RuleSetVersion, error) {
	if err := requireRole(p, claim.RoleAdmin); err != nil {
		return claim.RuleSetVersion{}, err
	}
	return s.store.GetRuleSet(ctx, id)
}

// ActivateRuleSet makes a stored version the one that routes claims from now on (admins;
// audited). Claims already routed keep their decisions.
func (s *Service) ActivateRuleSet(ctx context.Context, p claim.Principal, id string) (claim.RuleSetVersion, error) {
	if err := requireRole(p, claim.RoleAdmin); err != nil {
		return claim.RuleSetVersion{}, err
	}
	var out claim.RuleSetVersion
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		rs, err := s.store.GetRuleSet(ctx, id)
		if err != nil {
			return err
		}
		if _, err := s.compiled.get(rs); err != nil {
			return claim.Wrap(err, claim.CodeConflict, "this stored rule set no longer compiles; upload a corrected one")
		}
		before := map[string]any{"active": ""}
		if cur, err := s.store.ActiveRuleSet(ctx); err == nil {
			before["active"] = cur.ID
		} else if !claim.IsNotFound(err) {
			return err
		}
		if out, err = s.store.ActivateRuleSet(ctx, id); err != nil {
			return err
		}
		return s.audit(ctx, p.Actor(), "ruleset.activated", "ruleset", id, before, ruleSetAudit(out))
	})
	return out, err
}

// BacktestRuleSet replays the stored claims through a stored version (admins): how routes
// would change, and how well the version agrees with reviewers' final decisions.
func (s *Service) BacktestRuleSet(ctx context.Context, p claim.Principal, id string) (rules.BacktestReport, error) {
	if err := requireRole(p, claim.RoleAdmin); err != nil {
		return rules.BacktestReport{}, err
	}
	rs, err := s.store.GetRuleSet(ctx, id)
	if err != nil {
		return rules.BacktestReport{}, err
	}
	set, err := s.compiled.get(rs)
	if err != nil {
		return rules.BacktestReport{}, claim.Wrap(err, claim.CodeConflict, "this stored rule set no longer compiles")
	}
	history, err := BacktestHistory(ctx, s.store, MaxBacktestClaims)
	if err != nil {
		return rules.BacktestReport{}, err
	}
	rep, err := rules.Backtest(set, history)
	if err != nil {
		return rules.BacktestReport{}, claim.Wrap(err, claim.CodeInternal, "backtest")
	}
	return rep, nil
}

// MaxBacktestClaims bounds how many of the most recent claims a backtest replays.
const MaxBacktestClaims = 100_000

// HistorySource is what BacktestHistory reads: *store.Store satisfies it.
type HistorySource interface {
	ListClaims(ctx context.Context, q claim.ClaimQuery) ([]claim.Claim, string, error)
	DecisionsForClaims(ctx context.Context, claimIDs []string) (map[string][]claim.Decision, error)
}

// BacktestHistory turns up to limit of the most recent stored claims into backtest records:
// the facts and route of each claim's last routing by the rules (the one that decided
// whether a person saw it), and the final outcome when a reviewer decided it (approve,
// partial or reject; rejected for a fabrication reason code counts as fabricated). Claims
// the rules approved and no reviewer ever looked at count in route changes but not in the
// agreement figures. Claims never routed (still analysing, or routed before decisions kept
// their facts) are left out.
func BacktestHistory(ctx context.Context, src HistorySource, limit int) ([]rules.HistoryRecord, error) {
	var out []rules.HistoryRecord
	cursor := ""
	seen := 0
	for seen < limit {
		page, next, err := src.ListClaims(ctx, claim.ClaimQuery{Cursor: cursor, Limit: 200})
		if err != nil {
			return nil, err
		}
		ids := make([]string, len(page))
		for i, c := range page {
			ids[i] = c.ID
		}
		decisions, err := src.DecisionsForClaims(ctx, ids)
		if err != nil {
			return nil, err
		}
		for _, c := range page {
			if seen == limit {
				break
			}
			seen++
			rec, ok, err := historyRecord(c, decisions[c.ID])
			if err != nil {
				return nil, err
			}
			if ok {
				out = append(out, rec)
			}
		}
		if next == "" {
			break
		}
		cursor = next
	}
	return out, nil
}

func historyRecord(c claim.Claim, ds []claim.Decision) (rules.HistoryRecord, bool, error) {
	var routed *claim.Decision
	for i := len(ds) - 1; i >= 0; i-- {
		if ds[i].DecidedBy == claim.DecidedByRules && len(ds[i].Facts) > 0 {
			routed = &ds[i]
			break
		}
	}
	if routed == nil {
		return rules.HistoryRecord{}, false, nil
	}
	rec := rules.HistoryRecord{ClaimID: c.ID, Route: rules.Route(routed.Route)}
	if err := json.Unmarshal(routed.Facts, &rec.Facts); err != nil {
		return rules.HistoryRecord{}, false, claim.Wrap(err, claim.CodeInternal, "decision "+routed.ID+" has unreadable facts")
	}
	ruled := false
	for _, d := range ds {
		if d.DecidedBy != claim.DecidedByRules && !d.Pending && d.Outcome != "" && d.Outcome != claim.OutcomeRequestEvidence {
			ruled = true
		}
	}
	if ruled && c.Outcome != "" {
		rec.Outcome = rules.Outcome(c.Outcome)
		rec.Fabricated = c.Outcome == claim.OutcomeReject && claim.IsFabrication(c.ReasonCode)
	}
	if err := rec.Validate(); err != nil {
		return rules.HistoryRecord{}, false, claim.Wrap(err, claim.CodeInternal, "claim "+c.ID+" makes no backtest record")
	}
	return rec, true, nil
}
