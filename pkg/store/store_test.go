package store

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/refundguard/refundguard/pkg/claim"
)

func TestSQLiteConnectionsAreDurableAndChecked(t *testing.T) {
	e := openEnv(t, t.TempDir()+"/rg.db")
	for _, tc := range []struct {
		pragma string
		want   string
	}{
		{"journal_mode", "wal"},
		{"synchronous", "2"}, // FULL: a committed claim survives a power cut
		{"foreign_keys", "1"},
		{"busy_timeout", "10000"},
	} {
		t.Run(tc.pragma, func(t *testing.T) {
			for name, db := range map[string]*gorm.DB{"writer": e.w, "reader": e.r} {
				var got string
				if err := db.Raw("PRAGMA " + tc.pragma).Scan(&got).Error; err != nil {
					t.Fatal(err)
				}
				if got != tc.want {
					t.Errorf("%s: PRAGMA %s = %s, want %s", name, tc.pragma, got, tc.want)
				}
			}
		})
	}
	t.Run("reader refuses writes", func(t *testing.T) {
		if err := e.r.Exec("DELETE FROM api_keys").Error; err == nil {
			t.Fatal("the reader pool accepted a write")
		}
	})
}

func TestOpenTwiceAppliesMigrationsOnce(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		e.reopen(t)
		var n int64
		if err := e.r.Model(&migrationRow{}).Count(&n).Error; err != nil {
			t.Fatal(err)
		}
		if n != int64(len(migrations)) {
			t.Fatalf("%d migration rows, want %d", n, len(migrations))
		}
	})
}

