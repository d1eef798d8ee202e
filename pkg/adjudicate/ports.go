package adjudicate

// The interfaces the service consumes, declared here by their consumer (pkg/store, pkg/blob
// and forensics implement them; service_test.go checks that at compile time).

import (
	"context"
	"io"
	"time"

	"github.com/refundguard/refundguard/forensics"
	"github.com/refundguard/refundguard/pkg/claim"
)

// Store is the database. Methods return *claim.Error values: CodeNotFound for a missing
// record, never a zero value with a nil error.
//
// InTx runs fn in one transaction; the Store methods called with the context fn receives
// take part in it. Inside fn, use that context only.
type Store interface {
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
	Ping(ctx context.Context) error
	KeyStore
	OrderStore
	ClaimStore
	JobQueue
	AuditLog
	ReviewStore
}

// KeyStore keeps API keys (hashes only).
type KeyStore interface {
	CreateKey(ctx context.Context, k claim.APIKey) (claim.APIKey, error)
	KeyByHash(ctx context.Context, hash string) (claim.APIKey, error)
	GetKey(ctx context.Context, id string) (claim.APIKey, error)
	RevokeKey(ctx context.Context, id string, at time.Time) (claim.APIKey, error)
}

// OrderStore keeps orders and merchants' reference photos.
type OrderStore interface {
	CreateOrder(ctx context.Context, o claim.Order) (claim.Order, error)
	GetOrder(ctx context.Context, id string) (claim.Order, error)
	GetOrderForUpdate(ctx context.Context, id string) (claim.Order, error)
	UpdateOrderTimes(ctx context.Context, o claim.Order) (claim.Order, error)
	CreateReferenceImage(ctx context.Context, img claim.ReferenceImage) (claim.ReferenceImage, error)
	GetReferenceImage(ctx context.Context, id string) (claim.ReferenceImage, error)
	OrderImages(ctx context.Context, orderID string) ([]claim.ReferenceImage, error)
	ProductImages(ctx context.Context, merchantID string, skus []string) ([]claim.ReferenceImage, error)
}

// ClaimStore keeps claims, their evidence and merchant responses.
type ClaimStore interface {
	CreateClaim(ctx context.Context, c claim.Claim) (claim.Claim, error)
	GetClaim(ctx context.Context, id string) (claim.Claim, error)
	GetClaimForUpdate(ctx context.Context, id string) (claim.Claim, error)
	ClaimByIdempotencyKey(ctx context.Context, buyerID, key string) (claim.Claim, error)
	// UpdateClaim stores c if the stored status is still expect (else CodeConflict).
	UpdateClaim(ctx context.Context, c claim.Claim, expect claim.Status) (claim.Claim, error)
	OpenClaimsForOrder(ctx context.Context, orderID string) ([]claim.Claim, error)
	ListClaims(ctx context.Context, q claim.ClaimQuery) ([]claim.Claim, string, error)
	ClaimCountsByStatus(ctx context.Context) (map[claim.Status]int64, error)

	CreateEvidence(ctx context.Context, e claim.Evidence) (claim.Evidence, error)
	GetEvidence(ctx context.Context, id string) (claim.Evidence, error)
	ListEvidence(ctx context.Context, claimID string) ([]claim.Evidence, error)
	SaveAnalysis(ctx context.Context, e claim.Evidence) error

	CreateResponse(ctx context.Context, r claim.Response) (claim.Response, error)
	ListResponses(ctx context.Context, claimID string) ([]claim.Response, error)
}

// JobQueue is the durable analysis queue. Lease-holding calls fail with CodeConflict once
// the lease has passed to another worker.
type JobQueue interface {
	EnqueueAnalysis(ctx context.Context, claimID string) (claim.AnalysisJob, error)
	LeaseJob(ctx context.Context, owner string, now time.Time, lease time.Duration) (claim.AnalysisJob, bool, error)
	ExtendLease(ctx context.Context, job claim.AnalysisJob, until time.Time) error
	ReleaseJob(ctx context.Context, job claim.AnalysisJob, availableAt time.Time, attempts int, lastErr string) error
	FailJob(ctx context.Context, job claim.AnalysisJob, attempts int, lastErr string) error
	CompleteJob(ctx context.Context, job claim.AnalysisJob) error
	// RequeueLeased returns every leased job to the queue (see WorkerOptions.ReclaimOnStart).
	RequeueLeased(ctx context.Context) (int64, error)
	QueueDepth(ctx context.Context) (int64, error)
}

// AuditLog is the append-only, hash-chained log.
type AuditLog interface {
	AppendAudit(ctx context.Context, e claim.AuditEvent) (claim.AuditEvent, error)
	AuditEvents(ctx context.Context, entity, entityID string) ([]claim.AuditEvent, error)
}

// Blobs stores photo bytes by content (hex sha256 keys). Put returns once the bytes are on
// stable storage. A missing blob is an error wrapping fs.ErrNotExist.
type Blobs interface {
	Put(ctx context.Context, data []byte) (string, error)
	Open(ctx context.Context, key string) (io.ReadCloser, int64, error)
	Get(ctx context.Context, key string) ([]byte, error)
	Check(ctx context.Context) error
}

// Analyzer is the forensic engine (*forensics.Analyzer).
type Analyzer interface {
	Fingerprint(ctx context.Context, data []byte) (forensics.Fingerprint, error)
	Analyze(ctx context.Context, ev forensics.Input, refs []forensics.Reference, times forensics.Times) forensics.Result
}

// Observer receives the analysis workers' measurements; pkg/httpapi turns them into
// Prometheus series. Implementations must be fast and safe for concurrent use.
type Observer interface {
	// AnalysisFinished is called once per job run with how long it took and how it ended:
	// "done" (results stored), "retry" (failed, queued again), "failed" (gave up after too
	// many attempts) or "released" (cut short by shutdown or a lost lease; runs again later).
	AnalysisFinished(outcome string, d time.Duration)
}

// Analysis outcomes passed to Observer.AnalysisFinished.
const (
	OutcomeDone     = "done"
	OutcomeRetry    = "retry"
	OutcomeFailed   = "failed"
	OutcomeReleased = "released"
)

type noObserver struct{}

func (noObserver) AnalysisFinished(string, time.Duration) {}
