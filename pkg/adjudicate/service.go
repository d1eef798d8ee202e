// Package adjudicate is refundguard's claims service: API keys, orders and merchants'
// reference photos, durable claim intake, the forensic analysis queue and its workers,
// merchant responses, and scoped reads. Transports (pkg/httpapi, pkg/console, cmd) call the
// methods of api.go; persistence, blob storage and forensics come in through the small
// interfaces declared in ports.go, so this package imports neither GORM nor the file system.
//
// Rules every method keeps:
//   - Authorisation first: a role that may never do something gets forbidden; a record the
//     principal may not see is not_found, exactly as if it did not exist, so ids do not leak.
//   - Bad input changes nothing: validation (including decoding every photo) happens before
//     anything is written.
//   - Every state change is written in one transaction together with its audit event.
//   - Photos are fsynced into the blob store before the transaction that references them.
package adjudicate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/refundguard/refundguard/pkg/claim"
	"github.com/refundguard/refundguard/rules"
)

// Limits bound what the service accepts. Zero values take the defaults of the API contract.
type Limits struct {
	MaxPhotos     int   // photos per request (default 9)
	MaxPhotoBytes int64 // bytes per photo (default 20 MiB); the pixel limit is the analyzer's
	MaxTextRunes  int   // description and statement length in characters (default 4000)
}

func (l Limits) withDefaults() Limits {
	if l.MaxPhotos <= 0 {
		l.MaxPhotos = 9
	}
	if l.MaxPhotoBytes <= 0 {
		l.MaxPhotoBytes = 20 << 20
	}
	if l.MaxTextRunes <= 0 {
		l.MaxTextRunes = 4000
	}
	return l
}

// Config wires a Service. Store, Blobs and Analyzer are required.
type Config struct {
	Store    Store
	Blobs    Blobs
	Analyzer Analyzer
	Logger   *slog.Logger     // default: discarded
	Clock    func() time.Time // default: time.Now
	Limits   Limits
	Observer Observer // default: none
	// Rules is the rule set this process was configured with (the embedded default, or
	// serve --rules FILE); default rules.LoadDefault(). Claims are routed by the set active
	// in the database: see Prepare for when this one becomes active.
	Rules *rules.RuleSet
	// RulesExplicit makes Rules the active set at Prepare even when the database already
	// has another active one (the operator named a file); otherwise Rules is activated only
	// on a database with no active set, so an admin's activation survives restarts.
	RulesExplicit bool
	Review        ReviewOptions
}

// Service implements Transport. It is safe for concurrent use.
type Service struct {
	store    Store
	blobs    Blobs
	analyzer Analyzer
	log      *slog.Logger
	clock    func() time.Time
	limits   Limits
	observer Observer
	// wake nudges idle workers when a job is queued, so they need not wait for their poll.
	wake chan struct{}

	review        ReviewOptions
	rules         *rules.RuleSet // as configured
	rulesExplicit bool
	compiled      ruleCache
	dups          duplicateIndex
}

// New returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Blobs == nil || cfg.Analyzer == nil {
		return nil, errors.New("adjudicate: Store, Blobs and Analyzer are required")
	}
	s := &Service{store: cfg.Store, blobs: cfg.Blobs, analyzer: cfg.Analyzer, log: cfg.Logger,
		clock: cfg.Clock, limits: cfg.Limits.withDefaults(), observer: cfg.Observer, wake: make(chan struct{}, 1),
		review: cfg.Review.withDefaults(), rules: cfg.Rules, rulesExplicit: cfg.RulesExplicit}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	if s.observer == nil {
		s.observer = noObserver{}
	}
	if s.rules == nil {
		var err error
		if s.rules, err = rules.LoadDefault(); err != nil {
			return nil, fmt.Errorf("adjudicate: the embedded default rule set does not compile: %w", err)
		}
	}
	s.compiled.sets = map[string]*rules.RuleSet{s.rules.Version: s.rules}
	return s, nil
}

func (s *Service) now() time.Time { return s.clock().UTC() }

// notifyWorkers tells an idle worker there is work; it never blocks.
func (s *Service) notifyWorkers() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// requireRole returns forbidden unless p has one of roles.
func requireRole(p claim.Principal, roles ...claim.Role) error {
	for _, r := range roles {
		if p.Role == r && p.Subject != "" {
			return nil
		}
	}
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = string(r)
	}
	msg := "this action needs the " + names[0] + " role"
	if len(names) > 1 {
		msg = "this action is not available to the " + string(p.Role) + " role"
	}
	return claim.Errorf(claim.CodeForbidden, "%s", msg)
}

// canSee reports whether p may read a record belonging to buyerID and merchantID: staff see
// everything, a buyer its own, a merchant its own.
func canSee(p claim.Principal, buyerID, merchantID string) bool {
	switch {
	case p.Role.IsStaff():
		return true
	case p.Subject == "":
		return false
	case p.Role == claim.RoleBuyer:
		return p.Subject == buyerID
	case p.Role == claim.RoleMerchant:
		return p.Subject == merchantID
	}
	return false
}

func notFound(what string) error { return claim.Errorf(claim.CodeNotFound, "%s not found", what) }

// audit appends an event recording a change by actor; call it inside the change's
// transaction. before and after are encoded as JSON (nil stays empty).
func (s *Service) audit(ctx context.Context, actor, action, entity, id string, before, after any) error {
	ev := claim.AuditEvent{Time: s.now(), Actor: actor, Action: action, Entity: entity, EntityID: id}
	var err error
	if ev.Before, err = encodeAudit(before); err != nil {
		return err
	}
	if ev.After, err = encodeAudit(after); err != nil {
		return err
	}
	_, err = s.store.AppendAudit(ctx, ev)
	return err
}

func encodeAudit(v any) (json.RawMessage, error) {
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, claim.Wrap(err, claim.CodeInternal, "encoding an audit event")
	}
	return b, nil
}

// Ready reports whether the service can take claims: the database answers and the blob
// store can write.
func (s *Service) Ready(ctx context.Context) error {
	if err := s.store.Ping(ctx); err != nil {
		return claim.Wrap(err, claim.CodeUnavailable, "the database is not reachable")
	}
	if err := s.blobs.Check(ctx); err != nil {
		return claim.Wrap(err, claim.CodeUnavailable, "the evidence store is not writable")
	}
	return nil
}

// Stats reports claims by status and the analysis queue depth, for metrics.
func (s *Service) Stats(ctx context.Context) (Stats, error) {
	counts, err := s.store.ClaimCountsByStatus(ctx)
	if err != nil {
		return Stats{}, err
	}
	depth, err := s.store.QueueDepth(ctx)
	if err != nil {
		return Stats{}, err
	}
	return Stats{ClaimsByStatus: counts, QueueDepth: depth}, nil
}
