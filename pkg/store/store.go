// Package store persists refundguard's domain (pkg/claim) with GORM, in SQLite (the embedded
// default) or PostgreSQL (several instances sharing one database).
//
// Conventions:
//   - Row structs and GORM stay inside this package; methods take and return pkg/claim values.
//   - Errors are translated at this boundary into *claim.Error: a missing row is CodeNotFound
//     (never a zero value with a nil error), a duplicate is CodeConflict, a busy database is
//     CodeUnavailable, anything else CodeInternal with the cause wrapped for the logs.
//   - Transactions travel in the context: InTx hands its callback a context that every method
//     called with it uses, so the service composes several writes (a claim, its evidence, its
//     analysis job and the audit event) into one commit without importing this package.
//   - What differs between SQLite and PostgreSQL lives behind the dialect interface only.
//
// Adding a table (review tasks, decisions, buyer records...): a row struct and its converters
// in rows.go, a new step at the end of migrations (migrate.go; released steps never change),
// methods in a file of their own that use s.read/s.write and translate every error, and tests
// run through eachDialect so SQLite and PostgreSQL both prove them. Times compared in SQL must
// be written through stamp (UTC, microseconds).
package store

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"gorm.io/gorm"

	"github.com/refundguard/refundguard/pkg/claim"
)

// Config opens a Store.
type Config struct {
	// DSN is a SQLite file path, or a PostgreSQL URL / key=value string.
	DSN string
	// Clock stamps rows (created/updated times); default time.Now.
	Clock func() time.Time
	// Logger receives slow statements and migration notes; default slog.Default().
	Logger *slog.Logger
	// SlowQuery is the duration above which a statement is logged at warning level.
	SlowQuery time.Duration
}

// Store is the database. It is safe for concurrent use.
type Store struct {
	w, r  *gorm.DB // writer and readers; the same pool on PostgreSQL
	d     dialect
	clock func() time.Time
	log   *slog.Logger
}

// Open connects, applies pending migrations and returns the Store.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.SlowQuery <= 0 {
		cfg.SlowQuery = 500 * time.Millisecond
	}
	s := &Store{d: dialectFor(cfg.DSN), clock: cfg.Clock, log: cfg.Logger}
	gcfg := &gorm.Config{
		SkipDefaultTransaction: true, // writes that must be atomic run in InTx
		NowFunc:                func() time.Time { return stamp(cfg.Clock()) },
		Logger:                 queryLogger{log: cfg.Logger, slow: cfg.SlowQuery},
	}
	w, r, err := s.d.connect(cfg.DSN, gcfg)
	if err != nil {
		return nil, fmt.Errorf("store: opening %s database: %w", s.d.name(), err)
	}
	s.w, s.r = w, r
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Dialect names the database in use: "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.d.name() }

// Close releases the connections.
func (s *Store) Close() error {
	var errs []error
	if db, err := s.w.DB(); err == nil {
		errs = append(errs, db.Close())
	}
	if s.r != s.w {
		if db, err := s.r.DB(); err == nil {
			errs = append(errs, db.Close())
		}
	}
	return errors.Join(errs...)
}

// Ping checks that the database answers, for readiness probes. On SQLite it also checks
// that the writer connection is not wedged.
func (s *Store) Ping(ctx context.Context) error {
	for _, db := range []*gorm.DB{s.r, s.w} {
		var one int
		if err := db.WithContext(ctx).Raw("SELECT 1").Scan(&one).Error; err != nil {
			return s.translate(err, "database")
		}
	}
	return nil
}

type txKey struct{}

// InTx runs fn in a transaction: every Store method called with the context fn receives takes
// part in it. fn's error (returned unchanged) rolls everything back. Nested calls join the
// outer transaction.
//
// Call Store methods inside fn with fn's context only: on SQLite the transaction holds the
// single writer connection, and a write through the outer context would wait for it forever.
func (s *Store) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	if _, ok := ctx.Value(txKey{}).(*gorm.DB); ok {
		return fn(ctx)
	}
	var fnErr error
	err := s.w.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		fnErr = fn(context.WithValue(ctx, txKey{}, tx))
		return fnErr
	})
	if err != nil && fnErr == nil {
		return s.translate(err, "transaction")
	}
	return err
}

// write returns the handle writes go through: the context's transaction, or the writer.
func (s *Store) write(ctx context.Context) *gorm.DB {
	if tx, ok := ctx.Value(txKey{}).(*gorm.DB); ok {
		return tx.WithContext(ctx)
	}
	return s.w.WithContext(ctx)
}

// read returns the handle reads go through: the context's transaction (to see its own
// writes), or the reader pool.
func (s *Store) read(ctx context.Context) *gorm.DB {
	if tx, ok := ctx.Value(txKey{}).(*gorm.DB); ok {
		return tx.WithContext(ctx)
	}
	return s.r.WithContext(ctx)
}

func (s *Store) now() time.Time { return stamp(s.clock()) }

var idEncoding = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// newID returns a fresh identifier such as "clm_5x2k...": a type prefix people can read in
// logs and 128 random bits.
func newID(prefix string) string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("store: no randomness: %v", err)) // crypto/rand does not fail on supported platforms
	}
	return prefix + "_" + idEncoding.EncodeToString(b[:])
}

// translate turns a database error into a *claim.Error at the package boundary. what names
// the thing being read or written, for the client-facing message.
func (s *Store) translate(err error, what string) error {
	if err == nil {
		return nil
	}
	var ce *claim.Error
	if errors.As(err, &ce) {
		return err
	}
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
		return claim.Errorf(claim.CodeNotFound, "%s not found", what)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return claim.Wrap(err, claim.CodeUnavailable, "the request was canceled or timed out")
	}
	switch s.d.classify(err) {
	case errUnique:
		return claim.Wrap(err, claim.CodeConflict, what+" already exists")
	case errForeignKey:
		return claim.Wrap(err, claim.CodeInvalid, what+" refers to a record that does not exist")
	case errBusy:
		return claim.Wrap(err, claim.CodeUnavailable, "the database is busy; retry shortly")
	}
	return claim.Wrap(err, claim.CodeInternal, "database error ("+what+")")
}

func internal(err error, format string, args ...any) error {
	return claim.Wrap(err, claim.CodeInternal, fmt.Sprintf(format, args...))
}
