package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/refundguard/refundguard/pkg/blob"
	"github.com/refundguard/refundguard/pkg/store"
)

const blobsUsage = `usage: refundguard blobs gc     [--data-dir DIR] [--db DSN] [--min-age 24h] [--dry-run]
       refundguard blobs verify [--data-dir DIR] [--db DSN]

gc removes evidence files no database row references (photos whose claim or upload never
committed, heatmaps of analyses that were not saved) once they are older than --min-age,
and prints each one with its size, then a summary. --dry-run only prints what it would
remove. It is safe while the service runs: intake stores photos seconds before it commits
the rows that reference them, and an analysis its heatmaps minutes at most before saving them.

verify checks that every blob a row references exists and still hashes to its key, and
names the rows whose blobs are missing or corrupt.

Exit status: 0 done (verify: all intact), 1 failure (verify: blobs missing or corrupt),
2 bad usage.
`

// minSafeAge is the least --min-age that gc accepts without a warning: an upper bound, with
// a wide margin, on how long a blob may go unreferenced before the row naming it commits.
const minSafeAge = time.Hour

func runBlobs(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stderr, blobsUsage)
		if len(args) == 0 {
			return usageError("blobs: name a subcommand: gc or verify")
		}
		return nil
	}
	sub, args := args[0], args[1:]
	if sub != "gc" && sub != "verify" {
		fmt.Fprint(stderr, blobsUsage)
		return usageError("blobs: unknown subcommand %q", sub)
	}
	flags := flag.NewFlagSet("blobs "+sub, flag.ContinueOnError)
	withEnvHelp(flags, stderr, blobsUsage+"\n")
	var data dataFlags
	data.register(flags)
	var gc gcOptions
	if sub == "gc" {
		flags.DurationVar(&gc.minAge, "min-age", 24*time.Hour, "remove only blobs stored longer ago than this")
		flags.BoolVar(&gc.dryRun, "dry-run", false, "print what would be removed; remove nothing")
	}
	if err := parseFlags(flags, args, env); err != nil {
		if errors.Is(err, errHelp) {
			return nil
		}
		return err
	}
	if gc.minAge < 0 {
		return usageError("blobs gc: --min-age must not be negative")
	}

	log := cliLogger(stderr)
	st, blobs, err := openBlobData(ctx, data, log)
	if err != nil {
		return fmt.Errorf("blobs %s: %w", sub, err)
	}
	defer st.Close()
	if sub == "verify" {
		return verifyBlobs(ctx, st, blobs, stdout)
	}
	if gc.minAge < minSafeAge {
		log.Warn("a --min-age this short can remove photos of claims being filed right now; use it only while no service writes to this data directory",
			"min_age", gc.minAge.String())
	}
	return collectBlobs(ctx, st, blobs, gc, log, stdout)
}

// openBlobData opens an existing database and blob store: on a wrong --data-dir or --db,
// gc would otherwise see no references and take every blob for garbage.
func openBlobData(ctx context.Context, data dataFlags, log *slog.Logger) (*store.Store, *blob.Store, error) {
	dir := filepath.Join(data.dataDir, "blobs")
	if _, err := os.Stat(dir); err != nil {
		return nil, nil, fmt.Errorf("no blob store at %s (is --data-dir right?)", dir)
	}
	st, err := openStore(ctx, data, log, true)
	if err != nil {
		return nil, nil, err
	}
	blobs, err := blob.Open(dir)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return st, blobs, nil
}

type gcOptions struct {
	minAge time.Duration
	dryRun bool
}

