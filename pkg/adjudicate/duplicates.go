package adjudicate

// Evidence reused across claims. Every buyer photo's PDQ hash is kept in an exact
// multi-index hashing index (pkg/hashindex), built from the database at start and updated
// as photos arrive. When a photo is analysed, a stored photo of another claim on another
// order within the PDQ match radius yields a duplicate_evidence finding naming that claim
// (and, for staff, its buyer), before the rules run.
//
// Each instance keeps its own index: with several instances on one PostgreSQL database, a
// photo filed through another instance is seen after the next restart.

import (
	"context"
	"fmt"
	"math"
	"sync"

	"github.com/refundguard/refundguard/forensics"
	"github.com/refundguard/refundguard/pkg/claim"
	"github.com/refundguard/refundguard/pkg/hashindex"
)

// maxDuplicateMatches bounds how many other claims one finding names.
const maxDuplicateMatches = 5

// duplicateIndex is the service's index of buyer photos by PDQ hash, keyed by evidence id.
// mu is held while the index is built, so a photo arriving meanwhile waits for it and is
// never missed between the database scan and the first Add.
type duplicateIndex struct {
	mu sync.Mutex
	ix *hashindex.Index256[string]
}

// indexable reports whether a photo's hash can be matched: a buyer photo with a PDQ hash of
// usable quality (flat or tiny pictures all hash alike).
func indexable(ev claim.Evidence) (hashindex.Hash256, bool) {
	if ev.Source != claim.SourceBuyer || ev.Hashes.PDQQuality < forensics.PDQMinQuality {
		return hashindex.Hash256{}, false
	}
	h, err := hashindex.ParseHash256(ev.Hashes.PDQ)
	return h, err == nil
}

// ensure builds the index from the database unless it is built.
func (d *duplicateIndex) ensure(ctx context.Context, s *Service) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ix != nil {
		return nil
	}
	var entries []hashindex.Entry256[string]
	err := s.store.EachEvidenceHash(ctx, func(ev claim.Evidence) error {
		if h, ok := indexable(ev); ok {
			entries = append(entries, hashindex.Entry256[string]{ID: ev.ID, Hash: h})
		}
		return nil
	})
	if err != nil {
		return err
	}
	ix, err := hashindex.New256(entries, hashindex.Options{DesignRadius: s.review.DuplicateRadius})
	if err != nil {
		return claim.Wrap(err, claim.CodeInternal, "building the duplicate-evidence index")
	}
	d.ix = ix
	s.log.InfoContext(ctx, "duplicate-evidence index built", "photos", ix.Len())
	return nil
}

// add indexes new photos (after the transaction that stored them committed). Before the
// index is built there is nothing to do: the build reads them from the database.
func (d *duplicateIndex) add(s *Service, evs []claim.Evidence) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ix == nil {
		return
	}
	for _, ev := range evs {
		if h, ok := indexable(ev); ok {
			if err := d.ix.Add(ev.ID, h); err != nil {
				s.log.Error("indexing an evidence photo for duplicate detection", "evidence_id", ev.ID, "error", err)
			}
		}
	}
}

func (d *duplicateIndex) search(h hashindex.Hash256, radius int) []hashindex.Match[string] {
	d.mu.Lock()
	ix := d.ix
	d.mu.Unlock()
	if ix == nil {
		return nil
	}
	return ix.Search(h, radius)
}

// duplicateFinding looks for ev's shot among other claims' photos and describes what it
// finds, or returns ok false. Photos of the same claim or of another claim on the same order
// (a claim filed again after a withdrawal) are not duplicates.
func (s *Service) duplicateFinding(ctx context.Context, c claim.Claim, ev claim.Evidence) (forensics.Finding, bool, error) {
	h, ok := indexable(ev)
	if !ok {
		return forensics.Finding{}, false, nil
	}
	if err := s.dups.ensure(ctx, s); err != nil {
		return forensics.Finding{}, false, err
	}
	type hit struct {
		ev       claim.Evidence
		other    claim.Claim
		distance int
	}
	var hits []hit
	for _, m := range s.dups.search(h, s.review.DuplicateRadius) {
		if m.ID == ev.ID {
			continue
		}
		oe, err := s.store.GetEvidence(ctx, m.ID)
		if err != nil {
			return forensics.Finding{}, false, err
		}
		if oe.ClaimID == c.ID {
			continue
		}
		oc, err := s.store.GetClaim(ctx, oe.ClaimID)
		if err != nil {
			return forensics.Finding{}, false, err
		}
		if oc.OrderID == c.OrderID {
			continue
		}
		hits = append(hits, hit{oe, oc, m.Distance})
		if len(hits) == maxDuplicateMatches {
			break
		}
	}
	if len(hits) == 0 {
		return forensics.Finding{}, false, nil
	}
	first := hits[0]
	whose := "another buyer's claim"
	if first.other.BuyerID == c.BuyerID {
		whose = "the same buyer's claim on another order"
	}
	others := make([]string, len(hits))
	for i, x := range hits {
		others[i] = x.other.ID
	}
	d := first.distance
	f := forensics.Finding{
		Code: forensics.CodeDuplicateEvidence, Severity: forensics.SeverityHigh,
		Confidence: math.Max(0.5, 1-float64(d)/64),
		Message:    fmt.Sprintf("the same shot was evidence in %s %s (PDQ distance %d)", whose, first.other.ID, d),
		Distance:   &d,
		Details: map[string]any{"claim_id": first.other.ID, "evidence_id": first.ev.ID, "buyer_id": first.other.BuyerID,
			"order_id": first.other.OrderID, "merchant_id": first.other.MerchantID,
			"same_buyer": first.other.BuyerID == c.BuyerID, "claims": others},
	}
	return f, true, nil
}
