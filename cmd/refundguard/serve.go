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
	"sync"
	"time"

	"github.com/refundguard/refundguard/forensics"
	"github.com/refundguard/refundguard/pkg/adjudicate"
	"github.com/refundguard/refundguard/pkg/httpapi"
	"github.com/refundguard/refundguard/pkg/store"
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
	shutdownTimeout time.Duration
	lease           time.Duration
	logLevel        string
	logFormat       string
}

func (c *serveConfig) register(fs *flag.FlagSet) {
	c.data.register(fs)
	fs.StringVar(&c.addr, "addr", ":8080", "listen address")
	fs.IntVar(&c.workers, "workers", runtime.NumCPU(), "forensic analyses running at once")
	fs.IntVar(&c.maxPhotos, "max-photos", 9, "photos per request")
	fs.Int64Var(&c.maxPhotoBytes, "max-photo-bytes", 20<<20, "bytes per photo")
	fs.Int64Var(&c.maxPhotoPixels, "max-photo-pixels", 50_000_000, "pixels per photo")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 30*time.Second, "how long requests and analyses in flight may take to finish on shutdown")
	fs.DurationVar(&c.lease, "analysis-lease", time.Minute, "how long a dead worker's analysis job waits before another instance takes it")
	fs.StringVar(&c.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&c.logFormat, "log-format", "json", "json or text")
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

	reg := httpapi.NewRegistry()
	svc, parts, err := openService(ctx, cfg.data, adjudicate.Config{
		Logger:   log,
		Limits:   adjudicate.Limits{MaxPhotos: cfg.maxPhotos, MaxPhotoBytes: cfg.maxPhotoBytes},
		Observer: httpapi.NewAnalysisMetrics(reg),
	}, forensics.AnalyzerOptions{MaxBytes: cfg.maxPhotoBytes, MaxPixels: cfg.maxPhotoPixels})
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	defer parts.store.Close()

	handler := httpapi.New(httpapi.Options{Service: svc, Logger: log, Registry: reg,
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
	wg.Add(1)
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
		"data_dir", cfg.data.dataDir, "workers", cfg.workers)

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
