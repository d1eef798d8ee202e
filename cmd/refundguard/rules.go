package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/refundguard/refundguard/pkg/adjudicate"
	"github.com/refundguard/refundguard/rules"
)

const rulesUsage = `usage: refundguard rules <subcommand> [flags]

subcommands:
  test FILE [--fixtures FIXTURES.yaml] [-v]
        compile a rule set and run it over fixture claims (default: the fixtures of the
        default policy); exit 1 when a fixture fails or the set is refused
  eval FILE FACTS.yaml [--json]
        route one claim (a fixture file's first fixture, a fixture body with facts:, or
        bare facts with claim:, order:, ...) and explain every rule
  backtest FILE (--history HISTORY.jsonl | --data-dir DIR [--db DSN]) [--json]
        replay past claims through a draft set: route changes, agreement with reviewers;
        from JSON lines, or from the service's stored claims
  fields [--markdown]
        list the facts rules may read
  default
        print the embedded default policy

FILE may be "default" for the embedded default policy.
`

// runRules dispatches the rules subcommands. Results go to stdout; a refused rule set or a
// failing fixture is exit status 1, bad usage 2.
func runRules(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, rulesUsage)
		if len(args) == 0 {
			return &exitError{code: 2}
		}
		return nil
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "test":
		return rulesTest(rest, stdout, stderr)
	case "eval":
		return rulesEval(rest, stdout, stderr)
	case "backtest":
		return rulesBacktest(ctx, rest, stdout, stderr)
	case "fields":
		return rulesFields(rest, stdout, stderr)
	case "default":
		if len(rest) > 0 {
			return usageError("rules default takes no arguments")
		}
		_, err := stdout.Write(rules.DefaultYAML())
		return err
	}
	fmt.Fprint(stderr, rulesUsage)
	return usageError("rules: unknown subcommand %q", sub)
}

// parseInterspersed parses flags wherever they appear among the positional arguments
// (`rules test policy.yaml --fixtures f.yaml`), which the flag package alone does not.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("refundguard rules "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// flagError turns a flag parsing failure into a usage error (-h is not an error).
func flagError(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return &exitError{code: 2, err: err}
}

// loadSet compiles FILE, or the embedded default for "default". A refused set is printed
// one problem per line.
func loadSet(path string, stderr io.Writer) (*rules.RuleSet, error) {
	var (
		set *rules.RuleSet
		err error
	)
	if path == "default" {
		set, err = rules.LoadDefault()
	} else {
		set, err = rules.LoadFile(path)
	}
	var ce *rules.CompileError
	if errors.As(err, &ce) {
		fmt.Fprintf(stderr, "%s: rule set refused:\n", path)
		for _, p := range ce.Problems {
			fmt.Fprintf(stderr, "  %s\n", p)
		}
		return nil, &exitError{code: 1}
	}
	return set, err
}

func rulesTest(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("test", stderr)
	fixturesPath := fs.String("fixtures", "", "fixture `FILE` (YAML); default: the default policy's fixtures")
	verbose := fs.Bool("v", false, "explain every fixture, not only failures")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return flagError(err)
	}
	if len(pos) != 1 {
		return usageError("usage: refundguard rules test FILE [--fixtures FIXTURES.yaml] [-v]")
	}
	set, err := loadSet(pos[0], stderr)
	if err != nil {
		return err
	}
	var fixtures []rules.Fixture
	if *fixturesPath == "" {
		fmt.Fprintln(stdout, "fixtures: the default policy's (built in)")
		fixtures, err = rules.DefaultFixtures()
	} else {
		fixtures, err = readFixturesFile(*fixturesPath)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "rule set %s %q, %d rules, %s\n", set.Name, set.Revision, len(set.Rules), set.Version)
	failed := 0
	for _, fr := range set.RunFixtures(fixtures) {
		status := "PASS"
		if !fr.Pass {
			status = "FAIL"
			failed++
		}
		fmt.Fprintf(stdout, "%s  %s: got %s, want %s", status, fr.Fixture.Name, fr.Result.Route, fr.Fixture.Expect)
		if len(fr.NotMatched) > 0 {
			fmt.Fprintf(stdout, "; did not match %s", strings.Join(fr.NotMatched, ", "))
		}
		fmt.Fprintln(stdout)
		if !fr.Pass || *verbose {
			fmt.Fprint(stdout, indent(fr.Result.Explain(), "      "))
		}
	}
	fmt.Fprintf(stdout, "%d fixtures, %d passed, %d failed\n", len(fixtures), len(fixtures)-failed, failed)
	if failed > 0 {
		return &exitError{code: 1}
	}
	return nil
}

func readFixturesFile(path string) ([]rules.Fixture, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fx, err := rules.ReadFixtures(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return fx, nil
}

func rulesEval(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("eval", stderr)
	asJSON := fs.Bool("json", false, "print the result as JSON")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return flagError(err)
	}
	if len(pos) != 2 {
		return usageError("usage: refundguard rules eval FILE FACTS.yaml [--json]")
	}
	set, err := loadSet(pos[0], stderr)
	if err != nil {
		return err
	}
	fixture, err := readOneClaim(pos[1])
	if err != nil {
		return err
	}
	res := set.RunFixtures([]rules.Fixture{fixture})[0].Result
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	_, err = fmt.Fprint(stdout, res.Explain())
	return err
}

