package adjudicate

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/refundguard/refundguard/pkg/claim"
	"github.com/refundguard/refundguard/rules"
)

// The buyer's refund record spans every merchant on the platform. It is computed from the
// claims themselves (each carries the ruling in force: outcome, reason code, when), so a
// reviewer's decision updates it in the decision's own transaction, with nothing to keep in
// step.

// recordWindows are the spans of the buyer's record, in days.
var recordWindows = []int{30, 90, 365}

// buyerFacts are the buyer's record as the rules read it: windows ending now, without the
// claim being routed, refunded amounts in the claim's currency.
func (s *Service) buyerFacts(ctx context.Context, buyerID, exclude, currency string, now time.Time) (rules.BuyerFacts, error) {
	claims, err := s.store.BuyerClaims(ctx, buyerID, time.Time{})
	if err != nil {
		return rules.BuyerFacts{}, err
	}
	flags, err := s.store.BuyerFlags(ctx, buyerID)
	if err != nil {
		return rules.BuyerFacts{}, err
	}
	kept := claims[:0:0]
	for _, c := range claims {
		if c.ID != exclude {
			kept = append(kept, c)
		}
	}
	rec := summarize(kept, currency, now)
	f := rules.BuyerFacts{RejectedFabricated: rec.fabricated, FabricatedShare: rec.share(), Flags: make([]string, 0, len(flags))}
	for i, w := range rec.windows {
		switch recordWindows[i] {
		case 30:
			f.Claims30d, f.Refunds30d, f.RefundedAmount30d = w.Claims, w.Refunds, w.RefundedAmount.Value
		case 90:
			f.Claims90d, f.Refunds90d, f.RefundedAmount90d = w.Claims, w.Refunds, w.RefundedAmount.Value
		case 365:
			f.Claims365d, f.Refunds365d, f.RefundedAmount365d = w.Claims, w.Refunds, w.RefundedAmount.Value
		}
	}
	for _, fl := range flags {
		f.Flags = append(f.Flags, fl.Reason)
	}
	return f, nil
}

// record is a buyer's claims summarised.
type record struct {
	windows    []WindowCounts
	outcomes   map[claim.Outcome]int
	decided    int
	fabricated int // rejected as fabricated, ever
}

func (r record) share() float64 {
	if r.decided == 0 {
		return 0
	}
	return float64(r.fabricated) / float64(r.decided)
}

// summarize counts claims into the record windows ending at now: claims by filing time;
// refunds, rejections and refunded amounts (in currency) by decision time.
func summarize(claims []claim.Claim, currency string, now time.Time) record {
	r := record{outcomes: map[claim.Outcome]int{}}
	merchants := make([]map[string]bool, len(recordWindows))
	for i, days := range recordWindows {
		r.windows = append(r.windows, WindowCounts{Days: days, RefundedAmount: claim.Money{Currency: currency}})
		merchants[i] = map[string]bool{}
	}
	for _, c := range claims {
		if c.Outcome != "" {
			r.outcomes[c.Outcome]++
			r.decided++
			if c.Outcome == claim.OutcomeReject && claim.IsFabrication(c.ReasonCode) {
				r.fabricated++
			}
		}
		for i, days := range recordWindows {
			since := now.Add(-time.Duration(days) * 24 * time.Hour)
			w := &r.windows[i]
			if !c.CreatedAt.Before(since) {
				w.Claims++
				merchants[i][c.MerchantID] = true
			}
			if c.DecidedAt == nil || c.DecidedAt.Before(since) {
				continue
			}
			switch c.Outcome {
			case claim.OutcomeApprove, claim.OutcomePartial:
				w.Refunds++
				if c.ApprovedAmount != nil && c.ApprovedAmount.Currency == currency {
					w.RefundedAmount.Value += c.ApprovedAmount.Value
				}
			case claim.OutcomeReject:
				w.Rejected++
				if claim.IsFabrication(c.ReasonCode) {
					w.RejectedFabricated++
				}
			}
		}
	}
	for i := range r.windows {
		r.windows[i].Merchants = len(merchants[i])
	}
	return r
}

// GetBuyerRecord returns a buyer's refund record across all merchants (staff only): claims,
// refunds, refunded amount (platform currency), rejections and rejections as fabricated over
// 30, 90 and 365 days, outcomes ever, and the reviewers' flags. A buyer no order names is
// not found.
func (s *Service) GetBuyerRecord(ctx context.Context, p claim.Principal, buyerID string) (BuyerRecord, error) {
	if err := requireRole(p, claim.RoleReviewer, claim.RoleAdmin); err != nil {
		return BuyerRecord{}, err
	}
	if err := s.knownBuyer(ctx, buyerID); err != nil {
		return BuyerRecord{}, err
	}
	claims, err := s.store.BuyerClaims(ctx, buyerID, time.Time{})
	if err != nil {
		return BuyerRecord{}, err
	}
	flags, err := s.store.BuyerFlags(ctx, buyerID)
	if err != nil {
		return BuyerRecord{}, err
	}
	rec := summarize(claims, s.review.Currency, s.now())
	return BuyerRecord{BuyerID: buyerID, Windows: rec.windows, Outcomes: rec.outcomes, Flags: flags, FabricatedShare: rec.share()}, nil
}

func (s *Service) knownBuyer(ctx context.Context, buyerID string) error {
	if buyerID == "" || len(buyerID) > maxIDLen {
		return notFound("buyer")
	}
	known, err := s.store.BuyerKnown(ctx, buyerID)
	if err != nil {
		return err
	}
	if !known {
		return notFound("buyer")
	}
	return nil
}

// maxFlagRunes bounds a flag's reason.
const maxFlagRunes = 500

// FlagBuyer records a reviewer's flag on a buyer, with its reason, audited. Flags are in
// the buyer's record and the rules' buyer.flags.
func (s *Service) FlagBuyer(ctx context.Context, p claim.Principal, buyerID, reason string) (BuyerFlag, error) {
	if err := requireRole(p, claim.RoleReviewer, claim.RoleAdmin); err != nil {
		return BuyerFlag{}, err
	}
	reason = strings.TrimSpace(reason)
	switch {
	case reason == "":
		return BuyerFlag{}, claim.FieldError("reason", "a flag needs a reason (e.g. \"fabricated evidence in claim clm_...\")")
	case utf8.RuneCountInString(reason) > maxFlagRunes:
		return BuyerFlag{}, &claim.Error{Code: claim.CodeTooLarge, Field: "reason", Message: "reason is longer than 500 characters"}
	}
	if err := s.validateText("reason", reason); err != nil {
		return BuyerFlag{}, err
	}
	if err := s.knownBuyer(ctx, buyerID); err != nil {
		return BuyerFlag{}, err
	}
	var flag BuyerFlag
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		var err error
		if flag, err = s.store.CreateBuyerFlag(ctx, claim.BuyerFlag{BuyerID: buyerID, Reason: reason, By: p.Actor(), CreatedAt: s.now()}); err != nil {
			return err
		}
		return s.audit(ctx, p.Actor(), "buyer.flagged", "buyer", buyerID, nil, map[string]any{"flag_id": flag.ID, "reason": reason})
	})
	return flag, err
}
