package adjudicate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/refundguard/refundguard/pkg/claim"
)

// FileClaim files a buyer's claim. Accepted means durable: the photos are fsynced into the
// blob store first, then one transaction commits the claim, its evidence rows, its analysis
// job and the audit event. Invalid input of any kind changes nothing.
//
// With an IdempotencyKey, a request that repeats an earlier one (same fields, same photo
// bytes) returns the claim it created with Replayed set; a different request under the same
// key is a conflict. Keys are scoped to the buyer.
func (s *Service) FileClaim(ctx context.Context, p claim.Principal, in ClaimInput) (ClaimDetails, error) {
	if err := requireRole(p, claim.RoleBuyer); err != nil {
		return ClaimDetails{}, err
	}
	in.OrderID = strings.TrimSpace(in.OrderID)
	in.IdempotencyKey = strings.TrimSpace(in.IdempotencyKey)
	if err := s.validateClaimInput(in); err != nil {
		return ClaimDetails{}, err
	}
	reqHash := requestHash(in)
	if in.IdempotencyKey != "" {
		if d, ok, err := s.replay(ctx, p, in.IdempotencyKey, reqHash); ok || err != nil {
			return d, err
		}
	}
	order, err := s.store.GetOrder(ctx, in.OrderID)
	if err != nil || order.BuyerID != p.Subject {
		// Another buyer's order looks exactly like a missing one.
		if err == nil || claim.IsNotFound(err) {
			return ClaimDetails{}, &claim.Error{Code: claim.CodeNotFound, Field: "order_id", Message: "order not found"}
		}
		return ClaimDetails{}, err
	}
	if in.Amount > order.Amount.Value {
		return ClaimDetails{}, claim.FieldError("amount", "amount %d is more than the order's %s", in.Amount, order.Amount)
	}
	photos, err := s.checkPhotos(ctx, in.Photos)
	if err != nil {
		return ClaimDetails{}, err
	}
	if err := s.storePhotos(ctx, photos); err != nil {
		return ClaimDetails{}, err
	}

	var c claim.Claim
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		// Lock the order so two claims on it cannot both pass the checks below.
		if _, err := s.store.GetOrderForUpdate(ctx, order.ID); err != nil {
			return err
		}
		if in.IdempotencyKey != "" {
			// A concurrent retry may have committed since the replay check above.
			_, err := s.store.ClaimByIdempotencyKey(ctx, p.Subject, in.IdempotencyKey)
			if err == nil {
				return errRaced
			}
			if !claim.IsNotFound(err) {
				return err
			}
		}
		open, err := s.store.OpenClaimsForOrder(ctx, order.ID)
		if err != nil {
			return err
		}
		if len(open) > 0 {
			return &claim.Error{Code: claim.CodeConflict, Field: "order_id",
				Message: "this order already has an open claim (" + open[0].ID + "); add to it or withdraw it first"}
		}
		if !claim.StatusSubmitted.CanBecome(claim.StatusAnalyzing) {
			return claim.Errorf(claim.CodeInternal, "the lifecycle does not allow submitted -> analyzing")
		}
		now := s.now()
		c, err = s.store.CreateClaim(ctx, claim.Claim{OrderID: order.ID, BuyerID: p.Subject, MerchantID: order.MerchantID,
			Reason: in.Reason, Description: in.Description, Amount: claim.Money{Value: in.Amount, Currency: order.Amount.Currency},
			RefundType: in.RefundType, Status: claim.StatusAnalyzing, IdempotencyKey: in.IdempotencyKey,
			RequestHash: reqHash, CreatedAt: now})
		if err != nil {
			return err
		}
		var shas []string
		for _, ph := range photos {
			ev := ph.evidence(c.ID, claim.SourceBuyer)
			ev.CreatedAt = now
			if _, err := s.store.CreateEvidence(ctx, ev); err != nil {
				return err
			}
			shas = append(shas, ph.fp.SHA256)
		}
		if _, err := s.store.EnqueueAnalysis(ctx, c.ID); err != nil {
			return err
		}
		return s.audit(ctx, p.Actor(), "claim.filed", "claim", c.ID, nil, map[string]any{
			"status": c.Status, "order_id": c.OrderID, "amount": c.Amount, "reason": c.Reason,
			"refund_type": c.RefundType, "photos": shas})
	})
	if err != nil {
		var ce *claim.Error
		if errors.Is(err, errRaced) || errors.As(err, &ce) && ce.Code == claim.CodeConflict && ce.Field == "idempotency_key" {
			// A concurrent request with the same key won the race: answer as a replay would.
			if d, ok, rerr := s.replay(ctx, p, in.IdempotencyKey, reqHash); ok || rerr != nil {
				return d, rerr
			}
		}
		return ClaimDetails{}, err
	}
	s.notifyWorkers()
	s.log.InfoContext(ctx, "claim filed", "claim_id", c.ID, "order_id", c.OrderID, "photos", len(photos))
	return s.details(ctx, c)
}

