package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/refundguard/refundguard/internal/testphoto"

	_ "github.com/mattn/go-sqlite3" // raw SQL for the tamper test

	"github.com/refundguard/refundguard/pkg/store/storetest"
)

// syncBuffer is a bytes.Buffer safe to write from the server's goroutines while a test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func noEnv(string) string { return "" }

// runWithEnv runs a command as main would, with env as its environment, and returns its stdout and error.
func runWithEnv(t *testing.T, env func(string) string, args ...string) (string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), args, env, &stdout, &stderr)
	if err != nil {
		t.Logf("%v: stderr: %s", args, stderr.String())
	}
	return stdout.String(), err
}

func exitCode(err error) int {
	var ee *exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.code
	}
	return 1
}

func createKey(t *testing.T, dataDir, role, subject string) string {
	t.Helper()
	out, err := runWithEnv(t, noEnv, "keys", "create", "--data-dir", dataDir, "--role", role, "--subject", subject)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	secret := lines[len(lines)-1]
	if !strings.HasPrefix(secret, "rg_") {
		t.Fatalf("the last line of keys create is not the key: %q", out)
	}
	return secret
}

func testJPEG(t *testing.T, seed int) []byte { return testphoto.JPEG(seed) }

type client struct {
	t    *testing.T
	base string
}

func (c client) do(method, path, key, ctype string, body []byte, header map[string]string) (int, map[string]any) {
	c.t.Helper()
	req, _ := http.NewRequest(method, c.base+path, bytes.NewReader(body))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	json.Unmarshal(raw, &out)
	if out == nil {
		out = map[string]any{"raw": string(raw)}
	}
	return resp.StatusCode, out
}

func multipartBody(t *testing.T, fields map[string]string, photos ...[]byte) (string, []byte) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range fields {
		w.WriteField(k, v)
	}
	for i, p := range photos {
		fw, err := w.CreateFormFile("photos", fmt.Sprintf("photo-%d.jpg", i))
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(p)
	}
	w.Close()
	return w.FormDataContentType(), buf.Bytes()
}

