package store

import (
	"context"
	"encoding/base64"
	"strconv"

	"gorm.io/gorm"

	"github.com/refundguard/refundguard/pkg/claim"
)

const (
	defaultPage = 50
	maxPage     = 200
)

// CreateClaim stores a new claim. An empty ID is assigned. A buyer reusing an idempotency key
// gets a conflict with Field "idempotency_key" (the service then compares the requests).
func (s *Store) CreateClaim(ctx context.Context, c claim.Claim) (claim.Claim, error) {
	if c.ID == "" {
		c.ID = newID("clm")
	}
	now := s.now()
	if c.CreatedAt.IsZero() {
		c.CreatedAt = now
	}
	c.UpdatedAt = c.CreatedAt
	row := claimToRow(c)
	if err := s.write(ctx).Create(&row).Error; err != nil {
		err = s.translate(err, "claim")
		if claim.ErrorCode(err) == claim.CodeConflict && c.IdempotencyKey != "" {
			return claim.Claim{}, &claim.Error{Code: claim.CodeConflict, Field: "idempotency_key",
				Message: "this Idempotency-Key was already used", Err: err}
		}
		return claim.Claim{}, err
	}
	return claimFromRow(row), nil
}

// GetClaim returns the claim with id.
func (s *Store) GetClaim(ctx context.Context, id string) (claim.Claim, error) {
	return s.takeClaim(s.read(ctx), "id = ?", id)
}

// GetClaimForUpdate is GetClaim that locks the claim until the transaction in ctx ends, so
// that a status check and the change that follows it cannot interleave with another's.
func (s *Store) GetClaimForUpdate(ctx context.Context, id string) (claim.Claim, error) {
	return s.takeClaim(s.d.forUpdate(s.write(ctx)), "id = ?", id)
}

// ClaimByIdempotencyKey returns the buyer's claim filed with key.
func (s *Store) ClaimByIdempotencyKey(ctx context.Context, buyerID, key string) (claim.Claim, error) {
	return s.takeClaim(s.read(ctx), "buyer_id = ? AND idempotency_key = ?", buyerID, key)
}

func (s *Store) takeClaim(q *gorm.DB, where string, args ...any) (claim.Claim, error) {
	var row claimRow
	if err := q.Where(where, args...).Take(&row).Error; err != nil {
		return claim.Claim{}, s.translate(err, "claim")
	}
	return claimFromRow(row), nil
}

// UpdateClaim stores c's mutable fields (status, risk, deadlines, the ruling) provided the
// stored status is still expect: a compare-and-set that turns a lost race into a conflict
// rather than a silent overwrite. The lifecycle check (claim.Status.CanBecome) is the caller's.
func (s *Store) UpdateClaim(ctx context.Context, c claim.Claim, expect claim.Status) (claim.Claim, error) {
	row := claimToRow(c)
	res := s.write(ctx).Model(&claimRow{}).Where("id = ? AND status = ?", c.ID, string(expect)).Updates(map[string]any{
		"status":            row.Status,
		"risk":              row.Risk,
		"merchant_deadline": row.MerchantDeadline,
		"buyer_deadline":    row.BuyerDeadline,
		"appeal_deadline":   row.AppealDeadline,
		"approved_value":    row.ApprovedValue,
		"outcome":           row.Outcome,
		"reason_code":       row.ReasonCode,
		"decided_at":        row.DecidedAt,
		"updated_at":        s.now(),
	})
	if res.Error != nil {
		return claim.Claim{}, s.translate(res.Error, "claim")
	}
	if res.RowsAffected == 0 {
		cur, err := s.GetClaim(ctx, c.ID)
		if err != nil {
			return claim.Claim{}, err
		}
		return claim.Claim{}, claim.Errorf(claim.CodeConflict, "the claim is %s, no longer %s", cur.Status, expect)
	}
	return s.GetClaim(ctx, c.ID)
}

// OpenClaimsForOrder returns the claims on an order that still await a decision.
func (s *Store) OpenClaimsForOrder(ctx context.Context, orderID string) ([]claim.Claim, error) {
	var open []string
	for _, st := range []claim.Status{claim.StatusSubmitted, claim.StatusAnalyzing, claim.StatusAwaitingMerchant,
		claim.StatusInReview, claim.StatusAwaitingBuyerEvidence, claim.StatusAppealed} {
		open = append(open, string(st))
	}
	var rows []claimRow
	if err := s.read(ctx).Where("order_id = ? AND status IN ?", orderID, open).Order("seq").Find(&rows).Error; err != nil {
		return nil, s.translate(err, "claims")
	}
	return claimsFromRows(rows), nil
}

// ListClaims returns a page of claims, newest first, and the cursor of the next page (empty on
// the last one).
func (s *Store) ListClaims(ctx context.Context, q claim.ClaimQuery) ([]claim.Claim, string, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = defaultPage
	}
	limit = min(limit, maxPage)
	db := s.read(ctx).Model(&claimRow{})
	if q.BuyerID != "" {
		db = db.Where("buyer_id = ?", q.BuyerID)
	}
	if q.MerchantID != "" {
		db = db.Where("merchant_id = ?", q.MerchantID)
	}
	if q.Status != "" {
		db = db.Where("status = ?", string(q.Status))
	}
	if q.Cursor != "" {
		before, err := decodeCursor(q.Cursor)
		if err != nil {
			return nil, "", err
		}
		db = db.Where("seq < ?", before)
	}
	var rows []claimRow
	if err := db.Order("seq DESC").Limit(limit + 1).Find(&rows).Error; err != nil {
		return nil, "", s.translate(err, "claims")
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		next = encodeCursor(rows[limit-1].Seq)
	}
	return claimsFromRows(rows), next, nil
}

