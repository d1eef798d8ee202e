package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/refundguard/refundguard/forensics"
	"github.com/refundguard/refundguard/pkg/adjudicate"
	"github.com/refundguard/refundguard/pkg/console"
	"github.com/refundguard/refundguard/pkg/httpapi"
	"github.com/refundguard/refundguard/pkg/store"
	"github.com/refundguard/refundguard/rules"
)

const serveUsage = `usage: refundguard serve [flags]

Runs the HTTP API and the forensic analysis workers. Data lives under --data-dir: the SQLite
database (unless --db names a PostgreSQL database) and the evidence files. On SIGINT or
SIGTERM it stops accepting requests, lets those in flight finish, lets running analyses finish
within --shutdown-timeout and puts the rest back in the queue for the next start.

`

// serveConfig is everything serve is configured with.
type serveConfig struct {
	data            dataFlags
	addr            string
	workers         int
	maxPhotos       int
	maxPhotoBytes   int64
	maxPhotoPixels  int64
	ela             bool
	referenceCache  byteSize
	shutdownTimeout time.Duration
	lease           time.Duration
	logLevel        string
	logFormat       string

	rulesFile      string
	reviewLease    time.Duration
	fourEyes       int64
	appealWindow   time.Duration
	evidenceWindow time.Duration
	sweepInterval  time.Duration
	secureCookies  bool
}

func (c *serveConfig) register(fs *flag.FlagSet) {
	c.data.register(fs)
	fs.StringVar(&c.addr, "addr", ":8080", "listen address")
	fs.IntVar(&c.workers, "workers", runtime.NumCPU(), "forensic analyses running at once")
	fs.IntVar(&c.maxPhotos, "max-photos", 9, "photos per request")
	fs.Int64Var(&c.maxPhotoBytes, "max-photo-bytes", 20<<20, "bytes per photo")
	fs.Int64Var(&c.maxPhotoPixels, "max-photo-pixels", 50_000_000, "pixels per photo")
	fs.BoolVar(&c.ela, "ela", false, "also run error-level analysis on JPEG evidence (ela_anomaly; costs about 2.4 decodes per photo)")
	c.referenceCache = 256 << 20
	fs.Var(&c.referenceCache, "reference-cache", "memory for decoded reference photos kept between analyses, in bytes or with a unit (256MB, 1GB); 0 decodes them for every claim")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 30*time.Second, "how long requests and analyses in flight may take to finish on shutdown")
	fs.DurationVar(&c.lease, "analysis-lease", time.Minute, "how long a dead worker's analysis job waits before another instance takes it")
	fs.StringVar(&c.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&c.logFormat, "log-format", "json", "json or text")
	fs.StringVar(&c.rulesFile, "rules", "", "routing rule set (YAML) to activate at start; default: the embedded policy, activated only when the database has no active set")
	fs.DurationVar(&c.reviewLease, "review-lease", 15*time.Minute, "how long a reviewer holds a task without a heartbeat")
	fs.Int64Var(&c.fourEyes, "four-eyes-threshold", 300000, "rejections of claims of at least this much (minor units of CNY) need a second reviewer")
	fs.DurationVar(&c.appealWindow, "appeal-window", 15*24*time.Hour, "how long after a decision the buyer or merchant may appeal")
	fs.DurationVar(&c.evidenceWindow, "evidence-window", 72*time.Hour, "how long a buyer asked for more photos has to send them")
	fs.DurationVar(&c.sweepInterval, "sweep-interval", time.Minute, "how often passed deadlines are swept")
	fs.BoolVar(&c.secureCookies, "secure-cookies", false, "mark the reviewer console's cookies Secure (set when it is reached over HTTPS)")
}

func (c *serveConfig) validate() error {
	switch {
	case c.workers < 1:
		return usageError("serve: --workers must be at least 1")
	case c.maxPhotos < 1 || c.maxPhotoBytes < 1 || c.maxPhotoPixels < 1:
		return usageError("serve: the photo limits must be positive")
	case c.shutdownTimeout <= 0 || c.lease < 3*time.Second:
		return usageError("serve: --shutdown-timeout must be positive and --analysis-lease at least 3s")
	case c.logFormat != "json" && c.logFormat != "text":
		return usageError("serve: --log-format must be json or text")
	case c.reviewLease < time.Minute || c.fourEyes < 1 || c.appealWindow <= 0 || c.evidenceWindow <= 0 || c.sweepInterval < time.Second:
		return usageError("serve: --review-lease must be at least 1m, --four-eyes-threshold positive, the windows positive and --sweep-interval at least 1s")
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.logLevel)); err != nil {
		return usageError("serve: --log-level: %v", err)
	}
	return nil
}