// collectBlobs removes the blobs no row references that were stored before now - minAge.
//
// Why this is safe while the service runs: the service stores a blob before it commits the
// row that references it, so an unreferenced blob is either garbage or belongs to a write
// still in flight. Intake (claims, added evidence, merchant photos) commits within seconds
// of storing its photos. The analysis worker is the slow path: it stores each photo's
// heatmap as it goes and saves them all in one transaction at the end of the claim's run,
// so a heatmap waits as long as one claim's analysis takes (minutes at most, with nine
// large photos and --ela). Put refreshes the time of a blob it finds already stored, so a
// photo uploaded again, or a heatmap drawn again by a retried analysis, counts as new even
// when an orphaned copy of it is years old; and blob.Store.Remove checks that time again
// atomically against a racing Put. A blob still unreferenced minAge after it was last
// stored therefore belongs to no write in flight, provided minAge exceeds the longest
// intake transaction or analysis run — hours, with the 24h default, to spare.
//
// Order: candidates come from the file system first, then every reference in the database
// crosses them off; a reference committed after its table was read must come from a Put
// after the cutoff, which Remove sees.
func collectBlobs(ctx context.Context, st *store.Store, blobs *blob.Store, opt gcOptions, log *slog.Logger, stdout io.Writer) error {
	cutoff := time.Now().Add(-opt.minAge)
	var total, young int
	candidates := map[string]blob.Info{}
	err := blobs.Walk(ctx, func(i blob.Info) error {
		total++
		if i.ModTime.Before(cutoff) {
			candidates[i.Key] = i
		} else {
			young++
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("blobs gc: listing blobs: %w", err)
	}
	refs := 0
	err = st.BlobRefs(ctx, func(r store.BlobRef) error {
		refs++
		delete(candidates, r.Key)
		return nil
	})
	if err != nil {
		return fmt.Errorf("blobs gc: reading references: %w", err)
	}
	if refs == 0 && len(candidates) > 0 {
		return fmt.Errorf("blobs gc: the database references no blobs at all, yet %d old %s stored; refusing to remove them (are --data-dir and --db the service's?)",
			len(candidates), plural(len(candidates), "blob is", "blobs are"))
	}

	keys := make([]string, 0, len(candidates))
	for k := range candidates {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	verb := "removed"
	if opt.dryRun {
		verb = "would remove"
	}
	var removed, failed, storedAgain int
	var freed int64
	for _, k := range keys {
		info := candidates[k]
		if !opt.dryRun {
			var ok bool
			var err error
			info, ok, err = blobs.Remove(ctx, k, cutoff)
			switch {
			case errors.Is(err, fs.ErrNotExist):
				continue // removed by someone else meanwhile
			case err != nil:
				failed++
				log.Warn("could not remove an unreferenced blob", "key", k, "error", err)
				continue
			case !ok:
				storedAgain++
				continue
			}
		}
		removed++
		freed += info.Size
		fmt.Fprintf(stdout, "%s %s  %d bytes  stored %s\n", verb, k, info.Size, info.ModTime.UTC().Format(time.RFC3339))
	}
	fmt.Fprintf(stdout, "%s %d unreferenced %s, %d bytes; kept %d of %d blobs (%d stored within %s",
		verb, removed, plural(removed, "blob", "blobs"), freed, total-removed, total, young+storedAgain, opt.minAge)
	if opt.dryRun {
		fmt.Fprintln(stdout, "); dry run, nothing removed")
	} else {
		fmt.Fprintln(stdout, ")")
	}
	if failed > 0 {
		return fmt.Errorf("blobs gc: %d unreferenced %s could not be removed", failed, plural(failed, "blob", "blobs"))
	}
	return nil
}

// verifyBlobs checks every referenced blob once and reports each row whose blob is missing
// or corrupt: exit status 1 if any is.
func verifyBlobs(ctx context.Context, st *store.Store, blobs *blob.Store, stdout io.Writer) error {
	problems := map[string]string{} // key -> what is wrong with it; "" when it verified
	var size int64
	var refs, broken int
	err := st.BlobRefs(ctx, func(r store.BlobRef) error {
		refs++
		problem, seen := problems[r.Key]
		if !seen {
			n, err := blobs.Verify(ctx, r.Key)
			switch {
			case ctx.Err() != nil:
				return ctx.Err()
			case err == nil:
				size += n
			case !blob.ValidKey(r.Key):
				problem = "INVALID"
			case errors.Is(err, fs.ErrNotExist):
				problem = "MISSING"
			case errors.Is(err, blob.ErrCorrupt):
				problem = "CORRUPT"
			default:
				problem = "UNREADABLE (" + err.Error() + ")"
			}
			problems[r.Key] = problem
		}
		if problem != "" {
			broken++
			fmt.Fprintf(stdout, "%s %s  %s %s of %s\n", problem, r.Key, r.Kind, r.ID, r.Owner)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("blobs verify: %w", err)
	}
	if broken > 0 {
		bad := 0
		for _, p := range problems {
			if p != "" {
				bad++
			}
		}
		fmt.Fprintf(stdout, "BROKEN: %d of %d referenced blobs missing or corrupt (%d of %d references)\n", bad, len(problems), broken, refs)
		return &exitError{code: 1, err: fmt.Errorf("blobs verify: %d referenced %s missing or corrupt", bad, plural(bad, "blob", "blobs"))}
	}
	fmt.Fprintf(stdout, "OK: %d referenced blobs verified, %d bytes (%d references)\n", len(problems), size, refs)
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
