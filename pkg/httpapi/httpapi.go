// Package httpapi is refundguard's JSON-over-HTTP API, built on Gin: the route table
// (routes.go), thin handlers that decode, call the claims service and encode role-specific
// DTOs, the one mapping from claim.Code to HTTP status with RFC 9457 problem bodies
// (errors.go), and the middleware every request passes through: request ids, structured
// access logs, panic recovery, bearer-key authentication, body limits and Prometheus
// metrics. The OpenAPI 3 description of the routes is embedded and served at /openapi.json.
//
// The package holds no global state: cmd/refundguard builds the service and hands it to
// New together with a logger, limits, a metrics registry and a clock.
package httpapi

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/semaphore"

	"github.com/refundguard/refundguard/pkg/adjudicate"
	"github.com/refundguard/refundguard/pkg/claim"
)

// Service is what the handlers call: the subset of adjudicate.Transport this package
// uses, with identical signatures, so *adjudicate.Service satisfies it and tests can
// supply their own.
type Service interface {
	Authenticate(ctx context.Context, secret string) (claim.Principal, error)
	CreateKey(ctx context.Context, by claim.Principal, role claim.Role, subject string) (claim.APIKey, string, error)
	RevokeKey(ctx context.Context, by claim.Principal, id string) error

	CreateOrder(ctx context.Context, p claim.Principal, in adjudicate.OrderInput) (claim.Order, error)
	UpdateOrder(ctx context.Context, p claim.Principal, id string, patch adjudicate.OrderPatch) (claim.Order, error)
	GetOrder(ctx context.Context, p claim.Principal, id string) (claim.Order, error)
	AddOrderImages(ctx context.Context, p claim.Principal, orderID string, kind claim.ImageKind, photos []adjudicate.Upload) ([]claim.ReferenceImage, error)
	AddProductImages(ctx context.Context, p claim.Principal, sku string, photos []adjudicate.Upload) ([]claim.ReferenceImage, error)

	FileClaim(ctx context.Context, p claim.Principal, in adjudicate.ClaimInput) (adjudicate.ClaimDetails, error)
	GetClaim(ctx context.Context, p claim.Principal, id string) (adjudicate.ClaimDetails, error)
	ListClaims(ctx context.Context, p claim.Principal, f adjudicate.ClaimFilter) (adjudicate.ClaimPage, error)
	RespondToClaim(ctx context.Context, p claim.Principal, claimID, statement string, photos []adjudicate.Upload) (claim.Response, error)
	AddEvidence(ctx context.Context, p claim.Principal, claimID string, photos []adjudicate.Upload) ([]claim.Evidence, error)
	WithdrawClaim(ctx context.Context, p claim.Principal, claimID string) (claim.Claim, error)
	EvidenceContent(ctx context.Context, p claim.Principal, evidenceID string, heatmap bool) (adjudicate.Content, error)

	Ready(ctx context.Context) error
	Stats(ctx context.Context) (adjudicate.Stats, error)

	ReviewService
}

// Limits bound what one request may carry. Zero values take the defaults.
type Limits struct {
	MaxPhotos      int   // photos per request (default 9)
	MaxPhotoBytes  int64 // bytes per photo (default 20 MiB); the service also refuses over 50 MP
	MaxFieldBytes  int64 // bytes per multipart text field (default 64 KiB)
	MaxJSONBytes   int64 // JSON request bodies (default 1 MiB)
	MaxUploadBytes int64 // whole multipart bodies (default MaxPhotos*MaxPhotoBytes + 1 MiB)
	// UploadMemory bounds the upload bytes held in memory by all requests at once (photos
	// are read whole before the service checks them). A request reserves its declared
	// Content-Length, or MaxUploadBytes when it declares none, and waits while the budget is
	// spent. Default 2*MaxUploadBytes: two maximal uploads, or dozens of ordinary ones.
	UploadMemory int64
}