// errRaced aborts a filing whose Idempotency-Key a concurrent request has just used.
var errRaced = errors.New("idempotency key used concurrently")

// replay looks up the buyer's claim filed under key. ok is true when the request repeats it.
func (s *Service) replay(ctx context.Context, p claim.Principal, key, reqHash string) (ClaimDetails, bool, error) {
	prev, err := s.store.ClaimByIdempotencyKey(ctx, p.Subject, key)
	if claim.IsNotFound(err) {
		return ClaimDetails{}, false, nil
	}
	if err != nil {
		return ClaimDetails{}, false, err
	}
	if prev.RequestHash != reqHash {
		return ClaimDetails{}, false, &claim.Error{Code: claim.CodeConflict, Field: "Idempotency-Key",
			Message: "this Idempotency-Key was used for a different request (claim " + prev.ID + ")"}
	}
	d, err := s.details(ctx, prev)
	d.Replayed = true
	return d, err == nil, err
}

// requestHash fingerprints a filing request: its fields and the sha256 of every photo, in
// order, under a canonical JSON encoding. File names are not part of it (a retry may rename).
func requestHash(in ClaimInput) string {
	photos := make([]string, len(in.Photos))
	for i, ph := range in.Photos {
		sum := sha256.Sum256(ph.Data)
		photos[i] = hex.EncodeToString(sum[:])
	}
	b, _ := json.Marshal(struct {
		OrderID     string   `json:"order_id"`
		Reason      string   `json:"reason"`
		Description string   `json:"description"`
		Amount      int64    `json:"amount"`
		RefundType  string   `json:"refund_type"`
		Photos      []string `json:"photos"`
	}{in.OrderID, string(in.Reason), in.Description, in.Amount, string(in.RefundType), photos})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func (s *Service) validateClaimInput(in ClaimInput) error {
	switch {
	case in.OrderID == "":
		return claim.FieldError("order_id", "order_id is required")
	case !in.Reason.Valid():
		return claim.FieldError("reason", "reason must be damaged, defective, not_as_described, missing_parts or not_received")
	case !in.RefundType.Valid():
		return claim.FieldError("refund_type", "refund_type must be refund_only or return_and_refund")
	case in.Amount <= 0:
		return claim.FieldError("amount", "amount must be a positive number of minor units (fen)")
	case len(in.IdempotencyKey) > 255:
		return claim.FieldError("Idempotency-Key", "the Idempotency-Key is longer than 255 characters")
	}
	return s.validateText("description", in.Description)
}

// validateText bounds free text (descriptions, statements): valid UTF-8, no control
// characters other than line breaks and tabs, at most MaxTextRunes characters.
func (s *Service) validateText(field, v string) error {
	switch {
	case !utf8.ValidString(v):
		return claim.FieldError(field, "%s is not valid UTF-8", field)
	case utf8.RuneCountInString(v) > s.limits.MaxTextRunes:
		return &claim.Error{Code: claim.CodeTooLarge, Field: field,
			Message: field + " is longer than " + strconv.Itoa(s.limits.MaxTextRunes) + " characters"}
	case strings.ContainsFunc(v, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t' }):
		return claim.FieldError(field, "%s contains control characters", field)
	}
	return nil
}

// details assembles everything known about a claim. Transports trim it per role.
func (s *Service) details(ctx context.Context, c claim.Claim) (ClaimDetails, error) {
	d := ClaimDetails{Claim: c}
	var err error
	if d.Order, err = s.store.GetOrder(ctx, c.OrderID); err != nil {
		return ClaimDetails{}, err
	}
	if d.Evidence, err = s.store.ListEvidence(ctx, c.ID); err != nil {
		return ClaimDetails{}, err
	}
	if d.Responses, err = s.store.ListResponses(ctx, c.ID); err != nil {
		return ClaimDetails{}, err
	}
	if d.Timeline, err = s.store.AuditEvents(ctx, "claim", c.ID); err != nil {
		return ClaimDetails{}, err
	}
	if d.Decisions, err = s.store.ListDecisions(ctx, c.ID); err != nil {
		return ClaimDetails{}, err
	}
	if d.Appeals, err = s.store.ListAppeals(ctx, c.ID); err != nil {
		return ClaimDetails{}, err
	}
	return d, nil
}

// GetClaim returns a claim with its order, evidence, responses and timeline to its buyer, its
// merchant or staff.
func (s *Service) GetClaim(ctx context.Context, p claim.Principal, id string) (ClaimDetails, error) {
	c, err := s.claimFor(ctx, p, id, false)
	if err != nil {
		return ClaimDetails{}, err
	}
	return s.details(ctx, c)
}

// ListClaims pages through the claims p may see, newest first.
func (s *Service) ListClaims(ctx context.Context, p claim.Principal, f ClaimFilter) (ClaimPage, error) {
	if f.Status != "" && !f.Status.Valid() {
		return ClaimPage{}, claim.FieldError("status", "unknown status %q", f.Status)
	}
	q := claim.ClaimQuery{Status: f.Status, Cursor: f.Cursor, Limit: f.Limit}
	switch {
	case p.Role.IsStaff():
	case p.Role == claim.RoleBuyer && p.Subject != "":
		q.BuyerID = p.Subject
	case p.Role == claim.RoleMerchant && p.Subject != "":
		q.MerchantID = p.Subject
	default:
		return ClaimPage{}, claim.Errorf(claim.CodeForbidden, "this role cannot list claims")
	}
	claims, next, err := s.store.ListClaims(ctx, q)
	if err != nil {
		return ClaimPage{}, err
	}
	return ClaimPage{Claims: claims, NextCursor: next}, nil
}

// RespondToClaim records the merchant's statement and counter-evidence on one of its open
// claims. Counter-evidence is analysed like the buyer's photos. A response to a claim that
// awaits the merchant moves it on (to analysis with photos, to review without); on a claim
// elsewhere in its lifecycle the status stays and the photos are analysed alongside.
func (s *Service) RespondToClaim(ctx context.Context, p claim.Principal, claimID, statement string, uploads []Upload) (claim.Response, error) {
	if err := requireRole(p, claim.RoleMerchant); err != nil {
		return claim.Response{}, err
	}
	statement = strings.TrimSpace(statement)
	if err := s.validateText("statement", statement); err != nil {
		return claim.Response{}, err
	}
	if statement == "" && len(uploads) == 0 {
		return claim.Response{}, claim.FieldError("statement", "a response needs a statement, photos or both")
	}
	if _, err := s.respondable(ctx, p, claimID, false); err != nil {
		return claim.Response{}, err
	}
	var photos []photo
	if len(uploads) > 0 {
		var err error
		if photos, err = s.checkPhotos(ctx, uploads); err != nil {
			return claim.Response{}, err
		}
		if err := s.storePhotos(ctx, photos); err != nil {
			return claim.Response{}, err
		}
	}
	var resp claim.Response
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		c, err := s.respondable(ctx, p, claimID, true)
		if err != nil {
			return err
		}
		ids, err := s.addEvidence(ctx, c, photos, claim.SourceMerchant)
		if err != nil {
			return err
		}
		if resp, err = s.store.CreateResponse(ctx, claim.Response{ClaimID: c.ID, MerchantID: p.Subject,
			Statement: statement, EvidenceIDs: ids, CreatedAt: s.now()}); err != nil {
			return err
		}
		after := c
		if c.Status == claim.StatusAwaitingMerchant && len(photos) > 0 {
			// Counter-evidence is analysed first; the rules route the claim after that.
			if after, err = s.move(ctx, c, claim.StatusAnalyzing); err != nil {
				return err
			}
		}
		if err := s.audit(ctx, p.Actor(), "claim.response_added", "claim", c.ID,
			map[string]any{"status": c.Status},
			map[string]any{"status": after.Status, "response_id": resp.ID, "evidence": ids}); err != nil {
			return err
		}
		if after.Status == claim.StatusAwaitingMerchant {
			// The merchant has been heard: the rules route the claim again (to review, by default).
			_, err = s.route(ctx, after, actorRules)
		}
		return err
	})
	if err != nil {
		return claim.Response{}, err
	}
	if len(photos) > 0 {
		s.notifyWorkers()
	}
	return resp, nil
}

