package adjudicate

// Evidence reused across claims. Every buyer photo's PDQ hash is kept in an exact
// multi-index hashing index (pkg/hashindex), built from the database at start. When a photo is
// analysed, a stored photo of another claim on another order within the PDQ match radius
// yields a duplicate_evidence finding naming that claim (and, for staff, its buyer), before
// the rules run.
//
// Each instance keeps its own index, and several instances may share one PostgreSQL
// database, so the index follows the evidence table rather than this instance's filings:
// before a lookup it reads the rows committed since it last looked, by the table's seq (its
// primary key, so the read is one index range scan, "seq > high-water mark", that returns
// nothing at all in the common case). A lookup therefore sees every photo committed before
// its analysis job started, through whichever instance it was filed. Workers share the reads:
// one that began after a job started serves that job's lookups too, so a claim's photos cost
// one read, and concurrent jobs wait for one read instead of each making their own.
//
// Seqs are drawn at insert, not at commit: on PostgreSQL a filing may commit seq 41 after
// another's 42 was read. The index remembers such holes below its high-water mark and reads
// them again at each catch-up until a row fills them or evidenceCommitMargin has passed since
// the hole was seen (a rolled-back filing leaves a hole for ever). SQLite runs one write
// transaction at a time, so there holes are rollbacks only.

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/refundguard/refundguard/forensics"
	"github.com/refundguard/refundguard/pkg/claim"
	"github.com/refundguard/refundguard/pkg/hashindex"
)

// maxDuplicateMatches bounds how many other claims one finding names.
const maxDuplicateMatches = 5

// evidenceCommitMargin is how long a hole in the evidence seqs is read again before it is
// taken for a rolled-back insert: the longest an intake transaction (FileClaim, AddEvidence,
// Appeal) may take from inserting an evidence row to committing. Those transactions hold only
// database work (photos are fsynced to the blob store before they begin) and take
// milliseconds. Nothing bounds them outright; 10 minutes is twice the 5 minutes the HTTP
// server gives a request to be read and answered (ReadTimeout, WriteTimeout). A row whose
// transaction commits later still is seen by this instance only after a restart. While a hole
// is open, each catch-up costs one more primary-key range read.
const evidenceCommitMargin = 10 * time.Minute

// duplicateIndex is the service's index of buyer photos by PDQ hash, keyed by evidence id,
// and how far it has read the evidence table. mu is held while the index is built or catches
// up, so a lookup never runs against a half-read table and two workers never read the same
// rows (each row is added once).
type duplicateIndex struct {
	mu     sync.Mutex
	ix     *hashindex.Index256[string]
	seen   int64     // the highest evidence seq read
	holes  []seqHole // seqs below seen not read yet
	readAt time.Time // when the last complete read began (this process's clock, monotonic)
}

// seqHole is a run of evidence seqs [lo, hi] that were missing when a higher seq was read.
type seqHole struct {
	lo, hi  int64
	expires time.Time // after a read that began later finds no row there, the hole is dropped
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

// ensure makes the index hold every photo committed before since: it builds the index from
// the database unless it is built, else reads the rows committed since the last read, unless
// a read that began after since has already done so. The zero since only builds.
func (d *duplicateIndex) ensure(ctx context.Context, s *Service, since time.Time) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ix == nil {
		return d.build(ctx, s)
	}
	if d.readAt.After(since) {
		return nil
	}
	start := time.Now()
	added := 0
	err := d.catchUp(ctx, s, nil, func(id string, h hashindex.Hash256) {
		if err := d.ix.Add(id, h); err != nil {
			s.log.ErrorContext(ctx, "indexing an evidence photo for duplicate detection", "evidence_id", id, "error", err)
		}
		added++
	})
	if err != nil {
		return err
	}
	d.readAt = start
	if added > 0 {
		s.log.DebugContext(ctx, "duplicate-evidence index caught up", "added", added, "photos", d.ix.Len(), "holes", len(d.holes))
	}
	return nil
}

