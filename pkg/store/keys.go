package store

import (
	"context"
	"time"

	"github.com/refundguard/refundguard/pkg/claim"
)

// CreateKey stores an API key (its hash only). An empty ID is assigned.
func (s *Store) CreateKey(ctx context.Context, k claim.APIKey) (claim.APIKey, error) {
	if k.ID == "" {
		k.ID = newID("key")
	}
	if k.CreatedAt.IsZero() {
		k.CreatedAt = s.now()
	}
	row := keyToRow(k)
	if err := s.write(ctx).Create(&row).Error; err != nil {
		return claim.APIKey{}, s.translate(err, "key")
	}
	return keyFromRow(row), nil
}

// KeyByHash finds the key whose secret hashes to hash, revoked or not.
func (s *Store) KeyByHash(ctx context.Context, hash string) (claim.APIKey, error) {
	var row keyRow
	if err := s.read(ctx).Where("hash = ?", hash).Take(&row).Error; err != nil {
		return claim.APIKey{}, s.translate(err, "key")
	}
	return keyFromRow(row), nil
}

// GetKey returns the key with id.
func (s *Store) GetKey(ctx context.Context, id string) (claim.APIKey, error) {
	var row keyRow
	if err := s.read(ctx).Where("id = ?", id).Take(&row).Error; err != nil {
		return claim.APIKey{}, s.translate(err, "key")
	}
	return keyFromRow(row), nil
}

// ListKeys returns every key, oldest first.
func (s *Store) ListKeys(ctx context.Context) ([]claim.APIKey, error) {
	var rows []keyRow
	if err := s.read(ctx).Order("created_at, id").Find(&rows).Error; err != nil {
		return nil, s.translate(err, "keys")
	}
	out := make([]claim.APIKey, len(rows))
	for i, r := range rows {
		out[i] = keyFromRow(r)
	}
	return out, nil
}

// RevokeKey marks the key revoked at the given time; revoking a revoked key changes nothing.
// It returns the key as stored afterwards.
func (s *Store) RevokeKey(ctx context.Context, id string, at time.Time) (claim.APIKey, error) {
	t := stamp(at)
	if err := s.write(ctx).Model(&keyRow{}).Where("id = ? AND revoked_at IS NULL", id).
		Update("revoked_at", t).Error; err != nil {
		return claim.APIKey{}, s.translate(err, "key")
	}
	return s.GetKey(ctx, id)
}
