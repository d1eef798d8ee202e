package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/refundguard/refundguard/pkg/blob"
	"github.com/refundguard/refundguard/pkg/claim"
	"github.com/refundguard/refundguard/pkg/store"
)

// blobData is a data directory as a service leaves it: a claim with two photos (one analysed,
// with a heatmap), a packing photo on the order, all stored two days ago; an orphan stored as
// long ago (a claim whose transaction failed) and one stored just now (an intake in flight).
type blobData struct {
	dir                  string
	claimID              string
	photo, heatmap       string // keys of the analysed photo and its heatmap
	evidenceID           string // the analysed photo's row
	referenced           []string
	oldOrphan, newOrphan string
}

func newBlobData(t *testing.T) blobData {
	t.Helper()
	ctx := context.Background()
	d := blobData{dir: t.TempDir()}
	st, blobs := openDataDir(t, d.dir)
	put := func(content string, age time.Duration) string {
		t.Helper()
		key, err := blobs.Put(ctx, []byte(content))
		if err != nil {
			t.Fatal(err)
		}
		setAge(t, d.dir, key, age)
		return key
	}
	const old = 48 * time.Hour

	o, err := st.CreateOrder(ctx, claim.Order{ExternalID: "T-1", MerchantID: "m1", BuyerID: "b1",
		Amount: claim.Money{Value: 9900, Currency: "CNY"}, Items: []claim.Item{{SKU: "MUG-1", Quantity: 1}}, PlacedAt: time.Now().Add(-old)})
	if err != nil {
		t.Fatal(err)
	}
	packing := put("packing photo", old)
	if _, err := st.CreateReferenceImage(ctx, claim.ReferenceImage{MerchantID: "m1", OrderID: o.ID, Kind: claim.ImagePacking,
		SHA256: packing, Format: "jpeg"}); err != nil {
		t.Fatal(err)
	}
	c, err := st.CreateClaim(ctx, claim.Claim{OrderID: o.ID, BuyerID: "b1", MerchantID: "m1", Reason: claim.ReasonDamaged,
		Amount: claim.Money{Value: 9900, Currency: "CNY"}, RefundType: claim.RefundOnly, Status: claim.StatusAnalyzing, RequestHash: "x"})
	if err != nil {
		t.Fatal(err)
	}
	d.claimID = c.ID
	d.photo, d.heatmap = put("buyer photo 1", old), put("heatmap of buyer photo 1", old)
	second := put("buyer photo 2", old)
	for _, key := range []string{d.photo, second} {
		ev, err := st.CreateEvidence(ctx, claim.Evidence{ClaimID: c.ID, Source: claim.SourceBuyer, SHA256: key, Format: "jpeg"})
		if err != nil {
			t.Fatal(err)
		}
		if key == d.photo {
			d.evidenceID = ev.ID
			ev.Report, ev.HeatmapSHA = json.RawMessage(`{"risk":5}`), d.heatmap
			if err := st.SaveAnalysis(ctx, ev); err != nil {
				t.Fatal(err)
			}
		}
	}
	d.referenced = []string{packing, d.photo, d.heatmap, second}
	d.oldOrphan = put("photo of a claim that never committed", old)
	d.newOrphan = put("photo of a claim being filed right now", 0)
	return d
}