func TestRoundTrips(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		f := seed(t, e.Store)
		revoked := time.Date(2026, 3, 2, 1, 2, 3, 456789000, time.UTC)
		deadline := time.Date(2026, 3, 3, 0, 0, 0, 1000, time.UTC)

		t.Run("key", func(t *testing.T) {
			k, err := e.CreateKey(ctx, claim.APIKey{Role: claim.RoleMerchant, Subject: "m1", Hash: "ab12"})
			if err != nil {
				t.Fatal(err)
			}
			got, err := e.KeyByHash(ctx, "ab12")
			same(t, got, k, err)
			r, err := e.RevokeKey(ctx, k.ID, revoked)
			if err != nil || r.RevokedAt == nil || !r.RevokedAt.Equal(revoked) {
				t.Fatalf("revoked: %+v %v", r, err)
			}
			again, err := e.RevokeKey(ctx, k.ID, revoked.Add(time.Hour))
			if err != nil || !again.RevokedAt.Equal(revoked) {
				t.Fatalf("revoking twice moved the time: %+v %v", again, err)
			}
		})
		t.Run("order", func(t *testing.T) {
			got, err := e.GetOrder(ctx, f.order.ID)
			same(t, got, f.order, err)
			if got.ShippedAt == nil || got.DeliveredAt != nil || len(got.Items) != 1 {
				t.Fatalf("optional times or items lost: %+v", got)
			}
			delivered := time.Date(2026, 2, 5, 17, 0, 0, 0, time.UTC)
			got.DeliveredAt = &delivered
			upd, err := e.UpdateOrderTimes(ctx, got)
			if err != nil || upd.DeliveredAt == nil || !upd.DeliveredAt.Equal(delivered) {
				t.Fatalf("update: %+v %v", upd, err)
			}
		})
		t.Run("reference image", func(t *testing.T) {
			for _, img := range []claim.ReferenceImage{
				{MerchantID: "m1", OrderID: f.order.ID, Kind: claim.ImagePacking, SHA256: "aa", Format: "jpeg",
					Width: 10, Height: 20, Size: 300, Hashes: claim.Hashes{PDQ: "ff", PDQQuality: 90, PHash: "01", DHash: "02"}},
				{MerchantID: "m1", SKU: "MUG-1", Kind: claim.ImageCatalog, SHA256: "bb", Format: "png"},
			} {
				created, err := e.CreateReferenceImage(ctx, img)
				if err != nil {
					t.Fatal(err)
				}
				got, err := e.GetReferenceImage(ctx, created.ID)
				same(t, got, created, err)
			}
			byOrder, err := e.OrderImages(ctx, f.order.ID)
			if err != nil || len(byOrder) != 1 || byOrder[0].SHA256 != "aa" {
				t.Fatalf("order images: %+v %v", byOrder, err)
			}
			bySKU, err := e.ProductImages(ctx, "m1", []string{"MUG-1", "OTHER"})
			if err != nil || len(bySKU) != 1 || bySKU[0].SHA256 != "bb" {
				t.Fatalf("product images: %+v %v", bySKU, err)
			}
			other, err := e.ProductImages(ctx, "m2", []string{"MUG-1"})
			if err != nil || len(other) != 0 {
				t.Fatalf("another merchant's SKU photos leaked: %+v %v", other, err)
			}
		})
		t.Run("claim", func(t *testing.T) {
			got, err := e.GetClaim(ctx, f.claim.ID)
			same(t, got, f.claim, err)
			got.Status, got.Risk, got.MerchantDeadline = claim.StatusInReview, 87, &deadline
			got.ApprovedAmount = &claim.Money{Value: 100, Currency: "CNY"}
			upd, err := e.UpdateClaim(ctx, got, claim.StatusAnalyzing)
			if err != nil {
				t.Fatal(err)
			}
			got.UpdatedAt = upd.UpdatedAt
			same(t, upd, got, nil)
		})
		t.Run("evidence", func(t *testing.T) {
			ev, err := e.CreateEvidence(ctx, claim.Evidence{ClaimID: f.claim.ID, Source: claim.SourceBuyer, SHA256: "cc",
				Format: "jpeg", Width: 1, Height: 2, Size: 3, Hashes: claim.Hashes{PDQ: "aa", PDQQuality: 50}})
			if err != nil {
				t.Fatal(err)
			}
			got, err := e.GetEvidence(ctx, ev.ID)
			same(t, got, ev, err)
			if got.Report != nil {
				t.Fatalf("unanalysed evidence has a report: %s", got.Report)
			}
			ev.Report, ev.Risk, ev.HeatmapSHA = json.RawMessage(`{"file":"x","risk":40}`), 40, "dd"
			if err := e.SaveAnalysis(ctx, ev); err != nil {
				t.Fatal(err)
			}
			list, err := e.ListEvidence(ctx, f.claim.ID)
			if err != nil || len(list) != 1 {
				t.Fatalf("list: %+v %v", list, err)
			}
			same(t, list[0], ev, nil)
		})
		t.Run("response", func(t *testing.T) {
			r, err := e.CreateResponse(ctx, claim.Response{ClaimID: f.claim.ID, MerchantID: "m1", Statement: "we packed it well",
				EvidenceIDs: []string{"evd_1"}})
			if err != nil {
				t.Fatal(err)
			}
			list, err := e.ListResponses(ctx, f.claim.ID)
			if err != nil || len(list) != 1 {
				t.Fatalf("list: %+v %v", list, err)
			}
			same(t, list[0], r, nil)
		})
	})
}

func same[T any](t *testing.T, got, want T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("read back\n %+v\nwant\n %+v", got, want)
	}
}

func TestMissingRowsAreNotFoundErrors(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		for _, tc := range []struct {
			name string
			get  func() (any, error)
		}{
			{"key by hash", func() (any, error) { return e.KeyByHash(ctx, "nope") }},
			{"key", func() (any, error) { return e.GetKey(ctx, "key_nope") }},
			{"revoke key", func() (any, error) { return e.RevokeKey(ctx, "key_nope", time.Now()) }},
			{"order", func() (any, error) { return e.GetOrder(ctx, "ord_nope") }},
			{"update order", func() (any, error) { return e.UpdateOrderTimes(ctx, claim.Order{ID: "ord_nope"}) }},
			{"reference image", func() (any, error) { return e.GetReferenceImage(ctx, "img_nope") }},
			{"claim", func() (any, error) { return e.GetClaim(ctx, "clm_nope") }},
			{"claim by key", func() (any, error) { return e.ClaimByIdempotencyKey(ctx, "b1", "k") }},
			{"update claim", func() (any, error) {
				return e.UpdateClaim(ctx, claim.Claim{ID: "clm_nope"}, claim.StatusAnalyzing)
			}},
			{"evidence", func() (any, error) { return e.GetEvidence(ctx, "evd_nope") }},
			{"save analysis", func() (any, error) {
				return nil, e.SaveAnalysis(ctx, claim.Evidence{ID: "evd_nope", Report: json.RawMessage(`{}`)})
			}},
			{"job", func() (any, error) { return e.GetJob(ctx, "job_nope") }},
		} {
			t.Run(tc.name, func(t *testing.T) {
				v, err := tc.get()
				if claim.ErrorCode(err) != claim.CodeNotFound {
					t.Fatalf("got (%+v, %v), want a not_found error", v, err)
				}
				if v != nil && !reflect.ValueOf(v).IsZero() {
					t.Fatalf("a value came back with not_found: %+v", v)
				}
			})
		}
	})
}

