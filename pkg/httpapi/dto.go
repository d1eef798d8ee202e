package httpapi

import (
	"encoding/json"
	"time"

	"github.com/refundguard/refundguard/pkg/claim"
)

// The wire types. They are separate from claim's domain types (and from the store's rows)
// so the JSON contract changes only when this file does, and so each role gets a type that
// simply has no field for what it must not see: a buyer's claim cannot leak a finding
// because buyerClaim has nowhere to put one.

// ---- requests ----

type createKeyRequest struct {
	Role    claim.Role `json:"role"`
	Subject string     `json:"subject"`
}

type orderRequest struct {
	ExternalID  string       `json:"external_id"`
	BuyerID     string       `json:"buyer_id"`
	Amount      *claim.Money `json:"amount"`
	Items       []claim.Item `json:"items"`
	PlacedAt    *time.Time   `json:"placed_at"`
	ShippedAt   *time.Time   `json:"shipped_at"`
	DeliveredAt *time.Time   `json:"delivered_at"`
}

type orderPatchRequest struct {
	ShippedAt   *time.Time `json:"shipped_at"`
	DeliveredAt *time.Time `json:"delivered_at"`
}

// ---- keys, orders, reference images ----

type keyDTO struct {
	ID        string     `json:"id"`
	Role      claim.Role `json:"role"`
	Subject   string     `json:"subject"`
	CreatedAt time.Time  `json:"created_at"`
	// Secret is shown once, in the creation response; only its hash is stored.
	Secret string `json:"secret"`
}

type orderDTO struct {
	ID          string       `json:"id"`
	ExternalID  string       `json:"external_id"`
	MerchantID  string       `json:"merchant_id"`
	BuyerID     string       `json:"buyer_id"`
	Amount      claim.Money  `json:"amount"`
	Items       []claim.Item `json:"items"`
	PlacedAt    time.Time    `json:"placed_at"`
	ShippedAt   *time.Time   `json:"shipped_at"`
	DeliveredAt *time.Time   `json:"delivered_at"`
	CreatedAt   time.Time    `json:"created_at"`
}

// orEmpty makes a nil slice encode as [] rather than null, as the schemas promise.
func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func toOrder(o claim.Order) orderDTO {
	return orderDTO{
		ID: o.ID, ExternalID: o.ExternalID, MerchantID: o.MerchantID, BuyerID: o.BuyerID,
		Amount: o.Amount, Items: orEmpty(o.Items), PlacedAt: o.PlacedAt, ShippedAt: o.ShippedAt,
		DeliveredAt: o.DeliveredAt, CreatedAt: o.CreatedAt,
	}
}

// photoFacts identify a stored photo: its blob key, what it is, and its perceptual hashes.
type photoFacts struct {
	SHA256 string       `json:"sha256"`
	Format string       `json:"format"`
	Width  int          `json:"width"`
	Height int          `json:"height"`
	Size   int64        `json:"size"`
	Hashes claim.Hashes `json:"hashes"`
}

type imageDTO struct {
	ID      string          `json:"id"`
	Kind    claim.ImageKind `json:"kind"`
	OrderID string          `json:"order_id,omitempty"`
	SKU     string          `json:"sku,omitempty"`
	photoFacts
	CreatedAt time.Time `json:"created_at"`
}

type imagesDTO struct {
	Images []imageDTO `json:"images"`
}

func toImages(imgs []claim.ReferenceImage) imagesDTO {
	out := imagesDTO{Images: make([]imageDTO, len(imgs))}
	for i, r := range imgs {
		out.Images[i] = imageDTO{
			ID: r.ID, Kind: r.Kind, OrderID: r.OrderID, SKU: r.SKU, CreatedAt: r.CreatedAt,
			photoFacts: photoFacts{SHA256: r.SHA256, Format: r.Format, Width: r.Width, Height: r.Height, Size: r.Size, Hashes: r.Hashes},
		}
	}
	return out
}

// ---- claims: what every role sees ----