// ClaimCountsByStatus counts claims per status, for metrics.
func (s *Store) ClaimCountsByStatus(ctx context.Context) (map[claim.Status]int64, error) {
	var rows []struct {
		Status string
		N      int64
	}
	if err := s.read(ctx).Model(&claimRow{}).Select("status, COUNT(*) AS n").Group("status").Scan(&rows).Error; err != nil {
		return nil, s.translate(err, "claims")
	}
	out := make(map[claim.Status]int64, len(rows))
	for _, r := range rows {
		out[claim.Status(r.Status)] = r.N
	}
	return out, nil
}

func claimsFromRows(rows []claimRow) []claim.Claim {
	out := make([]claim.Claim, len(rows))
	for i, r := range rows {
		out[i] = claimFromRow(r)
	}
	return out
}

// Cursors are opaque to clients: base64 of "s<seq>", so their form can change later.
func encodeCursor(seq int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("s" + strconv.FormatInt(seq, 10)))
}

func decodeCursor(c string) (int64, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err == nil && len(b) > 1 && b[0] == 's' {
		if seq, err := strconv.ParseInt(string(b[1:]), 10, 64); err == nil && seq > 0 {
			return seq, nil
		}
	}
	return 0, claim.FieldError("cursor", "the cursor is not one this service issued")
}

// CreateEvidence stores a photo's row on a claim. An empty ID is assigned.
func (s *Store) CreateEvidence(ctx context.Context, e claim.Evidence) (claim.Evidence, error) {
	if e.ID == "" {
		e.ID = newID("evd")
	}
	if e.CreatedAt.IsZero() {
		e.CreatedAt = s.now()
	}
	row := evidenceToRow(e)
	if err := s.write(ctx).Create(&row).Error; err != nil {
		return claim.Evidence{}, s.translate(err, "evidence")
	}
	return evidenceFromRow(row), nil
}

// GetEvidence returns the evidence with id.
func (s *Store) GetEvidence(ctx context.Context, id string) (claim.Evidence, error) {
	var row evidenceRow
	if err := s.read(ctx).Where("id = ?", id).Take(&row).Error; err != nil {
		return claim.Evidence{}, s.translate(err, "evidence")
	}
	return evidenceFromRow(row), nil
}

// ListEvidence returns a claim's evidence in upload order.
func (s *Store) ListEvidence(ctx context.Context, claimID string) ([]claim.Evidence, error) {
	var rows []evidenceRow
	if err := s.read(ctx).Where("claim_id = ?", claimID).Order("seq").Find(&rows).Error; err != nil {
		return nil, s.translate(err, "evidence")
	}
	out := make([]claim.Evidence, len(rows))
	for i, r := range rows {
		out[i] = evidenceFromRow(r)
	}
	return out, nil
}

// SaveAnalysis stores an evidence photo's forensic report, risk and heatmap.
func (s *Store) SaveAnalysis(ctx context.Context, e claim.Evidence) error {
	if len(e.Report) == 0 {
		return internal(nil, "evidence %s: an analysis needs a report", e.ID)
	}
	res := s.write(ctx).Model(&evidenceRow{}).Where("id = ?", e.ID).Updates(map[string]any{
		"report":      string(e.Report),
		"risk":        e.Risk,
		"heatmap_sha": e.HeatmapSHA,
		"analyzed_at": s.now(),
	})
	if res.Error != nil {
		return s.translate(res.Error, "evidence")
	}
	if res.RowsAffected == 0 {
		return claim.Errorf(claim.CodeNotFound, "evidence not found")
	}
	return nil
}

// CreateResponse stores a merchant's response. An empty ID is assigned.
func (s *Store) CreateResponse(ctx context.Context, r claim.Response) (claim.Response, error) {
	if r.ID == "" {
		r.ID = newID("rsp")
	}
	if r.CreatedAt.IsZero() {
		r.CreatedAt = s.now()
	}
	row, err := responseToRow(r)
	if err != nil {
		return claim.Response{}, err
	}
	if err := s.write(ctx).Create(&row).Error; err != nil {
		return claim.Response{}, s.translate(err, "response")
	}
	return responseFromRow(row)
}

// ListResponses returns a claim's merchant responses, oldest first.
func (s *Store) ListResponses(ctx context.Context, claimID string) ([]claim.Response, error) {
	var rows []responseRow
	if err := s.read(ctx).Where("claim_id = ?", claimID).Order("created_at, id").Find(&rows).Error; err != nil {
		return nil, s.translate(err, "responses")
	}
	out := make([]claim.Response, 0, len(rows))
	for _, row := range rows {
		r, err := responseFromRow(row)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}