// TestServeEndToEnd runs the binary's serve command on a fresh data directory with keys made
// by the keys command, files a claim over HTTP, waits for its analysis, shuts down by signal
// and verifies the audit chain — then catches a row changed behind the service's back.
func TestServeEndToEnd(t *testing.T) {
	dataDir := t.TempDir()
	merchant := createKey(t, dataDir, "merchant", "m1")
	buyer := createKey(t, dataDir, "buyer", "b1")

	env := map[string]string{"REFUNDGUARD_DATA_DIR": dataDir, "REFUNDGUARD_WORKERS": "1"}
	c, stderr, stop, done := startServe(t, env)
	defer stop()
	reviewer := createKey(t, dataDir, "reviewer", "alice") // a second process on the live database

	if code, body := c.do("GET", "/readyz", "", "", nil, nil); code != 200 {
		t.Fatalf("readyz %d %v", code, body)
	}
	order := `{"external_id":"T-1","buyer_id":"b1","amount":{"value":129900,"currency":"CNY"},
		"items":[{"sku":"MUG-1","name":"Mug","quantity":1}],"placed_at":"2026-10-28T10:00:00Z","shipped_at":"2026-10-29T10:00:00Z"}`
	code, o := c.do("POST", "/v1/orders", merchant, "application/json", []byte(order), nil)
	if code != 201 {
		t.Fatalf("create order: %d %v", code, o)
	}
	orderID := o["id"].(string)
	ctype, body := multipartBody(t, map[string]string{"kind": "packing"}, testJPEG(t, 10))
	if code, img := c.do("POST", "/v1/orders/"+orderID+"/images", merchant, ctype, body, nil); code != 201 {
		t.Fatalf("packing photo: %d %v", code, img)
	}
	ctype, body = multipartBody(t, map[string]string{"order_id": orderID, "reason": "damaged",
		"description": "cracked", "amount": "129900", "refund_type": "refund_only"}, testJPEG(t, 200))
	idem := map[string]string{"Idempotency-Key": "first-try"}
	code, cl := c.do("POST", "/v1/claims", buyer, ctype, body, idem)
	if code != 201 || cl["status"] != "analyzing" {
		t.Fatalf("file claim: %d %v", code, cl)
	}
	claimID := cl["id"].(string)
	if code, again := c.do("POST", "/v1/claims", buyer, ctype, body, idem); code != 201 || again["id"] != claimID {
		t.Fatalf("replay: %d %v", code, again)
	}
	waitFor(t, func() string {
		_, got := c.do("GET", "/v1/claims/"+claimID, reviewer, "", nil, nil)
		// The default rule set: a clean 1,299 CNY claim waits for the merchant's answer.
		if got["status"] == "awaiting_merchant" {
			return "yes"
		}
		return ""
	}, stderr)
	if code, m := c.do("GET", "/metrics", "", "", nil, nil); code != 200 || !strings.Contains(m["raw"].(string), `refundguard_claims{status="awaiting_merchant"} 1`) {
		t.Fatalf("metrics %d: %.2000s", code, m["raw"])
	} else {
		// The packing photo was decoded once and kept, in the default 256 MB.
		for _, want := range []string{"refundguard_reference_cache_misses_total 1\n", "refundguard_reference_cache_hits_total 0\n",
			"refundguard_reference_cache_entries 1\n", "refundguard_reference_cache_max_bytes 2.68435456e+08\n"} {
			if !strings.Contains(m["raw"].(string), want) {
				t.Errorf("metrics lack %q", want)
			}
		}
	}
	// The review queue is served (empty: nothing is in review) and so is the console.
	if code, got := c.do("POST", "/v1/review/lease", reviewer, "", nil, nil); code != 204 {
		t.Fatalf("lease: %d %v", code, got)
	}
	if code, _ := c.do("GET", "/console/", "", "", nil, nil); code != 200 && code != 303 {
		t.Fatalf("console: %d", code)
	}

	stop() // what SIGTERM does through main's signal context
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not shut down")
	}
	if !strings.Contains(stderr.String(), "refundguard stopped") {
		t.Fatalf("no clean stop in the log:\n%s", stderr.String())
	}

	out, err := runWithEnv(t, noEnv, "audit", "verify", "--data-dir", dataDir)
	if err != nil || !strings.HasPrefix(out, "OK: ") {
		t.Fatalf("audit verify: %q %v", out, err)
	}

	// Someone with database access rewrites who filed the claim.
	db, err := sql.Open("sqlite3", filepath.Join(dataDir, "refundguard.db"))
	if err != nil {
		t.Fatal(err)
	}
	var seq int
	if err := db.QueryRow(`SELECT seq FROM audit_events WHERE action = 'claim.filed'`).Scan(&seq); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE audit_events SET actor = 'buyer:someone-else' WHERE seq = ?`, seq); err != nil {
		t.Fatal(err)
	}
	db.Close()
	out, err = runWithEnv(t, noEnv, "audit", "verify", "--data-dir", dataDir)
	if exitCode(err) != 1 || !strings.Contains(out, fmt.Sprintf("BROKEN at event %d", seq)) {
		t.Fatalf("tampered chain: exit %d, %q", exitCode(err), out)
	}
}

// startServe runs the serve command with env in the background and waits until it listens.
// stop is what SIGTERM does; done receives serve's result.
func startServe(t *testing.T, env map[string]string) (c client, stderr *syncBuffer, stop context.CancelFunc, done chan error) {
	t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	stderr = &syncBuffer{}
	done = make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--log-format", "text"},
			func(k string) string { return env[k] }, io.Discard, stderr)
	}()
	addr := waitFor(t, func() string {
		m := regexp.MustCompile(`refundguard serving" addr=(\S+)`).FindStringSubmatch(stderr.String())
		if m == nil {
			return ""
		}
		return m[1]
	}, stderr)
	return client{t: t, base: "http://" + addr}, stderr, stop, done
}

