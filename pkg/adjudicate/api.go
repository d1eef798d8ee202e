package adjudicate

// This file is the contract between the service and its transports (pkg/httpapi,
// pkg/console, cmd). Signatures here are what the HTTP layer calls; add methods and fields
// freely, change existing ones only together with their callers.

import (
	"context"
	"io"
	"time"

	"github.com/refundguard/refundguard/pkg/claim"
)

// Upload is a file received from a client, read within the transport's limits. Name is
// kept for display only and never reaches the file system.
type Upload struct {
	Name string
	Data []byte
}

// OrderInput registers an order (merchant).
type OrderInput struct {
	ExternalID  string
	BuyerID     string
	Amount      claim.Money
	Items       []claim.Item
	PlacedAt    time.Time
	ShippedAt   *time.Time
	DeliveredAt *time.Time
}

// OrderPatch records shipping milestones as they happen; nil fields are left alone.
type OrderPatch struct {
	ShippedAt   *time.Time
	DeliveredAt *time.Time
}

// ClaimInput files a claim (buyer).
type ClaimInput struct {
	OrderID        string
	Reason         claim.Reason
	Description    string
	Amount         int64 // minor units, in the order's currency
	RefundType     claim.RefundType
	Photos         []Upload
	IdempotencyKey string // optional; a replay with the same key and request returns the same claim
}

// ClaimDetails is everything known about a claim. Transports decide what each role may see
// (buyers never see forensic details; merchants see a summary; staff see everything).
type ClaimDetails struct {
	Claim     claim.Claim
	Order     claim.Order
	Evidence  []claim.Evidence
	Decisions []claim.Decision // oldest first
	Responses []claim.Response
	Appeals   []claim.Appeal     // oldest first
	Timeline  []claim.AuditEvent // the claim's audit events, oldest first
	// Replayed is set when FileClaim matched an earlier request with the same Idempotency-Key:
	// the transport answers exactly as it did the first time.
	Replayed bool
}

// ClaimFilter pages through the claims a principal may see.
type ClaimFilter struct {
	Status claim.Status // empty: any
	Cursor string       // opaque, from ClaimPage.NextCursor
	Limit  int          // default 50, at most 200
}

// ClaimPage is one page of claims, newest first.
type ClaimPage struct {
	Claims     []claim.Claim
	NextCursor string // empty on the last page
}

// Content is a stored photo or heatmap streamed to a client. The caller closes Body.
type Content struct {
	Body        io.ReadCloser
	ContentType string
	Size        int64
	SHA256      string
}

// Stats feed the /metrics gauges.
type Stats struct {
	ClaimsByStatus map[claim.Status]int64
	QueueDepth     int64 // analysis jobs waiting or running
}

// Transport is the method set transports call, implemented by *Service. It is declared
// here so httpapi and console can name it; they may declare narrower interfaces of their own.
type Transport interface {
	Authenticate(ctx context.Context, secret string) (claim.Principal, error)
	CreateKey(ctx context.Context, by claim.Principal, role claim.Role, subject string) (claim.APIKey, string, error)
	RevokeKey(ctx context.Context, by claim.Principal, id string) error

	CreateOrder(ctx context.Context, p claim.Principal, in OrderInput) (claim.Order, error)
	UpdateOrder(ctx context.Context, p claim.Principal, id string, patch OrderPatch) (claim.Order, error)
	GetOrder(ctx context.Context, p claim.Principal, id string) (claim.Order, error)
	AddOrderImages(ctx context.Context, p claim.Principal, orderID string, kind claim.ImageKind, photos []Upload) ([]claim.ReferenceImage, error)
	AddProductImages(ctx context.Context, p claim.Principal, sku string, photos []Upload) ([]claim.ReferenceImage, error)

	FileClaim(ctx context.Context, p claim.Principal, in ClaimInput) (ClaimDetails, error)
	GetClaim(ctx context.Context, p claim.Principal, id string) (ClaimDetails, error)
	ListClaims(ctx context.Context, p claim.Principal, f ClaimFilter) (ClaimPage, error)
	RespondToClaim(ctx context.Context, p claim.Principal, claimID, statement string, photos []Upload) (claim.Response, error)
	AddEvidence(ctx context.Context, p claim.Principal, claimID string, photos []Upload) ([]claim.Evidence, error)
	WithdrawClaim(ctx context.Context, p claim.Principal, claimID string) (claim.Claim, error)
	// EvidenceContent streams a stored evidence photo (heatmap=false) or its marked-up diff;
	// staff access is audited.
	EvidenceContent(ctx context.Context, p claim.Principal, evidenceID string, heatmap bool) (Content, error)

	Ready(ctx context.Context) error
	Stats(ctx context.Context) (Stats, error)

	ReviewTransport
	RuleSetTransport
}
