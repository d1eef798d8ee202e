package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, func(string) string { return "" }, &out, &errOut)
	if err != nil {
		code = 1
		var ee *exitError
		if errors.As(err, &ee) {
			code = ee.code
		}
		if ee == nil || ee.err != nil {
			errOut.WriteString(err.Error())
		}
	}
	return out.String(), errOut.String(), code
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRulesCommand(t *testing.T) {
	policy := writeFile(t, "policy.yaml", "name: small\nversion: \"3\"\nfallback: review\nrules:\n"+
		"  - {id: small, when: 'claim.amount < 1000', route: approve}\n")
	fixtures := writeFile(t, "fixtures.yaml", "fixtures:\n"+
		"  - {name: tiny claim approved, expect: approve, because: [small], facts: {claim: {amount: 10}}}\n"+
		"  - {name: big claim reviewed, expect: review, facts: {claim: {amount: 5000}}}\n")
	failing := writeFile(t, "failing.yaml", "fixtures:\n"+
		"  - {name: big claim approved, expect: approve, facts: {claim: {amount: 5000}}}\n")
	refused := writeFile(t, "refused.yaml", "name: x\nfallback: review\nrules:\n  - {id: deny, when: claim.amout > 1, route: reject}\n")
	history := writeFile(t, "history.jsonl",
		`{"claim_id":"a","route":"review","outcome":"reject","facts":{"claim":{"amount":10}}}`+"\n"+
			`{"claim_id":"b","route":"review","outcome":"approve","facts":{"claim":{"amount":5000}}}`+"\n")
	claimFacts := writeFile(t, "claim.yaml", "facts:\n  claim: {amount: 10}\n")
	bareFacts := writeFile(t, "bare.yaml", "claim: {amount: 10}\norder: {amount: 20}\n")
	notFacts := writeFile(t, "nonsense.yaml", "claim: {amout: 10}\n")

	tests := []struct {
		name      string
		args      []string
		wantCode  int
		wantOut   []string
		wantErr   []string
		forbidden []string
	}{
		{name: "fixtures pass", args: []string{"rules", "test", policy, "--fixtures", fixtures}, wantOut: []string{"PASS  tiny claim approved: got approve, want approve", "2 fixtures, 2 passed, 0 failed"}, forbidden: []string{"route: approve"}},
		{name: "flags before the file", args: []string{"rules", "test", "--fixtures", fixtures, policy}, wantOut: []string{"2 passed"}},
		{name: "a failing fixture exits 1 and explains", args: []string{"rules", "test", policy, "--fixtures", failing}, wantCode: 1, wantOut: []string{"FAIL  big claim approved: got review, want approve", "route: review (no rule matched", "0 passed, 1 failed"}},
		{name: "the default policy passes its own fixtures", args: []string{"rules", "test", "default"}, wantOut: []string{"fixtures: the default policy's (built in)", "0 failed"}},
		{name: "a draft is checked against the default fixtures", args: []string{"rules", "test", policy}, wantCode: 1, wantOut: []string{"FAIL  stolen merchant photo"}},
		{name: "a refused set names the rule", args: []string{"rules", "test", refused, "--fixtures", fixtures}, wantCode: 1, wantErr: []string{`rule "deny" (line 4): unknown route "reject"`, `rule "deny" (line 4): when: unknown field claim.amout (did you mean claim.amount?)`}},
		{name: "eval explains", args: []string{"rules", "eval", policy, claimFacts}, wantOut: []string{"route: approve (by small)", "claim.amount = 10"}},
		{name: "eval takes bare facts", args: []string{"rules", "eval", policy, bareFacts}, wantOut: []string{"route: approve (by small)", "claim.amount = 10"}},
		{name: "eval refuses an unknown fact", args: []string{"rules", "eval", policy, notFacts}, wantCode: 1, wantErr: []string{"neither a fixture file, a fixture body nor facts", "amout"}},
		{name: "eval as JSON", args: []string{"rules", "eval", policy, claimFacts, "--json"}, wantOut: []string{`"route": "approve"`, `"claim.amount": 10`}},
		{name: "backtest", args: []string{"rules", "backtest", policy, "--history", history}, wantOut: []string{"2 claims, 2 decided, 1 routed differently", "* review           -> approve", "precision 0.0%  recall 0.0%"}},
		{name: "backtest as JSON", args: []string{"rules", "backtest", policy, "--history", history, "--json"}, wantOut: []string{`"changed": 1`, `"false_negatives": 1`}},
		{name: "backtest from a directory without a database", args: []string{"rules", "backtest", policy, "--data-dir", t.TempDir()}, wantCode: 1, wantErr: []string{"no database at"}},
		{name: "backtest takes one source", args: []string{"rules", "backtest", policy, "--data-dir", "/tmp", "--history", history}, wantCode: 2, wantErr: []string{"not both"}},
		{name: "backtest needs history", args: []string{"rules", "backtest", policy}, wantCode: 2, wantErr: []string{"needs --history FILE or --data-dir"}},
		{name: "fields", args: []string{"rules", "fields"}, wantOut: []string{"claim.amount", "merchant.response_pending"}},
		{name: "fields as markdown", args: []string{"rules", "fields", "--markdown"}, wantOut: []string{"| `evidence.ai_labeled` | boolean |"}},
		{name: "default policy", args: []string{"rules", "default"}, wantOut: []string{"name: default", "fallback: review"}},
		{name: "unknown subcommand", args: []string{"rules", "lint"}, wantCode: 2, wantErr: []string{`unknown subcommand "lint"`}},
		{name: "missing file", args: []string{"rules", "test"}, wantCode: 2, wantErr: []string{"usage: refundguard rules test FILE"}},
		{name: "no subcommand prints usage", args: []string{"rules"}, wantCode: 2, wantOut: []string{"subcommands:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := runCLI(t, tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, out, errOut)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
			for _, w := range tt.forbidden {
				if strings.Contains(out, w) {
					t.Errorf("stdout has %q:\n%s", w, out)
				}
			}
		})
	}
}
