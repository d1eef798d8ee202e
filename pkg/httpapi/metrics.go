package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/refundguard/refundguard/forensics"
	"github.com/refundguard/refundguard/pkg/claim"
)

// latencyBuckets reach a minute: a request with nine 20 MB photos over a slow uplink is
// legitimately slow, and lumping it into +Inf would hide it.
var latencyBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}

// NewRegistry returns a private Prometheus registry with the Go runtime and process
// collectors, for New's Options.Registry and NewAnalysisMetrics to share.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// AnalysisMetrics turns the analysis workers' reports into a histogram of job durations by
// outcome. It implements adjudicate.Observer; hand it to adjudicate.Config.Observer and
// register it on the registry /metrics serves.
type AnalysisMetrics struct {
	durations *prometheus.HistogramVec
}

// analysisBuckets span a small photo (tens of ms) to a slow 50 MP one against many references.
var analysisBuckets = []float64{.05, .1, .25, .5, 1, 2, 4, 8, 15, 30, 60, 120}

// NewAnalysisMetrics registers refundguard_analysis_duration_seconds{outcome} on reg.
func NewAnalysisMetrics(reg prometheus.Registerer) *AnalysisMetrics {
	m := &AnalysisMetrics{durations: prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "refundguard",
		Subsystem: "analysis",
		Name:      "duration_seconds",
		Help:      "Forensic analysis job runs by outcome (done, retry, failed, released), with their duration.",
		Buckets:   analysisBuckets,
	}, []string{"outcome"})}
	reg.MustRegister(m.durations)
	return m
}

// AnalysisFinished records one job run.
func (m *AnalysisMetrics) AnalysisFinished(outcome string, d time.Duration) {
	m.durations.WithLabelValues(outcome).Observe(d.Seconds())
}

// referenceCacheCollector reads the analysis workers' reference cache at scrape time.
type referenceCacheCollector struct{ cache *forensics.ReferenceCache }

var (
	refCacheHits      = prometheus.NewDesc("refundguard_reference_cache_hits_total", "Reference photo decodes served from the cache (or shared with an analysis decoding the same photo).", nil, nil)
	refCacheMisses    = prometheus.NewDesc("refundguard_reference_cache_misses_total", "Reference photos read and decoded because the cache did not hold them.", nil, nil)
	refCacheEvictions = prometheus.NewDesc("refundguard_reference_cache_evictions_total", "Decoded reference photos dropped to stay within the cache's budget.", nil, nil)
	refCacheBytes     = prometheus.NewDesc("refundguard_reference_cache_bytes", "Bytes of decoded reference photos the cache holds.", nil, nil)
	refCacheMaxBytes  = prometheus.NewDesc("refundguard_reference_cache_max_bytes", "The cache's budget (serve --reference-cache).", nil, nil)
	refCacheEntries   = prometheus.NewDesc("refundguard_reference_cache_entries", "Decoded reference photos the cache holds.", nil, nil)
)

// NewReferenceCacheMetrics registers refundguard_reference_cache_* on reg: hits, misses and
// evictions counters and the bytes, budget and entries held, read from cache at each scrape.
func NewReferenceCacheMetrics(reg prometheus.Registerer, cache *forensics.ReferenceCache) {
	reg.MustRegister(&referenceCacheCollector{cache: cache})
}

func (c *referenceCacheCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{refCacheHits, refCacheMisses, refCacheEvictions, refCacheBytes, refCacheMaxBytes, refCacheEntries} {
		ch <- d
	}
}

func (c *referenceCacheCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.cache.Stats()
	ch <- prometheus.MustNewConstMetric(refCacheHits, prometheus.CounterValue, float64(st.Hits))
	ch <- prometheus.MustNewConstMetric(refCacheMisses, prometheus.CounterValue, float64(st.Misses))
	ch <- prometheus.MustNewConstMetric(refCacheEvictions, prometheus.CounterValue, float64(st.Evictions))
	ch <- prometheus.MustNewConstMetric(refCacheBytes, prometheus.GaugeValue, float64(st.Bytes))
	ch <- prometheus.MustNewConstMetric(refCacheMaxBytes, prometheus.GaugeValue, float64(st.MaxBytes))
	ch <- prometheus.MustNewConstMetric(refCacheEntries, prometheus.GaugeValue, float64(st.Entries))
}

// httpMetrics are the per-request series. Routes are labelled by template, never by raw
// path, so label cardinality is bounded by the route table.
type httpMetrics struct {
	requests *prometheus.HistogramVec
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "refundguard",
			Subsystem: "http",
			Name:      "request_duration_seconds",
			Help:      "HTTP requests by route template, method and status, with their latency (the _count series counts requests).",
			Buckets:   latencyBuckets,
		}, []string{"route", "method", "status"}),
	}
	reg.MustRegister(m.requests)
	return m
}

// knownMethods keep the method label bounded too.
var knownMethods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodPatch: true, http.MethodDelete: true, http.MethodOptions: true,
}

func (m *httpMetrics) observe(route, method string, status int, d time.Duration) {
	if !knownMethods[method] {
		method = "OTHER"
	}
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Observe(d.Seconds())
}

// serviceCollector reads the service's figures at scrape time, so the gauges are as fresh
// as the scrape and nothing polls in the background.
type serviceCollector struct {
	svc     Service
	timeout time.Duration
	log     *slog.Logger
}

var (
	claimsDesc = prometheus.NewDesc("refundguard_claims", "Claims by status.", []string{"status"}, nil)
	queueDesc  = prometheus.NewDesc("refundguard_analysis_queue_depth", "Analysis jobs waiting or running.", nil, nil)
	statsUp    = prometheus.NewDesc("refundguard_service_stats_up", "1 when the last scrape could read the service's figures, 0 when it could not.", nil, nil)
)

func (s *serviceCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- claimsDesc
	ch <- queueDesc
	ch <- statsUp
}

func (s *serviceCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	st, err := s.svc.Stats(ctx)
	if err != nil {
		// Report the failure as a series instead of failing the scrape: the HTTP and
		// runtime metrics are still worth having when the database is down.
		s.log.Warn("metrics: service stats unavailable", "error", cleanForLog(err.Error()))
		ch <- prometheus.MustNewConstMetric(statsUp, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(statsUp, prometheus.GaugeValue, 1)
	for status, n := range st.ClaimsByStatus {
		ch <- prometheus.MustNewConstMetric(claimsDesc, prometheus.GaugeValue, float64(n), string(status))
	}
	ch <- prometheus.MustNewConstMetric(queueDesc, prometheus.GaugeValue, float64(st.QueueDepth))
}

// newMetricsHandler serves the registry; ContinueOnError keeps a scrape useful when one
// collector fails.
func newMetricsHandler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

func (a *API) serveMetrics(c *gin.Context, _ claim.Principal) error {
	a.metricsHandler.ServeHTTP(c.Writer, c.Request)
	return nil
}
