package main

// Helpers shared by the commands that work on a service's data (serve, keys, audit):
// flags that also read REFUNDGUARD_* variables, and opening the database and evidence store
// under --data-dir.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/refundguard/refundguard/forensics"
	"github.com/refundguard/refundguard/pkg/adjudicate"
	"github.com/refundguard/refundguard/pkg/blob"
	"github.com/refundguard/refundguard/pkg/store"
)

// dataFlags are where a service keeps its data.
type dataFlags struct {
	dataDir string
	db      string
}

func (d *dataFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&d.dataDir, "data-dir", "./data", "where the database (SQLite) and the evidence files live")
	fs.StringVar(&d.db, "db", "", "database: a SQLite file, or a PostgreSQL URL for several instances (default DATA-DIR/refundguard.db)")
}

// dsn is the database to open: --db, or the SQLite file in the data directory.
func (d *dataFlags) dsn() string {
	if d.db != "" {
		return d.db
	}
	return filepath.Join(d.dataDir, "refundguard.db")
}

// envName is the variable that sets a flag: --data-dir is REFUNDGUARD_DATA_DIR.
func envName(flagName string) string {
	return "REFUNDGUARD_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parseFlags applies REFUNDGUARD_* variables as defaults, then the command line (which wins).
// -h prints usage and returns errHelp; bad values are usage errors (exit status 2).
func parseFlags(fs *flag.FlagSet, args []string, env func(string) string) error {
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		if v := env(envName(f.Name)); v != "" && envErr == nil {
			if err := fs.Set(f.Name, v); err != nil {
				envErr = usageError("%s=%q: %v", envName(f.Name), v, err)
			}
		}
	})
	if envErr != nil {
		return envErr
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return &exitError{code: 2, err: err}
	}
	if fs.NArg() > 0 {
		return usageError("%s: unexpected arguments %q", fs.Name(), fs.Args())
	}
	return nil
}

// errHelp ends a command that printed its usage on request (exit status 0).
var errHelp = errors.New("help requested")

// withEnvHelp appends to a flag set's usage which variables set its flags.
func withEnvHelp(fs *flag.FlagSet, stderr io.Writer, intro string) {
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, intro)
		fs.PrintDefaults()
		fmt.Fprintln(stderr, "\nEvery flag can also be set by its variable: --data-dir by REFUNDGUARD_DATA_DIR, --db by REFUNDGUARD_DB, and so on.")
	}
}

// openStore opens the database, refusing to create one when mustExist is set (commands that
// only read should not leave an empty database behind a typo).
func openStore(ctx context.Context, d dataFlags, log *slog.Logger, mustExist bool) (*store.Store, error) {
	dsn := d.dsn()
	if !store.IsPostgres(dsn) {
		if _, err := os.Stat(dsn); err != nil && mustExist {
			return nil, fmt.Errorf("no database at %s (is --data-dir right?)", dsn)
		}
		if err := os.MkdirAll(filepath.Dir(dsn), 0o750); err != nil {
			return nil, err
		}
	}
	return store.Open(ctx, store.Config{DSN: dsn, Logger: log})
}

// serviceParts are what a Service is built from.
type serviceParts struct {
	store    *store.Store
	blobs    *blob.Store
	analyzer *forensics.Analyzer
}

// openService opens the store and the evidence directory and builds the service; cfg
// supplies the rest (logger, limits, observer).
func openService(ctx context.Context, d dataFlags, cfg adjudicate.Config, analyzerOpts forensics.AnalyzerOptions) (*adjudicate.Service, serviceParts, error) {
	var parts serviceParts
	var err error
	if parts.store, err = openStore(ctx, d, cfg.Logger, false); err != nil {
		return nil, parts, err
	}
	if parts.blobs, err = blob.Open(filepath.Join(d.dataDir, "blobs")); err != nil {
		parts.store.Close()
		return nil, parts, err
	}
	parts.analyzer = forensics.NewAnalyzer(analyzerOpts)
	cfg.Store, cfg.Blobs, cfg.Analyzer = parts.store, parts.blobs, parts.analyzer
	svc, err := adjudicate.New(cfg)
	if err != nil {
		parts.store.Close()
		return nil, parts, err
	}
	return svc, parts, nil
}

// cliLogger reports the store's warnings on stderr for the one-shot commands.
func cliLogger(stderr io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}
