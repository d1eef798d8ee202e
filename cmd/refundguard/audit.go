package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
)

const auditUsage = `usage: refundguard audit verify [--data-dir DIR] [--db DSN]

Walks the hash-chained audit log and checks every link: each event's hash against its
contents and its predecessor's hash. Prints OK with the number of events and the head hash
(keep a copy elsewhere: the chain alone cannot show events cut off its end), or names the
first broken link. Exit status: 0 intact, 1 broken, 2 bad usage.
`

func runAudit(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stderr, auditUsage)
		if len(args) == 0 {
			return usageError("audit: name a subcommand: verify")
		}
		return nil
	}
	if args[0] != "verify" {
		fmt.Fprint(stderr, auditUsage)
		return usageError("audit: unknown subcommand %q", args[0])
	}
	fs := flag.NewFlagSet("audit verify", flag.ContinueOnError)
	withEnvHelp(fs, stderr, auditUsage+"\n")
	var data dataFlags
	data.register(fs)
	if err := parseFlags(fs, args[1:], env); err != nil {
		if errors.Is(err, errHelp) {
			return nil
		}
		return err
	}
	st, err := openStore(ctx, data, cliLogger(stderr), true)
	if err != nil {
		return fmt.Errorf("audit verify: %w", err)
	}
	defer st.Close()
	check, err := st.VerifyAudit(ctx)
	if err != nil {
		return fmt.Errorf("audit verify: %w", err)
	}
	if !check.OK() {
		fmt.Fprintf(stdout, "BROKEN at event %d: %s\n(%d events before it verified)\n", check.BrokenSeq, check.Problem, check.Events)
		return &exitError{code: 1, err: fmt.Errorf("audit chain broken at event %d", check.BrokenSeq)}
	}
	fmt.Fprintf(stdout, "OK: %d events verified; head %s\n", check.Events, check.Head)
	return nil
}
