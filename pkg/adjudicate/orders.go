package adjudicate

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/refundguard/refundguard/pkg/claim"
)

// maxIDLen bounds client-chosen identifiers: external order ids, buyer ids, SKUs.
const maxIDLen = 200

// CreateOrder registers an order for the calling merchant.
func (s *Service) CreateOrder(ctx context.Context, p claim.Principal, in OrderInput) (claim.Order, error) {
	if err := requireRole(p, claim.RoleMerchant); err != nil {
		return claim.Order{}, err
	}
	o := claim.Order{ExternalID: strings.TrimSpace(in.ExternalID), MerchantID: p.Subject,
		BuyerID: strings.TrimSpace(in.BuyerID), Amount: in.Amount, Items: in.Items,
		PlacedAt: in.PlacedAt, ShippedAt: in.ShippedAt, DeliveredAt: in.DeliveredAt, CreatedAt: s.now()}
	if err := validateOrder(o); err != nil {
		return claim.Order{}, err
	}
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		var err error
		if o, err = s.store.CreateOrder(ctx, o); err != nil {
			return err
		}
		return s.audit(ctx, p.Actor(), "order.created", "order", o.ID, nil, orderAudit(o))
	})
	if err != nil {
		return claim.Order{}, err
	}
	return o, nil
}

func validateOrder(o claim.Order) error {
	if err := validateID("external_id", o.ExternalID); err != nil {
		return err
	}
	if err := validateID("buyer_id", o.BuyerID); err != nil {
		return err
	}
	if _, err := claim.NewMoney(o.Amount.Value, o.Amount.Currency); err != nil {
		return err
	}
	if o.Amount.Value == 0 {
		return claim.FieldError("amount.value", "amount.value must be positive (minor units: fen for CNY)")
	}
	if len(o.Items) == 0 {
		return claim.FieldError("items", "items must list at least one item")
	}
	for i, it := range o.Items {
		field := fmt.Sprintf("items[%d]", i)
		if err := validateID(field+".sku", strings.TrimSpace(it.SKU)); err != nil {
			return err
		}
		if it.Quantity < 1 {
			return claim.FieldError(field+".quantity", "quantity must be at least 1")
		}
		if len(it.Name) > 500 {
			return claim.FieldError(field+".name", "name is longer than 500 bytes")
		}
	}
	if o.PlacedAt.IsZero() {
		return claim.FieldError("placed_at", "placed_at is required")
	}
	return validateOrderTimes(o)
}

// validateOrderTimes checks the milestones are in order: placed, shipped, delivered.
func validateOrderTimes(o claim.Order) error {
	if o.ShippedAt != nil && o.ShippedAt.Before(o.PlacedAt) {
		return claim.FieldError("shipped_at", "shipped_at is before placed_at")
	}
	if o.DeliveredAt != nil {
		if o.DeliveredAt.Before(o.PlacedAt) {
			return claim.FieldError("delivered_at", "delivered_at is before placed_at")
		}
		if o.ShippedAt != nil && o.DeliveredAt.Before(*o.ShippedAt) {
			return claim.FieldError("delivered_at", "delivered_at is before shipped_at")
		}
	}
	return nil
}

// validateID checks a client-chosen identifier: present, bounded, printable.
func validateID(field, v string) error {
	switch {
	case v == "":
		return claim.FieldError(field, "%s is required", field)
	case len(v) > maxIDLen:
		return claim.FieldError(field, "%s is longer than %d bytes", field, maxIDLen)
	case strings.ContainsFunc(v, unicode.IsControl):
		return claim.FieldError(field, "%s must not contain control characters", field)
	}
	return nil
}

func orderAudit(o claim.Order) map[string]any {
	return map[string]any{"external_id": o.ExternalID, "buyer_id": o.BuyerID, "amount": o.Amount,
		"items": o.Items, "placed_at": o.PlacedAt, "shipped_at": o.ShippedAt, "delivered_at": o.DeliveredAt}
}

// GetOrder returns an order its merchant, its buyer or staff may see.
func (s *Service) GetOrder(ctx context.Context, p claim.Principal, id string) (claim.Order, error) {
	o, err := s.store.GetOrder(ctx, id)
	if err != nil {
		return claim.Order{}, err
	}
	if !canSee(p, o.BuyerID, o.MerchantID) {
		return claim.Order{}, notFound("order")
	}
	return o, nil
}

// ownOrder returns the calling merchant's order, or not_found for anyone else's.
func (s *Service) ownOrder(ctx context.Context, p claim.Principal, id string, lock bool) (claim.Order, error) {
	get := s.store.GetOrder
	if lock {
		get = s.store.GetOrderForUpdate
	}
	o, err := get(ctx, id)
	if err != nil {
		return claim.Order{}, err
	}
	if o.MerchantID != p.Subject {
		return claim.Order{}, notFound("order")
	}
	return o, nil
}

