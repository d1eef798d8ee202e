package store

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"

	"github.com/refundguard/refundguard/pkg/claim"
)

// AppendAudit adds an event to the hash-chained audit log: it takes the chain lock, reads the
// head, and stores the event with Seq = head+1, PrevHash = head's hash and its own Hash
// (claim.AuditEvent.ComputeHash). Called with a transaction in ctx it joins it, so the event
// commits or rolls back with the change it records; otherwise it runs in its own.
func (s *Store) AppendAudit(ctx context.Context, e claim.AuditEvent) (claim.AuditEvent, error) {
	if e.Actor == "" || e.Action == "" || e.Entity == "" {
		return claim.AuditEvent{}, internal(nil, "audit event without actor, action or entity: %+v", e)
	}
	err := s.InTx(ctx, func(ctx context.Context) error {
		db := s.write(ctx)
		if err := s.d.serialize(db, "audit"); err != nil {
			return s.translate(err, "audit log")
		}
		var head auditRow
		err := db.Order("seq DESC").Limit(1).Take(&head).Error
		if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
			return s.translate(err, "audit log")
		}
		e.Seq, e.PrevHash = head.Seq+1, head.Hash
		if e.Time.IsZero() {
			e.Time = s.clock()
		}
		e.Time = stamp(e.Time)
		e.Hash = e.ComputeHash()
		row := auditToRow(e)
		if err := db.Create(&row).Error; err != nil {
			return s.translate(err, "audit event")
		}
		return nil
	})
	if err != nil {
		return claim.AuditEvent{}, err
	}
	return e, nil
}

// AuditEvents returns the events about one entity (e.g. "claim", id), oldest first.
func (s *Store) AuditEvents(ctx context.Context, entity, entityID string) ([]claim.AuditEvent, error) {
	var rows []auditRow
	if err := s.read(ctx).Where("entity = ? AND entity_id = ?", entity, entityID).Order("seq").Find(&rows).Error; err != nil {
		return nil, s.translate(err, "audit events")
	}
	out := make([]claim.AuditEvent, len(rows))
	for i, r := range rows {
		out[i] = auditFromRow(r)
	}
	return out, nil
}

// AuditCheck is the result of verifying the audit chain.
type AuditCheck struct {
	Events int64  // events checked
	Head   string // hash of the last event: record it elsewhere to detect truncation later
	// BrokenSeq is the first event that does not verify (0 when the chain is intact) and
	// Problem says why.
	BrokenSeq int64
	Problem   string
}

// OK reports whether the whole chain verified.
func (c AuditCheck) OK() bool { return c.BrokenSeq == 0 }

// VerifyAudit walks the chain in order and stops at the first event whose hash does not match
// its contents, whose PrevHash does not match its predecessor, or whose Seq leaves a gap
// (a deleted event). The chain alone cannot reveal events cut off its end: compare Head
// with a copy kept elsewhere for that.
func (s *Store) VerifyAudit(ctx context.Context) (AuditCheck, error) {
	const batch = 1000
	var check AuditCheck
	var prev claim.AuditEvent
	for {
		var rows []auditRow
		if err := s.read(ctx).Where("seq > ?", prev.Seq).Order("seq").Limit(batch).Find(&rows).Error; err != nil {
			return check, s.translate(err, "audit log")
		}
		for _, r := range rows {
			e := auditFromRow(r)
			if problem := linkProblem(prev, e); problem != "" {
				check.BrokenSeq, check.Problem = e.Seq, problem
				return check, nil
			}
			check.Events++
			check.Head = e.Hash
			prev = e
		}
		if len(rows) < batch {
			return check, nil
		}
	}
}

// linkProblem says what is wrong with e as the successor of prev (the zero event before the
// first), or "" when the link holds.
func linkProblem(prev, e claim.AuditEvent) string {
	switch {
	case e.Seq != prev.Seq+1:
		return fmt.Sprintf("events %d to %d are missing (deleted?)", prev.Seq+1, e.Seq-1)
	case e.PrevHash != prev.Hash:
		return fmt.Sprintf("its previous-hash does not match the hash of event %d (that event was altered and re-hashed, or this one re-linked)", prev.Seq)
	case e.ComputeHash() != e.Hash:
		return fmt.Sprintf("its contents do not match its hash (%s %s on %s %s was altered)", e.Actor, e.Action, e.Entity, e.EntityID)
	}
	return ""
}
