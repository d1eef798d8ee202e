package store

import (
	"context"

	"github.com/refundguard/refundguard/pkg/claim"
)

// CreateOrder stores a new order. An empty ID is assigned. An external id the merchant has
// used before is a conflict.
func (s *Store) CreateOrder(ctx context.Context, o claim.Order) (claim.Order, error) {
	if o.ID == "" {
		o.ID = newID("ord")
	}
	if o.CreatedAt.IsZero() {
		o.CreatedAt = s.now()
	}
	row, err := orderToRow(o)
	if err != nil {
		return claim.Order{}, err
	}
	if err := s.write(ctx).Create(&row).Error; err != nil {
		err = s.translate(err, "order")
		if claim.ErrorCode(err) == claim.CodeConflict {
			return claim.Order{}, &claim.Error{Code: claim.CodeConflict, Field: "external_id",
				Message: "an order with this external_id is already registered", Err: err}
		}
		return claim.Order{}, err
	}
	return orderFromRow(row)
}

// GetOrder returns the order with id.
func (s *Store) GetOrder(ctx context.Context, id string) (claim.Order, error) {
	return s.getOrder(ctx, id, false)
}

// GetOrderForUpdate is GetOrder that also locks the order until the transaction in ctx ends
// (PostgreSQL; SQLite transactions are serialised anyway), so checks on its claims cannot race.
func (s *Store) GetOrderForUpdate(ctx context.Context, id string) (claim.Order, error) {
	return s.getOrder(ctx, id, true)
}

func (s *Store) getOrder(ctx context.Context, id string, lock bool) (claim.Order, error) {
	q := s.read(ctx)
	if lock {
		q = s.d.forUpdate(s.write(ctx))
	}
	var row orderRow
	if err := q.Where("id = ?", id).Take(&row).Error; err != nil {
		return claim.Order{}, s.translate(err, "order")
	}
	return orderFromRow(row)
}

// UpdateOrderTimes stores the order's shipped and delivered times.
func (s *Store) UpdateOrderTimes(ctx context.Context, o claim.Order) (claim.Order, error) {
	res := s.write(ctx).Model(&orderRow{}).Where("id = ?", o.ID).Updates(map[string]any{
		"shipped_at":   stampPtr(o.ShippedAt),
		"delivered_at": stampPtr(o.DeliveredAt),
		"updated_at":   s.now(),
	})
	if res.Error != nil {
		return claim.Order{}, s.translate(res.Error, "order")
	}
	if res.RowsAffected == 0 {
		return claim.Order{}, claim.Errorf(claim.CodeNotFound, "order not found")
	}
	return s.GetOrder(ctx, o.ID)
}

// CreateReferenceImage stores a merchant photo's row. An empty ID is assigned.
func (s *Store) CreateReferenceImage(ctx context.Context, img claim.ReferenceImage) (claim.ReferenceImage, error) {
	if img.ID == "" {
		img.ID = newID("img")
	}
	if img.CreatedAt.IsZero() {
		img.CreatedAt = s.now()
	}
	row := imageToRow(img)
	if err := s.write(ctx).Create(&row).Error; err != nil {
		return claim.ReferenceImage{}, s.translate(err, "reference image")
	}
	return imageFromRow(row), nil
}

// GetReferenceImage returns the reference image with id.
func (s *Store) GetReferenceImage(ctx context.Context, id string) (claim.ReferenceImage, error) {
	var row referenceImageRow
	if err := s.read(ctx).Where("id = ?", id).Take(&row).Error; err != nil {
		return claim.ReferenceImage{}, s.translate(err, "reference image")
	}
	return imageFromRow(row), nil
}

// OrderImages returns the photos uploaded for one order (packing and order-specific catalog
// photos), oldest first.
func (s *Store) OrderImages(ctx context.Context, orderID string) ([]claim.ReferenceImage, error) {
	return s.findImages(ctx, "order_id = ?", orderID)
}

// ProductImages returns a merchant's catalog photos of the given SKUs, oldest first.
func (s *Store) ProductImages(ctx context.Context, merchantID string, skus []string) ([]claim.ReferenceImage, error) {
	if len(skus) == 0 {
		return nil, nil
	}
	return s.findImages(ctx, "merchant_id = ? AND order_id IS NULL AND sku IN ?", merchantID, skus)
}

func (s *Store) findImages(ctx context.Context, where string, args ...any) ([]claim.ReferenceImage, error) {
	var rows []referenceImageRow
	if err := s.read(ctx).Where(where, args...).Order("created_at, id").Find(&rows).Error; err != nil {
		return nil, s.translate(err, "reference images")
	}
	out := make([]claim.ReferenceImage, len(rows))
	for i, r := range rows {
		out[i] = imageFromRow(r)
	}
	return out, nil
}