func TestConstraintViolationsAreTranslated(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		f := seed(t, e.Store)
		seedClaim(t, ctx, e.Store, f.order, "key-1")
		for _, tc := range []struct {
			name      string
			do        func() error
			code      claim.Code
			field     string
			wantCause bool
		}{
			{"external id reused by the same merchant", func() error {
				_, err := e.CreateOrder(ctx, claim.Order{ExternalID: "EXT-1", MerchantID: "m1", BuyerID: "b2", Amount: claim.Money{Currency: "CNY"}})
				return err
			}, claim.CodeConflict, "external_id", true},
			{"idempotency key reused by the same buyer", func() error {
				_, err := e.CreateClaim(ctx, claim.Claim{OrderID: f.order.ID, BuyerID: "b1", MerchantID: "m1", IdempotencyKey: "key-1", Status: claim.StatusAnalyzing})
				return err
			}, claim.CodeConflict, "idempotency_key", true},
			{"duplicate key hash", func() error {
				if _, err := e.CreateKey(ctx, claim.APIKey{Role: claim.RoleBuyer, Subject: "b1", Hash: "same"}); err != nil {
					return err
				}
				_, err := e.CreateKey(ctx, claim.APIKey{Role: claim.RoleBuyer, Subject: "b2", Hash: "same"})
				return err
			}, claim.CodeConflict, "", true},
			{"evidence on a claim that does not exist", func() error {
				_, err := e.CreateEvidence(ctx, claim.Evidence{ClaimID: "clm_missing", Source: claim.SourceBuyer})
				return err
			}, claim.CodeInvalid, "", true},
			{"claim on an order that does not exist", func() error {
				_, err := e.CreateClaim(ctx, claim.Claim{OrderID: "ord_missing", BuyerID: "b1", Status: claim.StatusAnalyzing})
				return err
			}, claim.CodeInvalid, "", true},
			{"invalid cursor", func() error {
				_, _, err := e.ListClaims(ctx, claim.ClaimQuery{Cursor: "not-a-cursor"})
				return err
			}, claim.CodeInvalid, "cursor", false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				err := tc.do()
				var ce *claim.Error
				if !errors.As(err, &ce) || ce.Code != tc.code || ce.Field != tc.field {
					t.Fatalf("got %v, want code %s field %q", err, tc.code, tc.field)
				}
				if tc.wantCause && ce.Err == nil {
					t.Fatalf("the database error was dropped instead of wrapped for the logs: %v", err)
				}
			})
		}
		t.Run("the same external id at another merchant is fine", func(t *testing.T) {
			seedOrder(t, ctx, e.Store, "m2", "b1", "EXT-1")
		})
		t.Run("the same idempotency key for another buyer is fine", func(t *testing.T) {
			o := seedOrder(t, ctx, e.Store, "m1", "b2", "EXT-2")
			seedClaim(t, ctx, e.Store, o, "key-1")
		})
	})
}