func (c *serveConfig) logger(w io.Writer) *slog.Logger {
	var lvl slog.Level
	lvl.UnmarshalText([]byte(c.logLevel))
	opts := &slog.HandlerOptions{Level: lvl}
	if c.logFormat == "text" {
		return slog.New(httpapi.LogRequestIDs(slog.NewTextHandler(w, opts)))
	}
	return slog.New(httpapi.LogRequestIDs(slog.NewJSONHandler(w, opts)))
}

func runServe(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	withEnvHelp(fs, stderr, serveUsage)
	var cfg serveConfig
	cfg.register(fs)
	if err := parseFlags(fs, args, env); err != nil {
		if errors.Is(err, errHelp) {
			return nil
		}
		return err
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	log := cfg.logger(stderr)

	set, err := loadRuleSet(cfg.rulesFile)
	if err != nil {
		return err
	}
	reg := httpapi.NewRegistry()
	// One cache for every worker: a product's catalog photos are decoded once for all the
	// claims on it, not once per analysis.
	refCache := forensics.NewReferenceCache(int64(cfg.referenceCache))
	if refCache != nil {
		httpapi.NewReferenceCacheMetrics(reg, refCache)
	}
	svc, parts, err := openService(ctx, cfg.data, adjudicate.Config{
		Logger:        log,
		Limits:        adjudicate.Limits{MaxPhotos: cfg.maxPhotos, MaxPhotoBytes: cfg.maxPhotoBytes},
		Observer:      httpapi.NewAnalysisMetrics(reg),
		Rules:         set,
		RulesExplicit: cfg.rulesFile != "",
		Review: adjudicate.ReviewOptions{Lease: cfg.reviewLease, FourEyesThreshold: cfg.fourEyes,
			AppealWindow: cfg.appealWindow, EvidenceWindow: cfg.evidenceWindow},
	}, forensics.AnalyzerOptions{MaxBytes: cfg.maxPhotoBytes, MaxPixels: cfg.maxPhotoPixels, ELA: cfg.ela,
		ReferenceCache: refCache})
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	defer parts.store.Close()
	// The active rule set and the duplicate-evidence index are ready before the first request.
	if err := svc.Prepare(ctx); err != nil {
		return fmt.Errorf("serve: %w", err)
	}

	cons, err := console.New(console.Options{Service: svc, Logger: log, Clock: time.Now, SecureCookies: cfg.secureCookies})
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	handler := httpapi.New(httpapi.Options{Service: svc, Logger: log, Registry: reg, Console: cons,
		Limits: httpapi.Limits{MaxPhotos: cfg.maxPhotos, MaxPhotoBytes: cfg.maxPhotoBytes}})
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       5 * time.Minute, // nine 20 MB photos over a slow uplink
		WriteTimeout:      5 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}

	// The workers get a context of their own: the signal stops the leasing and starts their
	// drain only once shutdown begins, in step with the HTTP server's.
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		svc.RunSweeper(workCtx, cfg.sweepInterval)
	}()
	go func() {
		defer wg.Done()
		svc.RunWorkers(workCtx, adjudicate.WorkerOptions{
			Workers: cfg.workers, Lease: cfg.lease, Drain: cfg.shutdownTimeout,
			// A SQLite database has one service on it: leases held at start are this
			// service's own from before a crash, so their jobs run again at once.
			ReclaimOnStart: !store.IsPostgres(cfg.data.dsn()),
		})
	}()
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	log.Info("refundguard serving", "addr", ln.Addr().String(), "database", parts.store.Dialect(),
		"data_dir", cfg.data.dataDir, "workers", cfg.workers, "reference_cache", cfg.referenceCache.String())

	var runErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down: draining requests and analyses", "timeout", cfg.shutdownTimeout.String())
	case err := <-serveErr:
		runErr = fmt.Errorf("serve: %w", err)
	}
	stopWork()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		log.Warn("requests still running at the shutdown timeout were cut off", "error", err)
		srv.Close()
	}
	wg.Wait()
	log.Info("refundguard stopped")
	return runErr
}

// loadRuleSet compiles --rules FILE (nil for the embedded default); a refused set is a usage
// error naming every problem.
func loadRuleSet(path string) (*rules.RuleSet, error) {
	if path == "" {
		return nil, nil
	}
	set, err := rules.LoadFile(path)
	var ce *rules.CompileError
	if errors.As(err, &ce) {
		var b strings.Builder
		for _, p := range ce.Problems {
			b.WriteString("\n  " + p.String())
		}
		return nil, usageError("serve: --rules %s: rule set refused:%s", path, b.String())
	}
	if err != nil {
		return nil, usageError("serve: --rules: %v", err)
	}
	return set, nil
}