// claimFiling is what the buyer asked for, and the claim's status.
type claimFiling struct {
	ID          string           `json:"id"`
	OrderID     string           `json:"order_id"`
	Status      claim.Status     `json:"status"`
	Reason      claim.Reason     `json:"reason"`
	Description string           `json:"description"`
	Amount      claim.Money      `json:"amount"`
	RefundType  claim.RefundType `json:"refund_type"`
}

func toFiling(c claim.Claim, status claim.Status) claimFiling {
	return claimFiling{
		ID: c.ID, OrderID: c.OrderID, Status: status, Reason: c.Reason, Description: c.Description,
		Amount: c.Amount, RefundType: c.RefundType,
	}
}

// claimCore is what the buyer asked for and where the claim stands: every role sees it.
type claimCore struct {
	claimFiling
	ApprovedAmount *claim.Money `json:"approved_amount"`
	CreatedAt      time.Time    `json:"created_at"`
	UpdatedAt      time.Time    `json:"updated_at"`
}

func toCore(c claim.Claim) claimCore {
	return claimCore{claimFiling: toFiling(c, c.Status), ApprovedAmount: c.ApprovedAmount, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

// outcomeDTO is a reviewer's ruling as the parties see it: the verdict without the
// reviewer's name, note or the rules behind it.
type outcomeDTO struct {
	Outcome    claim.Outcome `json:"outcome"`
	Amount     *claim.Money  `json:"amount"`
	ReasonCode string        `json:"reason_code"`
	DecidedAt  time.Time     `json:"decided_at"`
}

// latestOutcome is the newest reviewer ruling; routing by the rules is internal and would
// tell a forger how suspicious the photos looked.
func latestOutcome(ds []claim.Decision) *outcomeDTO {
	for i := len(ds) - 1; i >= 0; i-- {
		// A pending rejection (four eyes) is not in force until a second reviewer confirms it.
		if d := ds[i]; d.Outcome != "" && !d.Pending {
			return &outcomeDTO{Outcome: d.Outcome, Amount: d.Amount, ReasonCode: d.ReasonCode, DecidedAt: d.CreatedAt}
		}
	}
	return nil
}

// ---- buyer ----

// buyerClaimCreated is the 201 body of POST /v1/claims. It depends only on what the claim
// was when accepted, never on its current state, so an Idempotency-Key replay days later
// answers byte for byte what the first request got.
type buyerClaimCreated struct {
	claimFiling
	Evidence  []buyerEvidence `json:"evidence"`
	CreatedAt time.Time       `json:"created_at"`
}

// intakeStatus is the status every accepted claim starts in: its photos are stored and
// its analysis is queued.
const intakeStatus = claim.StatusAnalyzing

// toClaimCreated renders the creation response from the claim and the photos filed with
// it: the first n buyer photos, n being the number of photos in the (identical) request.
func toClaimCreated(c claim.Claim, evidence []claim.Evidence, photos int) buyerClaimCreated {
	out := buyerClaimCreated{claimFiling: toFiling(c, intakeStatus), CreatedAt: c.CreatedAt, Evidence: []buyerEvidence{}}
	for _, e := range evidence {
		if len(out.Evidence) == photos {
			break
		}
		if e.Source == claim.SourceBuyer {
			out.Evidence = append(out.Evidence, buyerEvidence{ID: e.ID, CreatedAt: e.CreatedAt})
		}
	}
	return out
}

// buyerEvidence is a buyer's own photo: an id to refer to, nothing learnt from it.
type buyerEvidence struct {
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"created_at"`
}

type buyerEvidenceList struct {
	Evidence []buyerEvidence `json:"evidence"`
}

func toBuyerEvidenceList(es []claim.Evidence) buyerEvidenceList {
	out := buyerEvidenceList{Evidence: make([]buyerEvidence, 0, len(es))}
	for _, e := range es {
		out.Evidence = append(out.Evidence, buyerEvidence{ID: e.ID, CreatedAt: e.CreatedAt})
	}
	return out
}

// buyerClaimSummary is a claim in a buyer's list and the answer to a withdrawal.
type buyerClaimSummary struct {
	claimCore
	BuyerDeadline  *time.Time `json:"buyer_deadline"`
	AppealDeadline *time.Time `json:"appeal_deadline"`
}

func toBuyerSummary(c claim.Claim) buyerClaimSummary {
	return buyerClaimSummary{claimCore: toCore(c), BuyerDeadline: c.BuyerDeadline, AppealDeadline: c.AppealDeadline}
}

// buyerClaim is GET /v1/claims/{id} for the buyer: no findings, risk, hashes, metadata,
// rule traces or the merchant's counter-evidence. They would teach a forger what gave the
// photo away.
type buyerClaim struct {
	buyerClaimSummary
	Evidence []buyerEvidence `json:"evidence"`
	Decision *outcomeDTO     `json:"decision"`
}

func toBuyerClaim(d claimDetails) buyerClaim {
	out := buyerClaim{buyerClaimSummary: toBuyerSummary(d.Claim), Evidence: []buyerEvidence{}, Decision: latestOutcome(d.Decisions)}
	for _, e := range d.Evidence {
		if e.Source == claim.SourceBuyer {
			out.Evidence = append(out.Evidence, buyerEvidence{ID: e.ID, CreatedAt: e.CreatedAt})
		}
	}
	return out
}

// ---- merchant ----

type merchantClaimSummary struct {
	claimCore
	BuyerID          string     `json:"buyer_id"`
	MerchantDeadline *time.Time `json:"merchant_deadline"`
	AppealDeadline   *time.Time `json:"appeal_deadline"`
}

func toMerchantSummary(c claim.Claim) merchantClaimSummary {
	return merchantClaimSummary{claimCore: toCore(c), BuyerID: c.BuyerID, MerchantDeadline: c.MerchantDeadline, AppealDeadline: c.AppealDeadline}
}

// findingSummary is what a merchant learns about a finding: what was found and how
// serious it is, not where or with which scores.
type findingSummary struct {
	Code     string `json:"code"`
	Severity string `json:"severity"`
}

// merchantEvidence lets the merchant see what the buyer sent (the content and heatmap
// endpoints serve the pixels) and the gist of the analysis, to answer the claim.
type merchantEvidence struct {
	ID         string               `json:"id"`
	Source     claim.EvidenceSource `json:"source"`
	Format     string               `json:"format"`
	Width      int                  `json:"width"`
	Height     int                  `json:"height"`
	Analyzed   bool                 `json:"analyzed"`
	Findings   []findingSummary     `json:"findings"`
	ContentURL string               `json:"content_url"`
	HeatmapURL string               `json:"heatmap_url,omitempty"`
	CreatedAt  time.Time            `json:"created_at"`
}

type responseDTO struct {
	ID          string    `json:"id"`
	ClaimID     string    `json:"claim_id"`
	Statement   string    `json:"statement"`
	EvidenceIDs []string  `json:"evidence_ids"`
	CreatedAt   time.Time `json:"created_at"`
}

func toResponse(r claim.Response) responseDTO {
	return responseDTO{ID: r.ID, ClaimID: r.ClaimID, Statement: r.Statement, EvidenceIDs: orEmpty(r.EvidenceIDs), CreatedAt: r.CreatedAt}
}

func toResponses(rs []claim.Response) []responseDTO {
	out := make([]responseDTO, len(rs))
	for i, r := range rs {
		out[i] = toResponse(r)
	}
	return out
}

type merchantClaim struct {
	merchantClaimSummary
	Evidence  []merchantEvidence `json:"evidence"`
	Responses []responseDTO      `json:"responses"`
	Decision  *outcomeDTO        `json:"decision"`
}

func toMerchantClaim(d claimDetails) merchantClaim {
	out := merchantClaim{
		merchantClaimSummary: toMerchantSummary(d.Claim),
		Evidence:             make([]merchantEvidence, len(d.Evidence)),
		Responses:            toResponses(d.Responses),
		Decision:             latestOutcome(d.Decisions),
	}
	for i, e := range d.Evidence {
		rep := parseReport(e.Report)
		me := merchantEvidence{
			ID: e.ID, Source: e.Source, Format: e.Format, Width: e.Width, Height: e.Height,
			Analyzed: rep.analyzed, Findings: make([]findingSummary, len(rep.findings)),
			ContentURL: evidenceURL(e.ID, "content"), CreatedAt: e.CreatedAt,
		}
		for j, f := range rep.findings {
			me.Findings[j] = findingSummary{Code: f.Code, Severity: f.Severity}
		}
		if e.HeatmapSHA != "" {
			me.HeatmapURL = evidenceURL(e.ID, "heatmap")
		}
		out.Evidence[i] = me
	}
	return out
}

func evidenceURL(id, what string) string { return "/v1/evidence/" + id + "/" + what }

// ---- reviewers and admins ----

type staffClaimSummary struct {
	claimCore
	BuyerID          string     `json:"buyer_id"`
	MerchantID       string     `json:"merchant_id"`
	Risk             int        `json:"risk"`
	MerchantDeadline *time.Time `json:"merchant_deadline"`
	BuyerDeadline    *time.Time `json:"buyer_deadline"`
	AppealDeadline   *time.Time `json:"appeal_deadline"`
}

func toStaffSummary(c claim.Claim) staffClaimSummary {
	return staffClaimSummary{
		claimCore: toCore(c), BuyerID: c.BuyerID, MerchantID: c.MerchantID, Risk: c.Risk,
		MerchantDeadline: c.MerchantDeadline, BuyerDeadline: c.BuyerDeadline, AppealDeadline: c.AppealDeadline,
	}
}

// staffEvidence is the whole story of one photo: identity, hashes, and the forensic report
// of DESIGN.md §2, with its findings lifted to the top for convenience.
type staffEvidence struct {
	ID     string               `json:"id"`
	Source claim.EvidenceSource `json:"source"`
	photoFacts
	Analyzed   bool              `json:"analyzed"`
	Risk       int               `json:"risk"`
	Findings   []json.RawMessage `json:"findings"`
	Report     json.RawMessage   `json:"report"`
	ContentURL string            `json:"content_url"`
	HeatmapURL string            `json:"heatmap_url,omitempty"`
	CreatedAt  time.Time         `json:"created_at"`
}

// decisionDTO is a decision in full: the route and every rule evaluated with its inputs
// (for rule decisions), the outcome (for reviewer decisions), and who decided.
type decisionDTO struct {
	ID             string          `json:"id"`
	Route          claim.Route     `json:"route,omitempty"`
	Outcome        claim.Outcome   `json:"outcome,omitempty"`
	Amount         *claim.Money    `json:"amount,omitempty"`
	ReasonCode     string          `json:"reason_code,omitempty"`
	Note           string          `json:"note,omitempty"`
	RuleSetVersion string          `json:"rule_set_version,omitempty"`
	Rules          []claim.RuleHit `json:"rules"`
	DecidedBy      string          `json:"decided_by"`
	DecidedAt      time.Time       `json:"decided_at"`
	// Pending marks a rejection waiting for a second reviewer (four eyes).
	Pending bool `json:"pending,omitempty"`
}

func toDecision(d claim.Decision) decisionDTO {
	return decisionDTO{
		ID: d.ID, Route: d.Route, Outcome: d.Outcome, Amount: d.Amount, ReasonCode: d.ReasonCode, Note: d.Note,
		RuleSetVersion: d.RuleSetVersion, Rules: orEmpty(d.Rules), DecidedBy: d.DecidedBy, DecidedAt: d.CreatedAt,
		Pending: d.Pending,
	}
}

type auditEventDTO struct {
	Seq      int64           `json:"seq"`
	Time     time.Time       `json:"time"`
	Actor    string          `json:"actor"`
	Action   string          `json:"action"`
	Entity   string          `json:"entity"`
	EntityID string          `json:"entity_id"`
	Before   json.RawMessage `json:"before"`
	After    json.RawMessage `json:"after"`
	PrevHash string          `json:"prev_hash"`
	Hash     string          `json:"hash"`
}

type staffClaim struct {
	staffClaimSummary
	Order     orderDTO        `json:"order"`
	Evidence  []staffEvidence `json:"evidence"`
	Decision  *decisionDTO    `json:"decision"`
	Decisions []decisionDTO   `json:"decisions"`
	Responses []responseDTO   `json:"responses"`
	Appeals   []appealDTO     `json:"appeals"`
	Timeline  []auditEventDTO `json:"timeline"`
}

func toStaffClaim(d claimDetails) staffClaim {
	out := staffClaim{
		staffClaimSummary: toStaffSummary(d.Claim),
		Order:             toOrder(d.Order),
		Evidence:          make([]staffEvidence, len(d.Evidence)),
		Decisions:         make([]decisionDTO, len(d.Decisions)),
		Responses:         toResponses(d.Responses),
		Appeals:           toAppeals(d.Appeals),
		Timeline:          make([]auditEventDTO, len(d.Timeline)),
	}
	for i, e := range d.Evidence {
		rep := parseReport(e.Report)
		se := staffEvidence{
			ID: e.ID, Source: e.Source, Analyzed: rep.analyzed,
			photoFacts: photoFacts{SHA256: e.SHA256, Format: e.Format, Width: e.Width, Height: e.Height, Size: e.Size, Hashes: e.Hashes}, Risk: e.Risk, Findings: rep.raw,
			Report: rep.report, ContentURL: evidenceURL(e.ID, "content"), CreatedAt: e.CreatedAt,
		}
		if e.HeatmapSHA != "" {
			se.HeatmapURL = evidenceURL(e.ID, "heatmap")
		}
		out.Evidence[i] = se
	}
	for i, dec := range d.Decisions {
		out.Decisions[i] = toDecision(dec)
	}
	if n := len(out.Decisions); n > 0 {
		latest := out.Decisions[n-1]
		out.Decision = &latest
	}
	for i, ev := range d.Timeline {
		out.Timeline[i] = auditEventDTO{
			Seq: ev.Seq, Time: ev.Time, Actor: ev.Actor, Action: ev.Action, Entity: ev.Entity, EntityID: ev.EntityID,
			Before: rawOrNull(ev.Before), After: rawOrNull(ev.After), PrevHash: ev.PrevHash, Hash: ev.Hash,
		}
	}
	return out
}

// ---- forensic reports ----

// parsedReport is what the DTOs take from a stored per-evidence report (DESIGN.md §2).
type parsedReport struct {
	analyzed bool
	report   json.RawMessage   // the whole report, or JSON null before analysis
	raw      []json.RawMessage // its findings, verbatim
	findings []findingSummary
}

func parseReport(r json.RawMessage) parsedReport {
	out := parsedReport{report: json.RawMessage("null"), raw: []json.RawMessage{}}
	if len(r) == 0 || string(r) == "null" {
		return out
	}
	var doc struct {
		Findings []json.RawMessage `json:"findings"`
	}
	if err := json.Unmarshal(r, &doc); err != nil {
		// A report the service stored is valid JSON; if not, show staff the bytes as a
		// string rather than failing the whole claim.
		quoted, _ := json.Marshal(string(r))
		out.analyzed, out.report = true, quoted
		return out
	}
	out.analyzed, out.report = true, r
	for _, f := range doc.Findings {
		var s findingSummary
		if json.Unmarshal(f, &s) == nil {
			out.findings = append(out.findings, s)
			out.raw = append(out.raw, f)
		}
	}
	return out
}

func rawOrNull(r json.RawMessage) json.RawMessage {
	if len(r) == 0 {
		return json.RawMessage("null")
	}
	return r
}

// ---- lists ----

type claimList[T any] struct {
	Claims     []T    `json:"claims"`
	NextCursor string `json:"next_cursor"`
}
