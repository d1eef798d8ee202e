package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/refundguard/refundguard/pkg/adjudicate"
	"github.com/refundguard/refundguard/pkg/claim"
)

// Handlers are thin: decode and check the shape of the input, call the service with the
// request's context, encode the role's DTO. Business rules (ownership, amounts, lifecycle,
// image validity) are the service's, and come back as coded errors.

type claimDetails = adjudicate.ClaimDetails

func writeJSON(c *gin.Context, status int, v any) {
	c.Header("Content-Type", "application/json; charset=utf-8")
	c.Status(status)
	// The status is sent: an encoding failure can only be a connection that went away.
	_ = jsonEncode(c.Writer, v)
}

func jsonEncode(w io.Writer, v any) error {
	return json.NewEncoder(w).Encode(v)
}

// ---- health, metrics, documentation ----

func (a *API) healthz(c *gin.Context, _ claim.Principal) error {
	writeJSON(c, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

// readyTimeout bounds the readiness probe so a hung database fails it instead of hanging it.
const readyTimeout = 5 * time.Second

func (a *API) readyz(c *gin.Context, _ claim.Principal) error {
	ctx, cancel := context.WithTimeout(c.Request.Context(), readyTimeout)
	defer cancel()
	if err := a.svc.Ready(ctx); err != nil {
		a.log.WarnContext(ctx, "not ready", "error", cleanForLog(err.Error()))
		return claim.Wrap(err, claim.CodeUnavailable, "the service is not ready: its database or evidence store is unavailable")
	}
	writeJSON(c, http.StatusOK, map[string]string{"status": "ready"})
	return nil
}

// ---- keys ----

func (a *API) createKey(c *gin.Context, p claim.Principal) error {
	var req createKeyRequest
	if err := decodeJSON(c.Request, &req); err != nil {
		return err
	}
	if !req.Role.Valid() {
		return claim.FieldError("role", "role must be buyer, merchant, reviewer or admin")
	}
	if strings.TrimSpace(req.Subject) == "" {
		return claim.FieldError("subject", "subject is required: the buyer's or merchant's id, or the reviewer's name")
	}
	key, secret, err := a.svc.CreateKey(c.Request.Context(), p, req.Role, req.Subject)
	if err != nil {
		return err
	}
	c.Header("Location", "/v1/keys/"+key.ID)
	writeJSON(c, http.StatusCreated, keyDTO{ID: key.ID, Role: key.Role, Subject: key.Subject, CreatedAt: key.CreatedAt, Secret: secret})
	return nil
}

func (a *API) revokeKey(c *gin.Context, p claim.Principal) error {
	if err := a.svc.RevokeKey(c.Request.Context(), p, c.Param("id")); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

// ---- orders and reference photos ----

func (a *API) createOrder(c *gin.Context, p claim.Principal) error {
	var req orderRequest
	if err := decodeJSON(c.Request, &req); err != nil {
		return err
	}
	in, err := req.input()
	if err != nil {
		return err
	}
	o, err := a.svc.CreateOrder(c.Request.Context(), p, in)
	if err != nil {
		return err
	}
	c.Header("Location", "/v1/orders/"+o.ID)
	writeJSON(c, http.StatusCreated, toOrder(o))
	return nil
}

// input checks the order's shape; whether the amounts and times make sense together is
// for the service to say.
func (r orderRequest) input() (adjudicate.OrderInput, error) {
	switch {
	case strings.TrimSpace(r.ExternalID) == "":
		return adjudicate.OrderInput{}, claim.FieldError("external_id", "external_id is required: the order number in the merchant's own system")
	case strings.TrimSpace(r.BuyerID) == "":
		return adjudicate.OrderInput{}, claim.FieldError("buyer_id", "buyer_id is required")
	case r.Amount == nil:
		return adjudicate.OrderInput{}, claim.FieldError("amount", `amount is required, e.g. {"value": 12900, "currency": "CNY"} for 129.00 CNY`)
	case r.PlacedAt == nil:
		return adjudicate.OrderInput{}, claim.FieldError("placed_at", "placed_at is required (RFC 3339, e.g. 2026-11-01T10:00:00+08:00)")
	case len(r.Items) == 0:
		return adjudicate.OrderInput{}, claim.FieldError("items", "items must list at least one item")
	}
	amount, err := claim.NewMoney(r.Amount.Value, r.Amount.Currency)
	if err != nil {
		return adjudicate.OrderInput{}, err
	}
	if amount.Value == 0 {
		return adjudicate.OrderInput{}, claim.FieldError("amount.value", "amount.value must be positive (minor units: fen for CNY)")
	}
	for i, it := range r.Items {
		field := "items[" + strconv.Itoa(i) + "]"
		if strings.TrimSpace(it.SKU) == "" {
			return adjudicate.OrderInput{}, claim.FieldError(field+".sku", "every item needs a sku")
		}
		if it.Quantity < 1 {
			return adjudicate.OrderInput{}, claim.FieldError(field+".quantity", "quantity must be at least 1")
		}
	}
	return adjudicate.OrderInput{
		ExternalID: r.ExternalID, BuyerID: r.BuyerID, Amount: amount, Items: r.Items,
		PlacedAt: *r.PlacedAt, ShippedAt: r.ShippedAt, DeliveredAt: r.DeliveredAt,
	}, nil
}

func (a *API) getOrder(c *gin.Context, p claim.Principal) error {
	o, err := a.svc.GetOrder(c.Request.Context(), p, c.Param("id"))
	if err != nil {
		return err
	}
	writeJSON(c, http.StatusOK, toOrder(o))
	return nil
}

func (a *API) updateOrder(c *gin.Context, p claim.Principal) error {
	var req orderPatchRequest
	if err := decodeJSON(c.Request, &req); err != nil {
		return err
	}
	if req.ShippedAt == nil && req.DeliveredAt == nil {
		return claim.FieldError("shipped_at", "give shipped_at, delivered_at or both")
	}
	o, err := a.svc.UpdateOrder(c.Request.Context(), p, c.Param("id"), adjudicate.OrderPatch{ShippedAt: req.ShippedAt, DeliveredAt: req.DeliveredAt})
	if err != nil {
		return err
	}
	writeJSON(c, http.StatusOK, toOrder(o))
	return nil
}

func (a *API) addOrderImages(c *gin.Context, p claim.Principal) error {
	form, err := a.readUploadForm(c.Request, "kind")
	if err != nil {
		return err
	}
	if err := form.require("kind"); err != nil {
		return err
	}
	kind := claim.ImageKind(form.fields["kind"])
	if kind != claim.ImagePacking && kind != claim.ImageCatalog {
		return claim.FieldError("kind", "kind must be packing (this order's parcel) or catalog (the product of its items)")
	}
	if err := form.requirePhotos(); err != nil {
		return err
	}
	imgs, err := a.svc.AddOrderImages(c.Request.Context(), p, c.Param("id"), kind, form.photos)
	if err != nil {
		return err
	}
	writeJSON(c, http.StatusCreated, toImages(imgs))
	return nil
}

func (a *API) addProductImages(c *gin.Context, p claim.Principal) error {
	form, err := a.readUploadForm(c.Request)
	if err != nil {
		return err
	}
	if err := form.requirePhotos(); err != nil {
		return err
	}
	imgs, err := a.svc.AddProductImages(c.Request.Context(), p, c.Param("sku"), form.photos)
	if err != nil {
		return err
	}
	writeJSON(c, http.StatusCreated, toImages(imgs))
	return nil
}

// ---- claims ----

// IdempotencyKeyHeader names the header that makes POST /v1/claims safe to retry.
const IdempotencyKeyHeader = "Idempotency-Key"

func idempotencyKey(r *http.Request) (string, error) {
	key := r.Header.Get(IdempotencyKeyHeader)
	if len(key) > 255 {
		return "", claim.FieldError(IdempotencyKeyHeader, "the Idempotency-Key is longer than 255 characters")
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x21 || key[i] > 0x7e {
			return "", claim.FieldError(IdempotencyKeyHeader, "the Idempotency-Key must be printable ASCII without spaces (a UUID works well)")
		}
	}
	return key, nil
}

var claimFields = []string{"order_id", "reason", "description", "amount", "refund_type"}

func (a *API) fileClaim(c *gin.Context, p claim.Principal) error {
	key, err := idempotencyKey(c.Request)
	if err != nil {
		return err
	}
	form, err := a.readUploadForm(c.Request, claimFields...)
	if err != nil {
		return err
	}
	in, err := form.claimInput()
	if err != nil {
		return err
	}
	in.IdempotencyKey = key
	d, err := a.svc.FileClaim(c.Request.Context(), p, in)
	if err != nil {
		return err
	}
	if d.Replayed {
		c.Header("Idempotent-Replayed", "true")
	}
	c.Header("Location", "/v1/claims/"+d.Claim.ID)
	writeJSON(c, http.StatusCreated, toClaimCreated(d.Claim, d.Evidence, len(in.Photos)))
	return nil
}

func (f uploadForm) claimInput() (adjudicate.ClaimInput, error) {
	if err := f.require("order_id", "reason", "amount", "refund_type"); err != nil {
		return adjudicate.ClaimInput{}, err
	}
	reason := claim.Reason(f.fields["reason"])
	if !reason.Valid() {
		return adjudicate.ClaimInput{}, claim.FieldError("reason", "reason must be one of damaged, defective, not_as_described, missing_parts, not_received")
	}
	refundType := claim.RefundType(f.fields["refund_type"])
	if !refundType.Valid() {
		return adjudicate.ClaimInput{}, claim.FieldError("refund_type", "refund_type must be refund_only or return_and_refund")
	}
	amount, err := strconv.ParseInt(strings.TrimSpace(f.fields["amount"]), 10, 64)
	if err != nil || amount <= 0 {
		return adjudicate.ClaimInput{}, claim.FieldError("amount", "amount must be a positive whole number of minor units (fen): 12900 is 129.00 CNY")
	}
	if err := f.requirePhotos(); err != nil {
		return adjudicate.ClaimInput{}, err
	}
	return adjudicate.ClaimInput{
		OrderID: strings.TrimSpace(f.fields["order_id"]), Reason: reason, Description: f.fields["description"],
		Amount: amount, RefundType: refundType, Photos: f.photos,
	}, nil
}

// maxListLimit mirrors the service's cap on a page.
const maxListLimit = 200

func (a *API) listClaims(c *gin.Context, p claim.Principal) error {
	f := adjudicate.ClaimFilter{Status: claim.Status(c.Query("status")), Cursor: c.Query("cursor")}
	if f.Status != "" && !f.Status.Valid() {
		return claim.FieldError("status", "unknown status %q", cleanForLog(string(f.Status)))
	}
	if s := c.Query("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxListLimit {
			return claim.FieldError("limit", "limit must be a whole number from 1 to %d", maxListLimit)
		}
		f.Limit = n
	}
	page, err := a.svc.ListClaims(c.Request.Context(), p, f)
	if err != nil {
		return err
	}
	switch {
	case p.Role == claim.RoleBuyer:
		writeJSON(c, http.StatusOK, listOf(page, toBuyerSummary))
	case p.Role == claim.RoleMerchant:
		writeJSON(c, http.StatusOK, listOf(page, toMerchantSummary))
	case p.Role.IsStaff():
		writeJSON(c, http.StatusOK, listOf(page, toStaffSummary))
	default:
		return unknownRole(p)
	}
	return nil
}

func listOf[T any](page adjudicate.ClaimPage, view func(claim.Claim) T) claimList[T] {
	out := claimList[T]{Claims: make([]T, len(page.Claims)), NextCursor: page.NextCursor}
	for i, cl := range page.Claims {
		out.Claims[i] = view(cl)
	}
	return out
}

func unknownRole(p claim.Principal) error {
	return claim.Wrap(fmt.Errorf("principal %s has unknown role %q", p.KeyID, p.Role), claim.CodeInternal, "unknown role")
}

func (a *API) getClaim(c *gin.Context, p claim.Principal) error {
	d, err := a.svc.GetClaim(c.Request.Context(), p, c.Param("id"))
	if err != nil {
		return err
	}
	switch {
	case p.Role == claim.RoleBuyer:
		writeJSON(c, http.StatusOK, toBuyerClaim(d))
	case p.Role == claim.RoleMerchant:
		writeJSON(c, http.StatusOK, toMerchantClaim(d))
	case p.Role.IsStaff():
		writeJSON(c, http.StatusOK, toStaffClaim(d))
	default:
		return unknownRole(p)
	}
	return nil
}

func (a *API) respond(c *gin.Context, p claim.Principal) error {
	form, err := a.readUploadForm(c.Request, "statement")
	if err != nil {
		return err
	}
	if err := form.require("statement"); err != nil {
		return err
	}
	r, err := a.svc.RespondToClaim(c.Request.Context(), p, c.Param("id"), form.fields["statement"], form.photos)
	if err != nil {
		return err
	}
	writeJSON(c, http.StatusCreated, toResponse(r))
	return nil
}

func (a *API) addEvidence(c *gin.Context, p claim.Principal) error {
	form, err := a.readUploadForm(c.Request)
	if err != nil {
		return err
	}
	if err := form.requirePhotos(); err != nil {
		return err
	}
	es, err := a.svc.AddEvidence(c.Request.Context(), p, c.Param("id"), form.photos)
	if err != nil {
		return err
	}
	writeJSON(c, http.StatusCreated, toBuyerEvidenceList(es))
	return nil
}

func (a *API) withdraw(c *gin.Context, p claim.Principal) error {
	cl, err := a.svc.WithdrawClaim(c.Request.Context(), p, c.Param("id"))
	if err != nil {
		return err
	}
	writeJSON(c, http.StatusOK, toBuyerSummary(cl))
	return nil
}

// ---- evidence files ----

func (a *API) evidenceContent(c *gin.Context, p claim.Principal) error {
	return a.streamEvidence(c, p, false)
}

func (a *API) evidenceHeatmap(c *gin.Context, p claim.Principal) error {
	return a.streamEvidence(c, p, true)
}

// streamEvidence sends a stored photo or heatmap. Blobs are content-addressed, so the
// sha256 is a strong ETag; the browser may keep a copy but must revalidate (no-cache), so
// every view still passes authorization. Only image types are declared, nothing may be
// sniffed, and the sandbox CSP keeps a hostile file from running anything if opened.
func (a *API) streamEvidence(c *gin.Context, p claim.Principal, heatmap bool) error {
	content, err := a.svc.EvidenceContent(c.Request.Context(), p, c.Param("id"), heatmap)
	if err != nil {
		return err
	}
	defer content.Body.Close()
	h := c.Writer.Header()
	etag := `"` + content.SHA256 + `"`
	h.Set("ETag", etag)
	h.Set("Cache-Control", "private, no-cache")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Content-Disposition", "inline")
	if content.SHA256 != "" && etagMatches(c.GetHeader("If-None-Match"), etag) {
		c.Status(http.StatusNotModified)
		return nil
	}
	h.Set("Content-Type", imageContentType(content.ContentType))
	if content.Size > 0 {
		h.Set("Content-Length", strconv.FormatInt(content.Size, 10))
	}
	c.Status(http.StatusOK)
	if _, err := io.Copy(c.Writer, content.Body); err != nil {
		// Mid-stream: the status is sent, so the client sees a short body; log why.
		a.log.WarnContext(c.Request.Context(), "evidence stream interrupted", "error", cleanForLog(err.Error()))
	}
	return nil
}

// imageContentType passes image types through and declares anything else opaque.
func imageContentType(ct string) string {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || !strings.HasPrefix(mt, "image/") {
		return "application/octet-stream"
	}
	return mt
}

// etagMatches implements If-None-Match's weak comparison (RFC 9110 §13.1.2).
func etagMatches(header, etag string) bool {
	for _, candidate := range strings.Split(header, ",") {
		candidate = strings.TrimPrefix(strings.TrimSpace(candidate), "W/")
		if candidate == "*" || candidate == etag {
			return true
		}
	}
	return false
}