// respondable returns the merchant's claim if it still takes responses; lock (inside a
// transaction) holds it until commit.
func (s *Service) respondable(ctx context.Context, p claim.Principal, claimID string, lock bool) (claim.Claim, error) {
	c, err := s.claimFor(ctx, p, claimID, lock)
	if err != nil {
		return claim.Claim{}, err
	}
	if c.MerchantID != p.Subject {
		return claim.Claim{}, notFound("claim")
	}
	if !c.Status.Open() {
		return claim.Claim{}, claim.Errorf(claim.CodeConflict, "the claim is %s and no longer takes responses", c.Status)
	}
	return c, nil
}

// claimFor reads a claim p may see (not_found otherwise); lock, inside a transaction, holds
// it until commit so a status check and the change after it cannot interleave with another.
func (s *Service) claimFor(ctx context.Context, p claim.Principal, id string, lock bool) (claim.Claim, error) {
	get := s.store.GetClaim
	if lock {
		get = s.store.GetClaimForUpdate
	}
	c, err := get(ctx, id)
	if err != nil {
		return claim.Claim{}, err
	}
	if !canSee(p, c.BuyerID, c.MerchantID) {
		return claim.Claim{}, notFound("claim")
	}
	return c, nil
}

// addEvidence stores evidence rows for photos already in the blob store and queues their
// analysis; it runs inside the caller's transaction and returns the new evidence ids.
func (s *Service) addEvidence(ctx context.Context, c claim.Claim, photos []photo, source claim.EvidenceSource) ([]string, error) {
	if len(photos) == 0 {
		return nil, nil
	}
	ids := make([]string, 0, len(photos))
	now := s.now()
	for _, ph := range photos {
		ev := ph.evidence(c.ID, source)
		ev.CreatedAt = now
		ev, err := s.store.CreateEvidence(ctx, ev)
		if err != nil {
			return nil, err
		}
		ids = append(ids, ev.ID)
	}
	if _, err := s.store.EnqueueAnalysis(ctx, c.ID); err != nil {
		return nil, err
	}
	return ids, nil
}