// build reads the whole evidence table into a new index. Holes in the seqs are kept only
// below rows stamped within twice the margin of now (by this service's clock; doubled for
// other instances' clocks): older holes are rollbacks, and the table has one per failed
// filing since the first.
func (d *duplicateIndex) build(ctx context.Context, s *Service) error {
	start := time.Now()
	recent := s.now().Add(-2 * evidenceCommitMargin)
	d.seen, d.holes = 0, nil
	var entries []hashindex.Entry256[string]
	keep := func(above claim.Evidence) bool { return above.CreatedAt.After(recent) }
	err := d.catchUp(ctx, s, keep, func(id string, h hashindex.Hash256) {
		entries = append(entries, hashindex.Entry256[string]{ID: id, Hash: h})
	})
	if err != nil {
		d.seen, d.holes = 0, nil
		return err
	}
	ix, err := hashindex.New256(entries, hashindex.Options{DesignRadius: s.review.DuplicateRadius})
	if err != nil {
		d.seen, d.holes = 0, nil
		return claim.Wrap(err, claim.CodeInternal, "building the duplicate-evidence index")
	}
	d.ix, d.readAt = ix, start
	s.log.InfoContext(ctx, "duplicate-evidence index built", "photos", ix.Len(), "seq", d.seen, "holes", len(d.holes))
	return nil
}

// catchUp reads the rows in the holes and above seen, hands the indexable ones to add, and
// moves seen and the holes on. Every row is recorded as read when it is handed over, so a
// read that fails part-way leaves a state the next one resumes from without reading any row
// twice. A hole opening below a row that keep rejects is not kept (nil keeps every hole).
func (d *duplicateIndex) catchUp(ctx context.Context, s *Service, keep func(above claim.Evidence) bool, add func(string, hashindex.Hash256)) error {
	start := time.Now()
	holes := d.holes
	d.holes = nil
	for i, h := range holes {
		next := h.lo
		err := s.store.EvidenceHashesBetween(ctx, h.lo, h.hi, func(seq int64, ev claim.Evidence) error {
			if seq > next {
				d.holes = append(d.holes, seqHole{next, seq - 1, h.expires})
			}
			next = seq + 1
			if x, ok := indexable(ev); ok {
				add(ev.ID, x)
			}
			return nil
		})
		if err != nil {
			if next <= h.hi {
				d.holes = append(d.holes, seqHole{next, h.hi, h.expires})
			}
			d.holes = append(d.holes, holes[i+1:]...)
			return err
		}
		// A row committed before the hole expired was visible to this read, which began
		// later: a hole still empty now is dropped.
		if next <= h.hi && h.expires.After(start) {
			d.holes = append(d.holes, seqHole{next, h.hi, h.expires})
		}
	}
	return s.store.EvidenceHashesBetween(ctx, d.seen+1, math.MaxInt64, func(seq int64, ev claim.Evidence) error {
		if seq > d.seen+1 && (keep == nil || keep(ev)) {
			// The missing rows' transactions were open when this row was inserted, before now.
			d.holes = append(d.holes, seqHole{d.seen + 1, seq - 1, time.Now().Add(evidenceCommitMargin)})
		}
		d.seen = seq
		if x, ok := indexable(ev); ok {
			add(ev.ID, x)
		}
		return nil
	})
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

// duplicateFinding looks for ev's shot among other claims' photos, as of every photo
// committed before since (when the analysis job began), and describes what it finds, or
// returns ok false. Photos of the same claim or of another claim on the same order
// (a claim filed again after a withdrawal) are not duplicates.
func (s *Service) duplicateFinding(ctx context.Context, since time.Time, c claim.Claim, ev claim.Evidence) (forensics.Finding, bool, error) {
	h, ok := indexable(ev)
	if !ok {
		return forensics.Finding{}, false, nil
	}
	if err := s.dups.ensure(ctx, s, since); err != nil {
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
