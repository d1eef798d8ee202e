package adjudicate_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/refundguard/refundguard/pkg/adjudicate"
	"github.com/refundguard/refundguard/pkg/claim"
)

// BenchmarkDurableIntake measures what a 201 for a one-photo claim costs on SQLite with
// synchronous=FULL, and its two durable parts measured in the same run: the fsynced blob
// write alone, and one committed transaction (an audit append) alone.
//
//	go test -run '^$' -bench DurableIntake -benchtime 300x ./pkg/adjudicate
func BenchmarkDurableIntake(b *testing.B) {
	ctx := context.Background()
	b.Run("FileClaim", func(b *testing.B) {
		h := newHarness(b)
		i := 0
		for b.Loop() {
			b.StopTimer()
			o, err := h.svc.CreateOrder(ctx, merchant1, adjudicate.OrderInput{ExternalID: fmt.Sprint("B-", i), BuyerID: "b1",
				Amount: claim.Money{Value: 1000, Currency: "CNY"}, Items: []claim.Item{{SKU: "S", Quantity: 1}}, PlacedAt: placed})
			if err != nil {
				b.Fatal(err)
			}
			in := claimInput(o.ID, i)
			in.Amount = 1000
			b.StartTimer()
			if _, err := h.svc.FileClaim(ctx, buyer1, in); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("BlobPut", func(b *testing.B) {
		h := newHarness(b)
		i := 0
		for b.Loop() {
			b.StopTimer()
			data := photo(i)
			b.StartTimer()
			if _, err := h.blobs.Put(ctx, data); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("Commit", func(b *testing.B) {
		h := newHarness(b)
		for b.Loop() {
			if _, err := h.store.AppendAudit(ctx, claim.AuditEvent{Actor: "bench:b", Action: "tick", Entity: "bench", EntityID: "1"}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
