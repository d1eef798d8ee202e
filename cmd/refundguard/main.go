// Command refundguard adjudicates refund-only claims with image forensics.
//
//	refundguard serve      run the HTTP service (API, review console)
//	refundguard analyze    analyse evidence photos against reference photos
//	refundguard keys       create API keys
//	refundguard rules      test and backtest routing rule sets
//	refundguard audit      verify the hash-chained audit log
//	refundguard blobs      remove unreferenced evidence files; verify referenced ones
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// command is one subcommand. stdout receives results; diagnostics go to stderr.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) error
}

func commands() map[string]command {
	return map[string]command{
		"analyze": {"analyse evidence photos against reference photos", runAnalyze},
		"serve":   {"run the HTTP service", runServe},
		"keys":    {"create API keys", runKeys},
		"rules":   {"test and backtest routing rule sets", runRules},
		"audit":   {"verify the audit log's hash chain", runAudit},
		"blobs":   {"remove unreferenced evidence files, verify referenced ones", runBlobs},
	}
}

// exitError carries a process exit code through run's error return.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}
func (e *exitError) Unwrap() error { return e.err }

// usageError is bad usage: exit status 2.
func usageError(format string, args ...any) error {
	return &exitError{code: 2, err: fmt.Errorf(format, args...)}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		code := 1
		var ee *exitError
		if errors.As(err, &ee) {
			code = ee.code
		}
		if ee == nil || ee.err != nil {
			fmt.Fprintln(os.Stderr, "refundguard:", err)
		}
		os.Exit(code)
	}
}

func run(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) error {
	cmds := commands()
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, usage(cmds))
		if len(args) == 0 {
			return &exitError{code: 2}
		}
		return nil
	}
	c, ok := cmds[args[0]]
	if !ok {
		fmt.Fprint(stderr, usage(cmds))
		return usageError("unknown command %q", args[0])
	}
	return c.run(ctx, args[1:], env, stdout, stderr)
}

func usage(cmds map[string]command) string {
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("usage: refundguard <command> [flags]\n\ncommands:\n")
	for _, n := range names {
		fmt.Fprintf(&b, "  %-9s %s\n", n, cmds[n].summary)
	}
	b.WriteString("\nRun 'refundguard <command> -h' for a command's flags.\n")
	return b.String()
}