// openDataDir opens (creating) the database and blob store in dir; the database closes
// when the test ends.
func openDataDir(t *testing.T, dir string) (*store.Store, *blob.Store) {
	t.Helper()
	st, err := store.Open(context.Background(), store.Config{DSN: filepath.Join(dir, "refundguard.db"), Logger: cliLogger(io.Discard)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	blobs, err := blob.Open(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	return st, blobs
}

func blobPath(dir, key string) string { return filepath.Join(dir, "blobs", "sha256", key[:2], key) }

func setAge(t *testing.T, dir, key string, age time.Duration) {
	t.Helper()
	when := time.Now().Add(-age)
	if err := os.Chtimes(blobPath(dir, key), when, when); err != nil {
		t.Fatal(err)
	}
}

func blobExists(t *testing.T, dir, key string) bool {
	t.Helper()
	_, err := os.Stat(blobPath(dir, key))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	return err == nil
}

// TestBlobsGC runs gc steps in order on one data directory.
func TestBlobsGC(t *testing.T) {
	d := newBlobData(t)
	orphanLine := fmt.Sprintf("%s  %d bytes", d.oldOrphan, len("photo of a claim that never committed"))
	for _, step := range []struct {
		name       string
		args       []string
		want       []string // lines of output, in order
		notWant    string
		orphanGone bool
	}{
		{"dry run reports the old orphan and removes nothing", []string{"--dry-run"},
			[]string{"would remove " + orphanLine, "would remove 1 unreferenced blob, 37 bytes; kept 5 of 6 blobs (1 stored within 24h0m0s); dry run, nothing removed"},
			d.newOrphan, false},
		{"gc removes only the old orphan", nil,
			[]string{"removed " + orphanLine, "removed 1 unreferenced blob, 37 bytes; kept 5 of 6 blobs (1 stored within 24h0m0s)"},
			d.newOrphan, true},
		{"a second run finds nothing", nil,
			[]string{"removed 0 unreferenced blobs, 0 bytes; kept 5 of 5 blobs (1 stored within 24h0m0s)"},
			d.newOrphan, true},
		{"a min-age of an hour still spares the fresh orphan", []string{"--min-age", "1h"},
			[]string{"removed 0 unreferenced blobs, 0 bytes; kept 5 of 5 blobs (1 stored within 1h0m0s)"},
			d.newOrphan, true},
	} {
		t.Run(step.name, func(t *testing.T) {
			out, errOut, code := runCLI(t, append([]string{"blobs", "gc", "--data-dir", d.dir}, step.args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s%s", code, out, errOut)
			}
			if got := strings.Split(strings.TrimSuffix(out, "\n"), "\n"); !equalLines(got, step.want) {
				t.Fatalf("output:\n%s\nwant:\n%s", out, strings.Join(step.want, "\n"))
			}
			if strings.Contains(out, step.notWant) {
				t.Fatalf("the fresh orphan was listed:\n%s", out)
			}
			if blobExists(t, d.dir, d.oldOrphan) == step.orphanGone {
				t.Fatalf("old orphan exists: %v, want gone: %v", !step.orphanGone, step.orphanGone)
			}
			for _, k := range append([]string{d.newOrphan}, d.referenced...) {
				if !blobExists(t, d.dir, k) {
					t.Fatalf("%s was removed", k)
				}
			}
		})
	}

	// Every referenced photo and heatmap still streams, whole and intact.
	ctx := context.Background()
	st, blobs := openDataDir(t, d.dir)
	evs, err := st.ListEvidence(ctx, d.claimID)
	if err != nil || len(evs) != 2 {
		t.Fatalf("evidence: %d rows, %v", len(evs), err)
	}
	for _, ev := range evs {
		for _, key := range []string{ev.SHA256, ev.HeatmapSHA} {
			if key == "" {
				continue
			}
			if _, err := blobs.Get(ctx, key); err != nil {
				t.Errorf("evidence %s: %v", ev.ID, err)
			}
		}
	}
	if out, errOut, code := runCLI(t, "blobs", "verify", "--data-dir", d.dir); code != 0 ||
		out != "OK: 4 referenced blobs verified, 63 bytes (4 references)\n" {
		t.Fatalf("verify after gc: exit %d: %s%s", code, out, errOut)
	}
}

func equalLines(got, want []string) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] && !strings.HasPrefix(got[i], want[i]+"  stored ") {
			return false
		}
	}
	return true
}

func TestBlobsVerifyReportsMissingAndCorruptBlobs(t *testing.T) {
	d := newBlobData(t)
	if err := os.Remove(blobPath(d.dir, d.photo)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(blobPath(d.dir, d.heatmap), []byte("heatmap of buyer photo X"), 0o640); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runCLI(t, "blobs", "verify", "--data-dir", d.dir)
	if code != 1 {
		t.Fatalf("exit %d, want 1: %s%s", code, out, errOut)
	}
	for _, want := range []string{
		fmt.Sprintf("MISSING %s  evidence %s of claim %s\n", d.photo, d.evidenceID, d.claimID),
		fmt.Sprintf("CORRUPT %s  heatmap %s of claim %s\n", d.heatmap, d.evidenceID, d.claimID),
		"BROKEN: 2 of 4 referenced blobs missing or corrupt (2 of 4 references)\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Count(out, "\n") != 3 {
		t.Errorf("intact blobs were reported:\n%s", out)
	}
	// gc leaves alone what verify reports: a missing blob is not garbage, nor a corrupt one
	// a row references.
	if out, errOut, code := runCLI(t, "blobs", "gc", "--data-dir", d.dir); code != 0 || !strings.Contains(out, "removed 1 unreferenced blob") {
		t.Fatalf("gc: exit %d: %s%s", code, out, errOut)
	}
	if !blobExists(t, d.dir, d.heatmap) {
		t.Fatal("gc removed a corrupt but referenced blob")
	}
}

func TestBlobsUsageAndRefusals(t *testing.T) {
	noDB := t.TempDir()
	if _, err := blob.Open(filepath.Join(noDB, "blobs")); err != nil {
		t.Fatal(err)
	}
	// A database that references nothing while old blobs lie about: the wrong --db, say.
	emptyDB := t.TempDir()
	_, blobs := openDataDir(t, emptyDB)
	key, err := blobs.Put(context.Background(), []byte("someone's photo"))
	if err != nil {
		t.Fatal(err)
	}
	setAge(t, emptyDB, key, 48*time.Hour)

	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		code int
	}{
		{"no subcommand", []string{"blobs"}, nil, 2},
		{"unknown subcommand", []string{"blobs", "prune"}, nil, 2},
		{"a negative min-age", []string{"blobs", "gc", "--min-age", "-1h"}, nil, 2},
		{"a min-age that is not a duration", []string{"blobs", "gc", "--min-age", "a day"}, nil, 2},
		{"a bad min-age in the environment", []string{"blobs", "gc"}, map[string]string{"REFUNDGUARD_MIN_AGE": "soon"}, 2},
		{"min-age on verify", []string{"blobs", "verify", "--min-age", "1h"}, nil, 2},
		{"stray arguments", []string{"blobs", "gc", "now"}, nil, 2},
		{"a data dir without blobs", []string{"blobs", "gc", "--data-dir", t.TempDir()}, nil, 1},
		{"a data dir without a database", []string{"blobs", "verify", "--data-dir", noDB}, nil, 1},
		{"a database that references no blob", []string{"blobs", "gc"}, map[string]string{"REFUNDGUARD_DATA_DIR": emptyDB}, 1},
		{"help", []string{"blobs", "gc", "-h"}, nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := runWithEnv(t, func(k string) string { return tc.env[k] }, tc.args...); exitCode(err) != tc.code {
				t.Fatalf("exit %d (%v), want %d", exitCode(err), err, tc.code)
			}
		})
	}
	if !blobExists(t, emptyDB, key) {
		t.Fatal("gc removed blobs although the database references none")
	}
}