// move changes a claim's status, if next differs, after checking the lifecycle allows it.
func (s *Service) move(ctx context.Context, c claim.Claim, next claim.Status) (claim.Claim, error) {
	if next == c.Status {
		return c, nil
	}
	if !c.Status.CanBecome(next) {
		return claim.Claim{}, claim.Errorf(claim.CodeConflict, "a %s claim cannot become %s", c.Status, next)
	}
	from := c.Status
	c.Status = next
	return s.store.UpdateClaim(ctx, c, from)
}

// AddEvidence adds buyer photos to a claim that asked for them (status
// awaiting_buyer_evidence) and sends it back to analysis. At other times the buyer cannot
// add photos: evidence is judged as filed, and a buyer must not be able to try photo after
// photo until one passes.
func (s *Service) AddEvidence(ctx context.Context, p claim.Principal, claimID string, uploads []Upload) ([]claim.Evidence, error) {
	if err := requireRole(p, claim.RoleBuyer); err != nil {
		return nil, err
	}
	check := func(ctx context.Context, lock bool) (claim.Claim, error) {
		c, err := s.claimFor(ctx, p, claimID, lock)
		if err != nil {
			return claim.Claim{}, err
		}
		if c.Status != claim.StatusAwaitingBuyerEvidence {
			return claim.Claim{}, claim.Errorf(claim.CodeConflict,
				"more photos are accepted only when the claim asks for them; this claim is %s", c.Status)
		}
		return c, nil
	}
	if _, err := check(ctx, false); err != nil {
		return nil, err
	}
	photos, err := s.checkPhotos(ctx, uploads)
	if err != nil {
		return nil, err
	}
	if err := s.storePhotos(ctx, photos); err != nil {
		return nil, err
	}
	var ids []string
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		c, err := check(ctx, true)
		if err != nil {
			return err
		}
		if ids, err = s.addEvidence(ctx, c, photos, claim.SourceBuyer); err != nil {
			return err
		}
		c.BuyerDeadline = nil
		after, err := s.move(ctx, c, claim.StatusAnalyzing)
		if err != nil {
			return err
		}
		return s.audit(ctx, p.Actor(), "claim.evidence_added", "claim", c.ID,
			map[string]any{"status": claim.StatusAwaitingBuyerEvidence}, map[string]any{"status": after.Status, "evidence": ids})
	})
	if err != nil {
		return nil, err
	}
	s.notifyWorkers()
	out := make([]claim.Evidence, 0, len(ids))
	for _, id := range ids {
		ev, err := s.store.GetEvidence(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, ev)
	}
	return out, nil
}