// readOneClaim reads a claim to evaluate: the first fixture of a fixture file, a file
// holding just the fixture body (facts and optional photos), or just the facts.
func readOneClaim(path string) (rules.Fixture, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return rules.Fixture{}, err
	}
	if fx, err := rules.ReadFixtures(strings.NewReader(string(src))); err == nil {
		return fx[0], nil
	}
	// A fixture body (facts: and photos:) or bare facts (claim:, order:, ...): wrap it as a
	// fixture so the same strict decoding applies.
	const head = "fixtures:\n  - name: claim\n    expect: review\n"
	fx, err := rules.ReadFixtures(strings.NewReader(head + indent(string(src), "    ")))
	if err == nil {
		return fx[0], nil
	}
	fx, factsErr := rules.ReadFixtures(strings.NewReader(head + "    facts:\n" + indent(string(src), "      ")))
	if factsErr == nil {
		return fx[0], nil
	}
	return rules.Fixture{}, fmt.Errorf("%s: neither a fixture file, a fixture body nor facts: %w", path, factsErr)
}

func rulesBacktest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("backtest", stderr)
	history := fs.String("history", "", "past claims as JSON lines (`FILE`), one rules.HistoryRecord per line")
	var data dataFlags
	fs.StringVar(&data.dataDir, "data-dir", "", "the service's data directory: replay its stored claims")
	fs.StringVar(&data.db, "db", "", "the service's database, when not the SQLite file in --data-dir (a PostgreSQL URL)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return flagError(err)
	}
	if len(pos) != 1 {
		return usageError("usage: refundguard rules backtest FILE (--history HISTORY.jsonl | --data-dir DIR) [--json]")
	}
	fromStore := data.dataDir != "" || data.db != ""
	switch {
	case fromStore && *history != "":
		return usageError("rules backtest: give --history or --data-dir, not both")
	case !fromStore && *history == "":
		return usageError("rules backtest needs --history FILE or --data-dir DIR")
	}
	set, err := loadSet(pos[0], stderr)
	if err != nil {
		return err
	}
	var records []rules.HistoryRecord
	if fromStore {
		if data.dataDir == "" {
			data.dataDir = "."
		}
		st, err := openStore(ctx, data, cliLogger(stderr), true)
		if err != nil {
			return err
		}
		defer st.Close()
		if records, err = adjudicate.BacktestHistory(ctx, st, adjudicate.MaxBacktestClaims); err != nil {
			return err
		}
	} else {
		f, err := os.Open(*history)
		if err != nil {
			return err
		}
		defer f.Close()
		if records, err = rules.ReadHistory(f); err != nil {
			return fmt.Errorf("%s: %w", *history, err)
		}
	}
	rep, err := rules.Backtest(set, records)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	_, err = fmt.Fprint(stdout, formatBacktest(rep))
	return err
}

func formatBacktest(rep rules.BacktestReport) string {
	var b strings.Builder
	fmt.Fprintf(&b, "rule set %s %s\n", rep.RuleSetName, rep.RuleSetVersion)
	fmt.Fprintf(&b, "%d claims, %d decided, %d routed differently, %d with rule errors\n\n", rep.Records, rep.Decided, rep.Changed, rep.RuleErrors)
	b.WriteString("route changes (actual -> draft):\n")
	for _, c := range rep.Changes {
		mark := " "
		if c.From != c.To {
			mark = "*"
		}
		fmt.Fprintf(&b, " %s %-16s -> %-16s %6d\n", mark, c.From, c.To, c.Count)
	}
	for _, part := range []struct {
		title string
		a     rules.ReviewAgreement
	}{{"actual routes", rep.Actual}, {"draft routes", rep.Draft}} {
		fmt.Fprintf(&b, "\n%s against final outcomes (decided claims):\n", part.title)
		fmt.Fprintf(&b, "  %-16s", "")
		for _, o := range part.a.Confusion.Outcomes {
			fmt.Fprintf(&b, " %8s", o)
		}
		b.WriteString("\n")
		for i, r := range part.a.Confusion.Routes {
			fmt.Fprintf(&b, "  %-16s", r)
			for _, n := range part.a.Confusion.Counts[i] {
				fmt.Fprintf(&b, " %8d", n)
			}
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "  sent to review vs rejected: TP %d  FP %d  FN %d  TN %d  precision %s  recall %s\n",
			part.a.TruePositives, part.a.FalsePositives, part.a.FalseNegatives, part.a.TrueNegatives, percent(part.a.Precision), percent(part.a.Recall))
		fmt.Fprintf(&b, "  rejected as fabricated but not sent to review: %d\n", part.a.FabricatedNotReviewed)
	}
	return b.String()
}

func percent(p *float64) string {
	if p == nil {
		return "n/a"
	}
	return fmt.Sprintf("%.1f%%", *p*100)
}

func rulesFields(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("fields", stderr)
	markdown := fs.Bool("markdown", false, "print a Markdown table (as in the README)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return flagError(err)
	}
	if len(pos) != 0 {
		return usageError("usage: refundguard rules fields [--markdown]")
	}
	if *markdown {
		_, err := fmt.Fprint(stdout, rules.FieldsMarkdown())
		return err
	}
	for _, f := range rules.Fields() {
		fmt.Fprintf(stdout, "%-34s %-24s %s\n", f.Path, f.Type, f.Doc)
	}
	return nil
}

func indent(s, prefix string) string {
	lines := strings.SplitAfter(s, "\n")
	var b strings.Builder
	for _, l := range lines {
		if l != "" {
			b.WriteString(prefix + l)
		}
	}
	if !strings.HasSuffix(s, "\n") && s != "" {
		b.WriteString("\n")
	}
	return b.String()
}
