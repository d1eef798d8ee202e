package httpapi_test

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/refundguard/refundguard/forensics"
	"github.com/refundguard/refundguard/pkg/adjudicate"
	"github.com/refundguard/refundguard/pkg/blob"
	"github.com/refundguard/refundguard/pkg/httpapi"
	"github.com/refundguard/refundguard/pkg/store"
)

// ExampleNew shows the wiring `refundguard serve` does: one registry shared by the HTTP
// metrics and the analysis workers' observer, the service, and an http.Server with timeouts
// around the handler (request bodies are bounded by Options.Limits, slow clients by the
// server's timeouts).
func ExampleNew() {
	ctx := context.Background()
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	dataDir := "./data"

	st, err := store.Open(ctx, store.Config{DSN: filepath.Join(dataDir, "refundguard.db"), Logger: logger})
	if err != nil {
		logger.Error("open database", "error", err)
		return
	}
	defer st.Close()
	blobs, err := blob.Open(filepath.Join(dataDir, "blobs"))
	if err != nil {
		logger.Error("open evidence store", "error", err)
		return
	}

	reg := httpapi.NewRegistry()
	svc, err := adjudicate.New(adjudicate.Config{
		Store: st, Blobs: blobs, Analyzer: forensics.NewAnalyzer(forensics.AnalyzerOptions{}),
		Logger: logger, Observer: httpapi.NewAnalysisMetrics(reg),
	})
	if err != nil {
		logger.Error("service", "error", err)
		return
	}
	srv := &http.Server{
		Addr:              ":8080",
		Handler:           httpapi.New(httpapi.Options{Service: svc, Logger: logger, Registry: reg}),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       5 * time.Minute, // nine 20 MB photos over a slow uplink
		WriteTimeout:      5 * time.Minute,
		IdleTimeout:       2 * time.Minute,
	}
	_ = srv // srv.ListenAndServe(), with svc.RunWorkers running beside it
}
