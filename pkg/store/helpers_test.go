package store

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/refundguard/refundguard/pkg/claim"
	"github.com/refundguard/refundguard/pkg/store/storetest"
)

func newTestClock() *storetest.Clock {
	return storetest.NewClock(time.Date(2026, 3, 1, 9, 30, 0, 123456000, time.UTC))
}

// env is one store under test with its clock and a way to reopen it on the same database.
type env struct {
	*Store
	clock *storetest.Clock
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
		fn(t, openEnv(t, storetest.SQLite(t)))
	})
	t.Run("postgres", func(t *testing.T) {
		fn(t, openEnv(t, storetest.Postgres(t)))
	})
}

func openEnv(t *testing.T, dsn string) *env {
	t.Helper()
	e := &env{clock: newTestClock(), dsn: dsn}
	e.Store = e.reopen(t)
	return e
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
