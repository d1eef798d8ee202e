package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/refundguard/refundguard/forensics"
	"github.com/refundguard/refundguard/pkg/adjudicate"
	"github.com/refundguard/refundguard/pkg/claim"
)

const keysUsage = `usage: refundguard keys create --role buyer|merchant|reviewer|admin --subject ID [--data-dir DIR] [--db DSN]
       refundguard keys list   [--data-dir DIR] [--db DSN]
       refundguard keys revoke --id KEY_ID [--data-dir DIR] [--db DSN]

create prints the new key's secret as the last line of its output: it is shown once and
stored only as a hash. The subject is the buyer's or merchant's id, or the reviewer's name.
The command acts as an administrator on this machine and is recorded in the audit log.
`

func runKeys(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stderr, keysUsage)
		if len(args) == 0 {
			return usageError("keys: name a subcommand: create, list or revoke")
		}
		return nil
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("keys "+sub, flag.ContinueOnError)
	withEnvHelp(fs, stderr, keysUsage+"\n")
	var data dataFlags
	data.register(fs)
	var role, subject, id string
	switch sub {
	case "create":
		fs.StringVar(&role, "role", "", "buyer, merchant, reviewer or admin")
		fs.StringVar(&subject, "subject", "", "the buyer's or merchant's id, or the reviewer's name")
	case "revoke":
		fs.StringVar(&id, "id", "", "the key's id (from keys list)")
	case "list":
	default:
		fmt.Fprint(stderr, keysUsage)
		return usageError("keys: unknown subcommand %q", sub)
	}
	if err := parseFlags(fs, args, env); err != nil {
		if errors.Is(err, errHelp) {
			return nil
		}
		return err
	}
	switch {
	case sub == "create" && (role == "" || subject == ""):
		return usageError("keys create: --role and --subject are required")
	case sub == "revoke" && id == "":
		return usageError("keys revoke: --id is required")
	}

	log := cliLogger(stderr)
	svc, parts, err := openService(ctx, data, adjudicate.Config{Logger: log}, forensics.AnalyzerOptions{})
	if err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	defer parts.store.Close()
	operator := claim.Principal{Role: claim.RoleAdmin, Subject: operatorName(env)}

	switch sub {
	case "create":
		k, secret, err := svc.CreateKey(ctx, operator, claim.Role(role), subject)
		if err != nil {
			return fmt.Errorf("keys create: %s", claim.ErrorMessage(err))
		}
		fmt.Fprintf(stdout, "created key %s for %s %s; keep the secret below, it is not shown again:\n%s\n", k.ID, k.Role, k.Subject, secret)
	case "revoke":
		if err := svc.RevokeKey(ctx, operator, id); err != nil {
			return fmt.Errorf("keys revoke: %s", claim.ErrorMessage(err))
		}
		fmt.Fprintf(stdout, "revoked %s\n", id)
	case "list":
		keys, err := parts.store.ListKeys(ctx)
		if err != nil {
			return fmt.Errorf("keys list: %w", err)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tROLE\tSUBJECT\tCREATED\tREVOKED")
		for _, k := range keys {
			revoked := "-"
			if k.RevokedAt != nil {
				revoked = k.RevokedAt.Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.ID, k.Role, k.Subject, k.CreatedAt.Format(time.RFC3339), revoked)
		}
		return tw.Flush()
	}
	return nil
}

// operatorName names the person running a local command in the audit log.
func operatorName(env func(string) string) string {
	user := env("USER")
	if user == "" {
		user = "unknown"
	}
	return "operator@" + user
}