// WithdrawClaim lets the buyer withdraw an open claim. Pending analysis still runs: a
// withdrawn claim's forensic report matters if the photos turn up again.
func (s *Service) WithdrawClaim(ctx context.Context, p claim.Principal, claimID string) (claim.Claim, error) {
	if err := requireRole(p, claim.RoleBuyer); err != nil {
		return claim.Claim{}, err
	}
	var out claim.Claim
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		c, err := s.claimFor(ctx, p, claimID, true)
		if err != nil {
			return err
		}
		if !c.Status.CanBecome(claim.StatusWithdrawn) {
			return claim.Errorf(claim.CodeConflict, "a %s claim cannot be withdrawn", c.Status)
		}
		if out, err = s.move(ctx, c, claim.StatusWithdrawn); err != nil {
			return err
		}
		if _, err := s.store.CloseClaimTasks(ctx, c.ID, s.now()); err != nil {
			return err
		}
		return s.audit(ctx, p.Actor(), "claim.withdrawn", "claim", c.ID,
			map[string]any{"status": c.Status}, map[string]any{"status": out.Status})
	})
	return out, err
}

// EvidenceContent streams an evidence photo or its heatmap. Staff may open any (and every
// opening is audited); a merchant those on its claims; a buyer its own photos, never a
// heatmap (it would show a forger what was caught) nor the merchant's counter-evidence.
func (s *Service) EvidenceContent(ctx context.Context, p claim.Principal, evidenceID string, heatmap bool) (Content, error) {
	ev, err := s.store.GetEvidence(ctx, evidenceID)
	if err != nil {
		return Content{}, err
	}
	c, err := s.store.GetClaim(ctx, ev.ClaimID)
	if err != nil {
		return Content{}, err
	}
	switch {
	case p.Role.IsStaff():
	case p.Role == claim.RoleMerchant && p.Subject == c.MerchantID:
	case p.Role == claim.RoleBuyer && p.Subject == c.BuyerID && ev.Source == claim.SourceBuyer:
		if heatmap {
			return Content{}, claim.Errorf(claim.CodeForbidden, "heatmaps are for reviewers")
		}
	default:
		return Content{}, notFound("evidence")
	}
	key, ctype := ev.SHA256, contentType(ev.Format)
	if heatmap {
		if ev.HeatmapSHA == "" {
			return Content{}, claim.Errorf(claim.CodeNotFound, "this evidence has no heatmap (no localised edit was found, or it is not analysed yet)")
		}
		key, ctype = ev.HeatmapSHA, "image/png"
	}
	if p.Role.IsStaff() {
		action := actionEvidenceViewed
		if heatmap {
			action = actionHeatmapViewed
		}
		if err := s.audit(ctx, p.Actor(), action, "claim", c.ID, nil, map[string]any{"evidence_id": ev.ID}); err != nil {
			return Content{}, err
		}
	}
	return s.openContent(ctx, key, ctype)
}

// openContent opens a blob for streaming. A blob missing behind a row is data loss: it is
// logged loudly and reported as an internal error.
func (s *Service) openContent(ctx context.Context, key, ctype string) (Content, error) {
	body, size, err := s.blobs.Open(ctx, key)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			s.log.ErrorContext(ctx, "stored photo missing from the blob store", "sha256", key, "error", err)
		}
		return Content{}, claim.Wrap(err, claim.CodeInternal, "the stored file could not be opened")
	}
	return Content{Body: body, ContentType: ctype, Size: size, SHA256: key}, nil
}

func contentType(format string) string {
	switch format {
	case "jpeg":
		return "image/jpeg"
	case "png":
		return "image/png"
	case "webp":
		return "image/webp"
	case "gif":
		return "image/gif"
	case "heic", "heif":
		return "image/heic"
	}
	return "application/octet-stream"
}