// TestServeWithELA: REFUNDGUARD_ELA turns error-level analysis on in the service: a claim
// whose photo carries a patch pasted from a coarser JPEG shows ela_anomaly to the reviewer.
func TestServeWithELA(t *testing.T) {
	dataDir := t.TempDir()
	merchant := createKey(t, dataDir, "merchant", "m1")
	buyer := createKey(t, dataDir, "buyer", "b1")
	reviewer := createKey(t, dataDir, "reviewer", "alice")
	c, stderr, stop, done := startServe(t, map[string]string{"REFUNDGUARD_DATA_DIR": dataDir, "REFUNDGUARD_WORKERS": "1", "REFUNDGUARD_ELA": "true"})
	defer func() { stop(); <-done }()

	order := `{"external_id":"T-2","buyer_id":"b1","amount":{"value":9900,"currency":"CNY"},
		"items":[{"sku":"BAG-1","name":"Bag","quantity":1}],"placed_at":"2026-10-28T10:00:00Z"}`
	code, o := c.do("POST", "/v1/orders", merchant, "application/json", []byte(order), nil)
	if code != 201 {
		t.Fatalf("create order: %d %v", code, o)
	}
	spliced, err := os.ReadFile("testdata/analyze/spliced.jpg")
	if err != nil {
		t.Fatal(err)
	}
	ctype, body := multipartBody(t, map[string]string{"order_id": o["id"].(string), "reason": "damaged",
		"description": "torn", "amount": "9900", "refund_type": "refund_only"}, spliced)
	code, cl := c.do("POST", "/v1/claims", buyer, ctype, body, nil)
	if code != 201 {
		t.Fatalf("file claim: %d %v", code, cl)
	}
	var codes string
	waitFor(t, func() string {
		_, got := c.do("GET", "/v1/claims/"+cl["id"].(string), reviewer, "", nil, nil)
		if got["status"] == "analyzing" {
			return ""
		}
		raw, _ := json.Marshal(got["evidence"])
		codes = string(raw)
		return "done"
	}, stderr)
	if !strings.Contains(codes, `"ela_anomaly"`) {
		t.Fatalf("no ela_anomaly in the reviewer's view of the evidence: %s", codes)
	}
}

// waitFor polls until get returns something, failing with the server log after 30s.
func waitFor(t *testing.T, get func() string, log *syncBuffer) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if v := get(); v != "" {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting; server log:\n%s", log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestKeysCommand(t *testing.T) {
	dataDir := t.TempDir()
	env := func(k string) string {
		if k == "REFUNDGUARD_DATA_DIR" {
			return dataDir
		}
		return ""
	}
	createKey(t, dataDir, "admin", "root")
	out, err := runWithEnv(t, env, "keys", "list")
	if err != nil || !strings.Contains(out, "admin") || !strings.Contains(out, "root") {
		t.Fatalf("keys list (data dir from the environment): %q %v", out, err)
	}
	id := strings.Fields(strings.Split(out, "\n")[1])[0]
	if out, err := runWithEnv(t, env, "keys", "revoke", "--id", id); err != nil || !strings.Contains(out, id) {
		t.Fatalf("revoke: %q %v", out, err)
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
	}{
		{"no subcommand", []string{"keys"}, 2},
		{"unknown subcommand", []string{"keys", "rotate"}, 2},
		{"create without a role", []string{"keys", "create", "--subject", "x"}, 2},
		{"create with an unknown role", []string{"keys", "create", "--role", "root", "--subject", "x"}, 1},
		{"revoke without an id", []string{"keys", "revoke"}, 2},
		{"revoke an unknown key", []string{"keys", "revoke", "--id", "key_nope"}, 1},
		{"stray arguments", []string{"keys", "list", "extra"}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := runWithEnv(t, env, tc.args...); exitCode(err) != tc.code {
				t.Fatalf("exit %d (%v), want %d", exitCode(err), err, tc.code)
			}
		})
	}
}

