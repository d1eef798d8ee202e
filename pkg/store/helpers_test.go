package store

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/refundguard/refundguard/pkg/claim"
)

// postgresBase is the CI database (.ci/setup starts it); tests skip the PostgreSQL half with a
// message when it is not reachable.
const postgresBase = "host=127.0.0.1 port=5432 user=postgres dbname=test sslmode=disable"

// testClock is a settable clock shared by a test and the store under test.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func newTestClock() *testClock {
	return &testClock{now: time.Date(2026, 3, 1, 9, 30, 0, 123456000, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// env is one store under test with its clock and a way to reopen it on the same database.
type env struct {
	*Store
	clock *testClock
	dsn   string
}

func (e *env) reopen(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), Config{DSN: e.dsn, Clock: e.clock.Now, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// eachDialect runs fn once against a fresh SQLite file and once against a fresh PostgreSQL
// schema (skipped, with the reason, when PostgreSQL is not reachable).
func eachDialect(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		fn(t, openEnv(t, filepath.Join(t.TempDir(), "refundguard.db")))
	})
	t.Run("postgres", func(t *testing.T) {
		fn(t, openEnv(t, freshPostgresSchema(t)))
	})
}

func openEnv(t *testing.T, dsn string) *env {
	t.Helper()
	e := &env{clock: newTestClock(), dsn: dsn}
	e.Store = e.reopen(t)
	return e
}

// freshPostgresSchema creates a schema of its own for this test and returns a DSN whose
// search_path points at it; the schema is dropped afterwards.
func freshPostgresSchema(t *testing.T) string {
	t.Helper()
	conn, err := net.DialTimeout("tcp", "127.0.0.1:5432", time.Second)
	if err != nil {
		t.Skipf("PostgreSQL not reachable at 127.0.0.1:5432 (%v); CI starts it with .ci/setup", err)
	}
	conn.Close()
	admin, err := gorm.Open(postgres.Open(postgresBase), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		t.Skipf("PostgreSQL not usable: %v", err)
	}
	schema := "rg_test_" + strings.TrimPrefix(newID("s"), "s_")
	if err := admin.Exec("CREATE SCHEMA " + schema).Error; err != nil {
		t.Skipf("cannot create a test schema: %v", err)
	}
	t.Cleanup(func() {
		admin.Exec("DROP SCHEMA " + schema + " CASCADE")
		if db, err := admin.DB(); err == nil {
			db.Close()
		}
	})
	return postgresBase + " search_path=" + schema
}

// fixture builds the rows most tests need: an order and a claim on it.
type fixture struct {
	order claim.Order
	claim claim.Claim
}

func seedOrder(t *testing.T, ctx context.Context, s *Store, merchant, buyer, external string) claim.Order {
	t.Helper()
	shipped := time.Date(2026, 2, 3, 10, 0, 0, 0, time.UTC)
	o, err := s.CreateOrder(ctx, claim.Order{
		ExternalID: external, MerchantID: merchant, BuyerID: buyer,
		Amount:   claim.Money{Value: 129900, Currency: "CNY"},
		Items:    []claim.Item{{SKU: "MUG-1", Name: "Mug", Quantity: 2}},
		PlacedAt: time.Date(2026, 2, 1, 8, 0, 0, 0, time.UTC), ShippedAt: &shipped,
	})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func seedClaim(t *testing.T, ctx context.Context, s *Store, o claim.Order, key string) claim.Claim {
	t.Helper()
	c, err := s.CreateClaim(ctx, claim.Claim{
		OrderID: o.ID, BuyerID: o.BuyerID, MerchantID: o.MerchantID, Reason: claim.ReasonDamaged,
		Description: "cracked", Amount: claim.Money{Value: 5000, Currency: "CNY"}, RefundType: claim.RefundOnly,
		Status: claim.StatusAnalyzing, IdempotencyKey: key, RequestHash: fmt.Sprintf("%064x", 1),
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func seed(t *testing.T, s *Store) fixture {
	t.Helper()
	ctx := context.Background()
	o := seedOrder(t, ctx, s, "m1", "b1", "EXT-1")
	return fixture{order: o, claim: seedClaim(t, ctx, s, o, "")}
}
