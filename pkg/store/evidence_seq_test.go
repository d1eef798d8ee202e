package store

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/refundguard/refundguard/pkg/claim"
	"github.com/refundguard/refundguard/pkg/store/storetest"
)

// seedEvidence inserts n buyer photos on claimID in multi-row inserts (CreateEvidence makes
// one round trip per row) and returns the highest seq.
func seedEvidence(tb testing.TB, s *Store, claimID string, n int) int64 {
	tb.Helper()
	rows := make([]evidenceRow, n)
	for i := range rows {
		rows[i] = evidenceToRow(claim.Evidence{ID: newID("evd"), ClaimID: claimID, Source: claim.SourceBuyer,
			SHA256: fmt.Sprintf("%064x", i), Format: "jpeg", CreatedAt: s.now(),
			Hashes: claim.Hashes{PDQ: fmt.Sprintf("%064x", i), PDQQuality: 100, PHash: "0", DHash: "0"}})
	}
	if err := s.w.CreateInBatches(rows, 500).Error; err != nil {
		tb.Fatal(err)
	}
	var top int64
	if err := s.w.Model(&evidenceRow{}).Select("MAX(seq)").Scan(&top).Error; err != nil {
		tb.Fatal(err)
	}
	if s.d.name() == "postgres" {
		s.w.Exec("ANALYZE evidence") // the plan below should be the one a long-lived table gets
	}
	return top
}

// explain returns the database's plan for EvidenceHashesBetween's query, one line per row.
func explain(t *testing.T, s *Store, from, to int64) string {
	t.Helper()
	stmt := evidenceHashBatch(s.r.Session(&gorm.Session{DryRun: true}), from, to, 5000).Find(&[]evidenceRow{}).Statement
	query := s.r.Dialector.Explain(stmt.SQL.String(), stmt.Vars...)
	prefix := "EXPLAIN "
	if s.d.name() == "sqlite" {
		prefix = "EXPLAIN QUERY PLAN "
	}
	rows, err := s.r.Raw(prefix + query).Rows()
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		out = append(out, vals[len(vals)-1].String)
	}
	return strings.Join(out, "\n")
}

// The duplicate-evidence index reads the rows above its high-water mark before every lookup
// that needs it; on a table of any size that must be a range scan of the primary key, not a
// scan of the table.
func TestEvidenceHashesBetweenScansAPrimaryKeyRange(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		f := seed(t, e.Store)
		top := seedEvidence(t, e.Store, f.claim.ID, 10_000)
		want := map[string]string{"sqlite": "USING INTEGER PRIMARY KEY", "postgres": "Index Scan using evidence_pkey"}[e.d.name()]
		for _, tc := range []struct {
			name     string
			from, to int64
		}{
			{"above the high-water mark", top + 1, math.MaxInt64},
			{"a hole", top - 3, top - 3},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if plan := explain(t, e.Store, tc.from, tc.to); !strings.Contains(plan, want) {
					t.Fatalf("plan for seq in [%d, %d]:\n%s\nwant %q", tc.from, tc.to, plan, want)
				}
			})
		}
	})
}

// BenchmarkEvidenceCatchUp times the duplicate-evidence index's reads on a table of 10k
// photos: the catch-up before a lookup when nothing is new (the usual case), when one photo
// is new, and the full walk that builds the index at start.
//
//	go test ./pkg/store -run '^$' -bench EvidenceCatchUp
func BenchmarkEvidenceCatchUp(b *testing.B) {
	dsns := map[string]func(testing.TB) string{"sqlite": storetest.SQLite, "postgres": storetest.Postgres}
	for _, dialect := range []string{"sqlite", "postgres"} {
		b.Run(dialect, func(b *testing.B) {
			ctx := context.Background()
			s, err := Open(ctx, Config{DSN: dsns[dialect](b), Clock: newTestClock().Now, Logger: quietLogger()})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			o, err := s.CreateOrder(ctx, claim.Order{ExternalID: "EXT-1", MerchantID: "m1", BuyerID: "b1",
				Amount: claim.Money{Value: 129900, Currency: "CNY"}, Items: []claim.Item{{SKU: "MUG-1", Name: "Mug", Quantity: 1}},
				PlacedAt: time.Date(2026, 2, 1, 8, 0, 0, 0, time.UTC)})
			if err != nil {
				b.Fatal(err)
			}
			c, err := s.CreateClaim(ctx, claim.Claim{OrderID: o.ID, BuyerID: o.BuyerID, MerchantID: o.MerchantID,
				Reason: claim.ReasonDamaged, Description: "cracked", Amount: claim.Money{Value: 5000, Currency: "CNY"},
				RefundType: claim.RefundOnly, Status: claim.StatusAnalyzing, RequestHash: fmt.Sprintf("%064x", 1)})
			if err != nil {
				b.Fatal(err)
			}
			const n = 10_000
			top := seedEvidence(b, s, c.ID, n)
			for _, bc := range []struct {
				name string
				from int64
				want int
			}{
				{"nothing new", top + 1, 0},
				{"one new photo", top, 1},
				{"build 10k", 0, n},
			} {
				b.Run(bc.name, func(b *testing.B) {
					for b.Loop() {
						got := 0
						if err := s.EvidenceHashesBetween(ctx, bc.from, math.MaxInt64, func(int64, claim.Evidence) error {
							got++
							return nil
						}); err != nil {
							b.Fatal(err)
						}
						if got != bc.want {
							b.Fatalf("read %d rows, want %d", got, bc.want)
						}
					}
				})
			}
		})
	}
}