func TestInTxRollsBackEveryWrite(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		boom := errors.New("boom")
		var orderID string
		err := e.InTx(ctx, func(ctx context.Context) error {
			o := seedOrder(t, ctx, e.Store, "m1", "b1", "EXT-9")
			orderID = o.ID
			c := seedClaim(t, ctx, e.Store, o, "")
			if _, err := e.EnqueueAnalysis(ctx, c.ID); err != nil {
				return err
			}
			if _, err := e.AppendAudit(ctx, claim.AuditEvent{Actor: "buyer:b1", Action: "claim.filed", Entity: "claim", EntityID: c.ID}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx returned %v, want the callback's error", err)
		}
		if _, err := e.GetOrder(ctx, orderID); claim.ErrorCode(err) != claim.CodeNotFound {
			t.Fatalf("the order survived the rollback: %v", err)
		}
		claims, _, _ := e.ListClaims(ctx, claim.ClaimQuery{})
		depth, _ := e.QueueDepth(ctx)
		check, _ := e.VerifyAudit(ctx)
		if len(claims) != 0 || depth != 0 || check.Events != 0 {
			t.Fatalf("after rollback: %d claims, %d jobs, %d audit events", len(claims), depth, check.Events)
		}
	})
}

func TestListClaimsPagesNewestFirstWithinScope(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		o1 := seedOrder(t, ctx, e.Store, "m1", "b1", "A")
		o2 := seedOrder(t, ctx, e.Store, "m2", "b2", "B")
		var b1Claims []string
		for i := range 5 {
			c := seedClaim(t, ctx, e.Store, o1, "")
			b1Claims = append([]string{c.ID}, b1Claims...) // newest first
			if i%2 == 0 {
				seedClaim(t, ctx, e.Store, o2, "")
			}
		}
		mid, _ := e.GetClaim(ctx, b1Claims[1])
		mid.Status = claim.StatusWithdrawn
		if _, err := e.UpdateClaim(ctx, mid, claim.StatusAnalyzing); err != nil {
			t.Fatal(err)
		}

		var got []string
		cursor := ""
		for page := 0; ; page++ {
			cs, next, err := e.ListClaims(ctx, claim.ClaimQuery{BuyerID: "b1", Cursor: cursor, Limit: 2})
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range cs {
				got = append(got, c.ID)
			}
			if next == "" {
				break
			}
			if page > 5 {
				t.Fatal("pagination does not end")
			}
			cursor = next
		}
		if !reflect.DeepEqual(got, b1Claims) {
			t.Fatalf("pages gave %v, want newest first %v", got, b1Claims)
		}
		for _, tc := range []struct {
			name string
			q    claim.ClaimQuery
			want int
		}{
			{"merchant sees only its orders' claims", claim.ClaimQuery{MerchantID: "m2"}, 3},
			{"status filter", claim.ClaimQuery{BuyerID: "b1", Status: claim.StatusWithdrawn}, 1},
			{"staff see all", claim.ClaimQuery{}, 8},
			{"a stranger sees none", claim.ClaimQuery{BuyerID: "b9"}, 0},
		} {
			t.Run(tc.name, func(t *testing.T) {
				cs, _, err := e.ListClaims(ctx, tc.q)
				if err != nil || len(cs) != tc.want {
					t.Fatalf("got %d claims (%v), want %d", len(cs), err, tc.want)
				}
			})
		}
		counts, err := e.ClaimCountsByStatus(ctx)
		if err != nil || counts[claim.StatusAnalyzing] != 7 || counts[claim.StatusWithdrawn] != 1 {
			t.Fatalf("counts %v %v", counts, err)
		}
		open, err := e.OpenClaimsForOrder(ctx, o1.ID)
		if err != nil || len(open) != 4 {
			t.Fatalf("open claims on o1: %d %v", len(open), err)
		}
	})
}

func TestUpdateClaimIsCompareAndSet(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		f := seed(t, e.Store)
		c := f.claim
		c.Status = claim.StatusInReview
		if _, err := e.UpdateClaim(ctx, c, claim.StatusAnalyzing); err != nil {
			t.Fatal(err)
		}
		c.Status = claim.StatusWithdrawn
		_, err := e.UpdateClaim(ctx, c, claim.StatusAnalyzing) // stale expectation
		if claim.ErrorCode(err) != claim.CodeConflict {
			t.Fatalf("stale update: %v, want conflict", err)
		}
		got, _ := e.GetClaim(ctx, c.ID)
		if got.Status != claim.StatusInReview {
			t.Fatalf("a stale update overwrote the status: %s", got.Status)
		}
	})
}
