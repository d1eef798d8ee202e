package adjudicate_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/refundguard/refundguard/internal/testphoto"
	"github.com/refundguard/refundguard/pkg/adjudicate"
	"github.com/refundguard/refundguard/pkg/claim"
)

func validOrder() adjudicate.OrderInput {
	return adjudicate.OrderInput{ExternalID: "T-1", BuyerID: "b1", Amount: claim.Money{Value: 9900, Currency: "CNY"},
		Items: []claim.Item{{SKU: "S1", Name: "Cup", Quantity: 2}}, PlacedAt: placed, ShippedAt: &shipped}
}

func TestCreateOrderRefusesBadInputAndChangesNothing(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	before := h.snapshot()
	early := placed.Add(-time.Hour)
	for _, tc := range []struct {
		name  string
		p     claim.Principal
		edit  func(*adjudicate.OrderInput)
		code  claim.Code
		field string
	}{
		{"a buyer cannot register orders", buyer1, func(*adjudicate.OrderInput) {}, claim.CodeForbidden, ""},
		{"a reviewer cannot either", reviewer, func(*adjudicate.OrderInput) {}, claim.CodeForbidden, ""},
		{"no external id", merchant1, func(in *adjudicate.OrderInput) { in.ExternalID = " " }, claim.CodeInvalid, "external_id"},
		{"no buyer", merchant1, func(in *adjudicate.OrderInput) { in.BuyerID = "" }, claim.CodeInvalid, "buyer_id"},
		{"zero amount", merchant1, func(in *adjudicate.OrderInput) { in.Amount.Value = 0 }, claim.CodeInvalid, "amount.value"},
		{"negative amount", merchant1, func(in *adjudicate.OrderInput) { in.Amount.Value = -1 }, claim.CodeInvalid, "amount.value"},
		{"bad currency", merchant1, func(in *adjudicate.OrderInput) { in.Amount.Currency = "rmb" }, claim.CodeInvalid, "amount.currency"},
		{"no items", merchant1, func(in *adjudicate.OrderInput) { in.Items = nil }, claim.CodeInvalid, "items"},
		{"item without sku", merchant1, func(in *adjudicate.OrderInput) { in.Items[0].SKU = "" }, claim.CodeInvalid, "items[0].sku"},
		{"item quantity zero", merchant1, func(in *adjudicate.OrderInput) { in.Items[0].Quantity = 0 }, claim.CodeInvalid, "items[0].quantity"},
		{"no placed time", merchant1, func(in *adjudicate.OrderInput) { in.PlacedAt = time.Time{} }, claim.CodeInvalid, "placed_at"},
		{"shipped before placed", merchant1, func(in *adjudicate.OrderInput) { in.ShippedAt = &early }, claim.CodeInvalid, "shipped_at"},
		{"delivered before shipped", merchant1, func(in *adjudicate.OrderInput) { in.DeliveredAt = &placed }, claim.CodeInvalid, "delivered_at"},
		{"external id with control characters", merchant1, func(in *adjudicate.OrderInput) { in.ExternalID = "a\nb" }, claim.CodeInvalid, "external_id"},
		{"buyer id too long", merchant1, func(in *adjudicate.OrderInput) { in.BuyerID = strings.Repeat("b", 201) }, claim.CodeInvalid, "buyer_id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := validOrder()
			in.Items = append([]claim.Item(nil), in.Items...)
			tc.edit(&in)
			_, err := h.svc.CreateOrder(ctx, tc.p, in)
			wantCode(t, err, tc.code, tc.field)
			if after := h.snapshot(); after != before {
				t.Fatalf("a refused order changed state: %+v -> %+v", before, after)
			}
		})
	}
}

func TestOrders(t *testing.T) {
	eachDialect(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		o, err := h.svc.CreateOrder(ctx, merchant1, validOrder())
		if err != nil {
			t.Fatal(err)
		}
		if o.MerchantID != "m1" || o.ID == "" || o.DeliveredAt != nil {
			t.Fatalf("created %+v", o)
		}
		t.Run("the external id is unique per merchant", func(t *testing.T) {
			_, err := h.svc.CreateOrder(ctx, merchant1, validOrder())
			wantCode(t, err, claim.CodeConflict, "external_id")
			if _, err := h.svc.CreateOrder(ctx, merchant2, validOrder()); err != nil {
				t.Fatalf("another merchant's T-1: %v", err)
			}
		})
		t.Run("who sees the order", func(t *testing.T) {
			for _, tc := range []struct {
				p    claim.Principal
				code claim.Code
			}{
				{merchant1, ""}, {buyer1, ""}, {reviewer, ""}, {admin, ""},
				{merchant2, claim.CodeNotFound}, {buyer2, claim.CodeNotFound},
			} {
				got, err := h.svc.GetOrder(ctx, tc.p, o.ID)
				if claim.ErrorCode(err) != tc.code || (err == nil && got.ID != o.ID) {
					t.Errorf("%s: %+v %v, want code %q", tc.p.Actor(), got.ID, err, tc.code)
				}
			}
		})
		t.Run("the merchant records delivery", func(t *testing.T) {
			got, err := h.svc.UpdateOrder(ctx, merchant1, o.ID, adjudicate.OrderPatch{DeliveredAt: &delivered})
			if err != nil || got.DeliveredAt == nil || !got.DeliveredAt.Equal(delivered) || !got.ShippedAt.Equal(shipped) {
				t.Fatalf("update: %+v %v", got, err)
			}
			events, _ := h.store.AuditEvents(ctx, "order", o.ID)
			if len(events) != 2 || events[1].Action != "order.updated" || !strings.Contains(string(events[1].After), "delivered_at") {
				t.Fatalf("order audit trail: %+v", events)
			}
		})
		t.Run("updates others may not make", func(t *testing.T) {
			early := placed.Add(-time.Hour)
			for _, tc := range []struct {
				name  string
				p     claim.Principal
				id    string
				patch adjudicate.OrderPatch
				code  claim.Code
			}{
				{"another merchant's order", merchant2, o.ID, adjudicate.OrderPatch{DeliveredAt: &delivered}, claim.CodeNotFound},
				{"a missing order", merchant1, "ord_nope", adjudicate.OrderPatch{DeliveredAt: &delivered}, claim.CodeNotFound},
				{"the buyer", buyer1, o.ID, adjudicate.OrderPatch{DeliveredAt: &delivered}, claim.CodeForbidden},
				{"an empty patch", merchant1, o.ID, adjudicate.OrderPatch{}, claim.CodeInvalid},
				{"delivery before the order", merchant1, o.ID, adjudicate.OrderPatch{DeliveredAt: &early}, claim.CodeInvalid},
			} {
				t.Run(tc.name, func(t *testing.T) {
					_, err := h.svc.UpdateOrder(ctx, tc.p, tc.id, tc.patch)
					wantCode(t, err, tc.code, "")
				})
			}
		})
	})
}