// WithDefaults fills the zero fields with the limits of the API contract: 9 photos of at
// most 20 MiB each, 64 KiB per text field, 1 MiB of JSON.
func (l Limits) WithDefaults() Limits {
	if l.MaxPhotos <= 0 {
		l.MaxPhotos = 9
	}
	if l.MaxPhotoBytes <= 0 {
		l.MaxPhotoBytes = 20 << 20
	}
	if l.MaxFieldBytes <= 0 {
		l.MaxFieldBytes = 64 << 10
	}
	if l.MaxJSONBytes <= 0 {
		l.MaxJSONBytes = 1 << 20
	}
	if l.MaxUploadBytes <= 0 {
		l.MaxUploadBytes = int64(l.MaxPhotos)*l.MaxPhotoBytes + 1<<20
	}
	if l.UploadMemory <= 0 {
		l.UploadMemory = 2 * l.MaxUploadBytes
	}
	return l
}

// Options configure New. Service is required; everything else has a default.
type Options struct {
	Service Service
	// Logger receives access logs and the causes of internal errors (default: discarded),
	// each with its request_id; see LogRequestIDs to give the service's logs the same.
	Logger *slog.Logger
	Limits Limits
	// Registry receives the HTTP and service metrics and is what /metrics serves. Nil
	// creates one with NewRegistry; pass your own (from NewRegistry) to share it with
	// NewAnalysisMetrics and any other collector.
	Registry *prometheus.Registry
	// Now is the clock for request latencies (default time.Now).
	Now func() time.Time
	// StatsTimeout bounds the service.Stats call made at each scrape (default 5s).
	StatsTimeout time.Duration
	// Console, when set, serves everything under /console (the reviewer console,
	// console.New); it runs behind the same request-id, logging and metrics middleware.
	Console http.Handler
}

// API is the HTTP handler New returns.
type API struct {
	svc            Service
	log            *slog.Logger
	limits         Limits
	now            func() time.Time
	registry       *prometheus.Registry
	metrics        *httpMetrics
	metricsHandler http.Handler
	openapiJSON    []byte
	engine         *gin.Engine
	routes         []route
	console        http.Handler
	// uploads is the UploadMemory budget, in bytes.
	uploads *semaphore.Weighted
}

// ginReleaseMode is set once: Gin only has a process-wide mode switch, and its debug mode
// prints every route to stdout behind slog's back.
var ginReleaseMode sync.Once

// New builds the API: every route of routes.go with its middleware, /healthz, /readyz,
// /metrics and /openapi.json. It panics if opts.Service is nil or the metrics cannot be
// registered in opts.Registry (programming errors in the wiring).
func New(opts Options) *API {
	if opts.Service == nil {
		panic("httpapi: Options.Service is required")
	}
	ginReleaseMode.Do(func() { gin.SetMode(gin.ReleaseMode) })
	a := &API{
		svc:      opts.Service,
		log:      opts.Logger,
		limits:   opts.Limits.WithDefaults(),
		now:      opts.Now,
		registry: opts.Registry,
		console:  opts.Console,
	}
	if a.log == nil {
		a.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	a.log = slog.New(LogRequestIDs(a.log.Handler()))
	if a.now == nil {
		a.now = time.Now
	}
	if a.registry == nil {
		a.registry = NewRegistry()
	}
	statsTimeout := opts.StatsTimeout
	if statsTimeout <= 0 {
		statsTimeout = 5 * time.Second
	}
	a.uploads = semaphore.NewWeighted(a.limits.UploadMemory)
	a.metrics = newHTTPMetrics(a.registry)
	a.registry.MustRegister(&serviceCollector{svc: a.svc, timeout: statsTimeout, log: a.log})
	a.metricsHandler = newMetricsHandler(a.registry)
	doc, err := OpenAPI()
	if err != nil {
		panic("httpapi: the embedded OpenAPI document is broken: " + err.Error())
	}
	a.openapiJSON = doc
	a.routes = a.routeTable()
	a.engine = a.buildEngine()
	return a
}

// ServeHTTP implements http.Handler.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.engine.ServeHTTP(w, r) }