// UpdateOrder records shipping milestones (the merchant's own orders).
func (s *Service) UpdateOrder(ctx context.Context, p claim.Principal, id string, patch OrderPatch) (claim.Order, error) {
	if err := requireRole(p, claim.RoleMerchant); err != nil {
		return claim.Order{}, err
	}
	if patch.ShippedAt == nil && patch.DeliveredAt == nil {
		return claim.Order{}, claim.FieldError("shipped_at", "give shipped_at, delivered_at or both")
	}
	var out claim.Order
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		before, err := s.ownOrder(ctx, p, id, true)
		if err != nil {
			return err
		}
		after := before
		if patch.ShippedAt != nil {
			t := patch.ShippedAt.UTC()
			after.ShippedAt = &t
		}
		if patch.DeliveredAt != nil {
			t := patch.DeliveredAt.UTC()
			after.DeliveredAt = &t
		}
		if err := validateOrderTimes(after); err != nil {
			return err
		}
		if out, err = s.store.UpdateOrderTimes(ctx, after); err != nil {
			return err
		}
		return s.audit(ctx, p.Actor(), "order.updated", "order", id,
			orderTimes(before.ShippedAt, before.DeliveredAt), orderTimes(out.ShippedAt, out.DeliveredAt))
	})
	if err != nil {
		return claim.Order{}, err
	}
	return out, nil
}

func orderTimes(shipped, delivered *time.Time) map[string]any {
	return map[string]any{"shipped_at": shipped, "delivered_at": delivered}
}

// AddOrderImages stores packing (or order-specific catalog) photos for the merchant's order.
// A photo already stored for the order with the same kind is returned, not duplicated.
func (s *Service) AddOrderImages(ctx context.Context, p claim.Principal, orderID string, kind claim.ImageKind, uploads []Upload) ([]claim.ReferenceImage, error) {
	if err := requireRole(p, claim.RoleMerchant); err != nil {
		return nil, err
	}
	if kind != claim.ImagePacking && kind != claim.ImageCatalog {
		return nil, claim.FieldError("kind", "kind must be packing (this order's parcel) or catalog (the product of its items)")
	}
	if _, err := s.ownOrder(ctx, p, orderID, false); err != nil {
		return nil, err
	}
	return s.addReferences(ctx, p, uploads, "order", orderID, func(ctx context.Context) ([]claim.ReferenceImage, error) {
		return s.store.OrderImages(ctx, orderID)
	}, func(ph photo) claim.ReferenceImage {
		return ph.reference(p.Subject, orderID, "", kind)
	})
}

// AddProductImages stores catalog photos of one of the merchant's SKUs; they are references
// for every order of that SKU.
func (s *Service) AddProductImages(ctx context.Context, p claim.Principal, sku string, uploads []Upload) ([]claim.ReferenceImage, error) {
	if err := requireRole(p, claim.RoleMerchant); err != nil {
		return nil, err
	}
	sku = strings.TrimSpace(sku)
	if err := validateID("sku", sku); err != nil {
		return nil, err
	}
	return s.addReferences(ctx, p, uploads, "product", sku, func(ctx context.Context) ([]claim.ReferenceImage, error) {
		return s.store.ProductImages(ctx, p.Subject, []string{sku})
	}, func(ph photo) claim.ReferenceImage {
		return ph.reference(p.Subject, "", sku, claim.ImageCatalog)
	})
}

// addReferences validates and stores reference photos: fingerprints (hashes computed this
// once), blobs fsynced, then rows and the audit event in one transaction. existing lists the
// photos already stored in the same place, so a re-upload returns the stored row.
func (s *Service) addReferences(ctx context.Context, p claim.Principal, uploads []Upload, entity, entityID string,
	existing func(context.Context) ([]claim.ReferenceImage, error), row func(photo) claim.ReferenceImage) ([]claim.ReferenceImage, error) {
	photos, err := s.checkPhotos(ctx, uploads)
	if err != nil {
		return nil, err
	}
	if err := s.storePhotos(ctx, photos); err != nil {
		return nil, err
	}
	var out []claim.ReferenceImage
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		stored, err := existing(ctx)
		if err != nil {
			return err
		}
		var added []map[string]any
		for _, ph := range photos {
			want := row(ph)
			if dup, ok := findReference(stored, want); ok {
				out = append(out, dup)
				continue
			}
			want.CreatedAt = s.now()
			img, err := s.store.CreateReferenceImage(ctx, want)
			if err != nil {
				return err
			}
			out = append(out, img)
			added = append(added, map[string]any{"id": img.ID, "kind": img.Kind, "sha256": img.SHA256})
		}
		if len(added) == 0 {
			return nil
		}
		return s.audit(ctx, p.Actor(), entity+".images_added", entity, entityID, nil, map[string]any{"images": added})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func findReference(stored []claim.ReferenceImage, want claim.ReferenceImage) (claim.ReferenceImage, bool) {
	for _, img := range stored {
		if img.SHA256 == want.SHA256 && img.Kind == want.Kind && img.SKU == want.SKU && img.OrderID == want.OrderID {
			return img, true
		}
	}
	return claim.ReferenceImage{}, false
}

// ReferenceContent streams a merchant reference photo to staff or the merchant that owns it.
// The "reference" of a forensic finding is the reference image's id.
func (s *Service) ReferenceContent(ctx context.Context, p claim.Principal, imageID string) (Content, error) {
	img, err := s.store.GetReferenceImage(ctx, imageID)
	if err != nil {
		return Content{}, err
	}
	if !p.Role.IsStaff() && !(p.Role == claim.RoleMerchant && p.Subject == img.MerchantID) {
		return Content{}, notFound("reference image")
	}
	return s.openContent(ctx, img.SHA256, contentType(img.Format))
}