func TestReferenceImages(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	o, err := h.svc.CreateOrder(ctx, merchant1, validOrder())
	if err != nil {
		t.Fatal(err)
	}
	imgs, err := h.svc.AddOrderImages(ctx, merchant1, o.ID, claim.ImagePacking, uploads(1, 2))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("stored with their fingerprint and bytes", func(t *testing.T) {
		if len(imgs) != 2 {
			t.Fatalf("%d images", len(imgs))
		}
		for i, img := range imgs {
			data, err := h.blobs.Get(ctx, img.SHA256)
			if err != nil || string(data) != string(photo(i+1)) {
				t.Fatalf("blob of image %d: %v", i, err)
			}
			if img.Format != "jpeg" || img.Width != testphoto.Width || img.Height != testphoto.Height || img.Size != int64(len(data)) ||
				img.OrderID != o.ID || img.Kind != claim.ImagePacking || img.MerchantID != "m1" {
				t.Fatalf("image %d: %+v", i, img)
			}
		}
	})
	t.Run("uploading the same photo again returns the stored one", func(t *testing.T) {
		before := h.snapshot()
		again, err := h.svc.AddOrderImages(ctx, merchant1, o.ID, claim.ImagePacking, uploads(2))
		if err != nil || len(again) != 1 || again[0].ID != imgs[1].ID {
			t.Fatalf("re-upload: %+v %v", again, err)
		}
		if after := h.snapshot(); after != before {
			t.Fatalf("a re-upload changed state: %+v -> %+v", before, after)
		}
	})
	t.Run("catalog photos per SKU", func(t *testing.T) {
		got, err := h.svc.AddProductImages(ctx, merchant1, "S1", uploads(3))
		if err != nil || len(got) != 1 || got[0].SKU != "S1" || got[0].Kind != claim.ImageCatalog || got[0].OrderID != "" {
			t.Fatalf("product image: %+v %v", got, err)
		}
		events, _ := h.store.AuditEvents(ctx, "product", "S1")
		if len(events) != 1 || events[0].Action != "product.images_added" {
			t.Fatalf("audit: %+v", events)
		}
	})
	t.Run("refused uploads change nothing", func(t *testing.T) {
		before := h.snapshot()
		for _, tc := range []struct {
			name  string
			p     claim.Principal
			order string
			kind  claim.ImageKind
			files []adjudicate.Upload
			code  claim.Code
			field string
		}{
			{"another merchant's order", merchant2, o.ID, claim.ImagePacking, uploads(9), claim.CodeNotFound, ""},
			{"a buyer", buyer1, o.ID, claim.ImagePacking, uploads(9), claim.CodeForbidden, ""},
			{"unknown kind", merchant1, o.ID, "selfie", uploads(9), claim.CodeInvalid, "kind"},
			{"not an image", merchant1, o.ID, claim.ImagePacking,
				[]adjudicate.Upload{{Name: "a.jpg", Data: photo(9)}, {Name: "b.jpg", Data: []byte("%PDF-1.7 not a photo")}},
				claim.CodeUnsupportedMedia, "photos[1]"},
			{"no photos", merchant1, o.ID, claim.ImagePacking, nil, claim.CodeInvalid, "photos"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := h.svc.AddOrderImages(ctx, tc.p, tc.order, tc.kind, tc.files)
				wantCode(t, err, tc.code, tc.field)
			})
		}
		_, err := h.svc.AddProductImages(ctx, merchant1, "", uploads(9))
		wantCode(t, err, claim.CodeInvalid, "sku")
		if after := h.snapshot(); after != before {
			t.Fatalf("refused uploads changed state: %+v -> %+v", before, after)
		}
	})
	t.Run("reference content: staff and the owner only", func(t *testing.T) {
		for _, tc := range []struct {
			p    claim.Principal
			code claim.Code
		}{{merchant1, ""}, {reviewer, ""}, {merchant2, claim.CodeNotFound}, {buyer1, claim.CodeNotFound}} {
			c, err := h.svc.ReferenceContent(ctx, tc.p, imgs[0].ID)
			if claim.ErrorCode(err) != tc.code {
				t.Fatalf("%s: %v, want %q", tc.p.Actor(), err, tc.code)
			}
			if err == nil {
				c.Body.Close()
				if c.ContentType != "image/jpeg" || c.SHA256 != imgs[0].SHA256 {
					t.Fatalf("content %+v", c)
				}
			}
		}
	})
}