func TestAuditVerifyNeedsADatabase(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
	}{
		{"an empty data dir", []string{"audit", "verify", "--data-dir", t.TempDir()}, 1},
		{"no subcommand", []string{"audit"}, 2},
		{"unknown subcommand", []string{"audit", "repair"}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := runWithEnv(t, noEnv, tc.args...); exitCode(err) != tc.code {
				t.Fatalf("exit %d (%v), want %d", exitCode(err), err, tc.code)
			}
		})
	}
}

func TestServeRefusesBadConfiguration(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
	}{
		{"zero workers", []string{"serve", "--workers", "0"}, nil},
		{"a worker count that is not a number", []string{"serve"}, map[string]string{"REFUNDGUARD_WORKERS": "many"}},
		{"unknown log format", []string{"serve", "--log-format", "xml"}, nil},
		{"unknown flag", []string{"serve", "--port", "80"}, nil},
		{"a rule set that does not compile", []string{"serve", "--data-dir", t.TempDir(), "--rules", writeFile(t, "bad.yaml", "name: x\nfallback: approve\nrules: []\n")}, nil},
		{"a missing rule set", []string{"serve", "--data-dir", t.TempDir(), "--rules", "/nonexistent/policy.yaml"}, nil},
		{"a review lease under a minute", []string{"serve", "--review-lease", "10s"}, nil},
		{"a negative reference cache", []string{"serve", "--reference-cache", "-1"}, nil},
		{"a reference cache in an unknown unit", []string{"serve"}, map[string]string{"REFUNDGUARD_REFERENCE_CACHE": "2TB"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runWithEnv(t, func(k string) string { return tc.env[k] }, tc.args...)
			if exitCode(err) != 2 {
				t.Fatalf("exit %d (%v), want 2", exitCode(err), err)
			}
		})
	}
}

func TestServeOnPostgres(t *testing.T) {
	dsn := storetest.Postgres(t)
	ctx, stop := context.WithCancel(context.Background())
	var stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--db", dsn, "--data-dir", t.TempDir(), "--log-format", "text"},
			noEnv, io.Discard, &stderr)
	}()
	waitFor(t, func() string {
		if strings.Contains(stderr.String(), "database=postgres") {
			return "yes"
		}
		return ""
	}, &stderr)
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestServeReferenceCacheFlag(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want int64
	}{
		{"default", nil, nil, 256 << 20},
		{"bytes", []string{"--reference-cache", "1000000"}, nil, 1000000},
		{"megabytes", []string{"--reference-cache", "512MB"}, nil, 512 << 20},
		{"mebibytes, lower case", []string{"--reference-cache", "64mib"}, nil, 64 << 20},
		{"gigabytes", []string{"--reference-cache", "1GB"}, nil, 1 << 30},
		{"disabled", []string{"--reference-cache", "0"}, nil, 0},
		{"from the environment", nil, map[string]string{"REFUNDGUARD_REFERENCE_CACHE": "128MB"}, 128 << 20},
		{"the command line wins", []string{"--reference-cache", "0"}, map[string]string{"REFUNDGUARD_REFERENCE_CACHE": "128MB"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := flag.NewFlagSet("serve", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			var cfg serveConfig
			cfg.register(fs)
			if err := parseFlags(fs, tc.args, func(k string) string { return tc.env[k] }); err != nil {
				t.Fatal(err)
			}
			if int64(cfg.referenceCache) != tc.want {
				t.Fatalf("--reference-cache = %d (%s), want %d", cfg.referenceCache, cfg.referenceCache, tc.want)
			}
		})
	}
}
