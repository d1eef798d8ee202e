package rules

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"
	"go.yaml.in/yaml/v3"
)

//go:embed default.yaml
var defaultYAML []byte

// DefaultMerchantResponseWindow is how long a merchant has to answer a claim when a rule
// set does not say.
const DefaultMerchantResponseWindow = 48 * time.Hour

// maxSetSize bounds a rule set's YAML; a policy is a page or two, never megabytes.
const maxSetSize = 1 << 20

// RuleSet is a compiled, immutable rule set, safe for concurrent use.
type RuleSet struct {
	Name        string
	Revision    string // the author's label: the YAML "version" key
	Description string
	// Version identifies the exact policy: "sha256:" and the hex SHA-256 of the YAML bytes.
	// Decisions record it; the same YAML always yields the same Version.
	Version string
	// Fallback is the route when no rule matches.
	Fallback Route
	// MerchantResponseWindow is how long the merchant may answer before a claim proceeds
	// (YAML merchant_response_window, default 48h). The service sets the deadline from it.
	MerchantResponseWindow time.Duration
	Rules                  []Rule

	source   []byte
	programs []*vm.Program
	fields   *fieldTable
}

// Rule is one compiled rule.
type Rule struct {
	ID          string
	Description string
	When        string
	Route       Route
	Score       int
	// Reads lists the facts the expression reads ("claim.amount",
	// "evidence.code_counts.localized_edit"), found by walking its syntax tree. Evaluation
	// records their values.
	Reads []string
}

// Source returns the YAML the set was compiled from, e.g. to store it as a version.
func (s *RuleSet) Source() []byte { return bytes.Clone(s.source) }

// DefaultYAML returns the embedded default policy.
func DefaultYAML() []byte { return bytes.Clone(defaultYAML) }

// LoadDefault compiles the embedded default policy.
func LoadDefault() (*RuleSet, error) { return Compile(defaultYAML) }

// LoadFile compiles the rule set in a YAML file.
func LoadFile(path string) (*RuleSet, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	src, err := io.ReadAll(io.LimitReader(f, maxSetSize+1))
	if err != nil {
		return nil, err
	}
	return Compile(src)
}

// Problem is one reason a rule set is refused.
type Problem struct {
	RuleID  string // empty for problems with the set itself
	Line    int    // line in the YAML, when known
	Message string
}

func (p Problem) String() string {
	var b strings.Builder
	if p.RuleID != "" {
		fmt.Fprintf(&b, "rule %q", p.RuleID)
	} else {
		b.WriteString("rule set")
	}
	if p.Line > 0 {
		fmt.Fprintf(&b, " (line %d)", p.Line)
	}
	b.WriteString(": ")
	b.WriteString(p.Message)
	return b.String()
}

// CompileError lists every problem found in a refused rule set, so an author fixes them in
// one pass.
type CompileError struct {
	Problems []Problem
}

func (e *CompileError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.String()
	}
	return "rule set refused: " + strings.Join(parts, "; ")
}

// setDoc is the YAML shape of a rule set.
type setDoc struct {
	Name                   string        `yaml:"name"`
	Version                string        `yaml:"version"`
	Description            string        `yaml:"description"`
	Fallback               Route         `yaml:"fallback"`
	MerchantResponseWindow time.Duration `yaml:"merchant_response_window"`
	Rules                  []ruleDoc     `yaml:"rules"`
}

type ruleDoc struct {
	ID          string `yaml:"id"`
	Description string `yaml:"description"`
	When        string `yaml:"when"`
	Route       Route  `yaml:"route"`
	Score       *int   `yaml:"score"`
	line        int
	problems    []string // shape errors, reported with the rule's id rather than aborting the set
}

var ruleKeys = []string{"id", "description", "when", "route", "score"}

// UnmarshalYAML records the rule's line and refuses unknown keys (yaml's KnownFields does
// not reach into custom unmarshalers, and a misspelt "wen:" must not silently drop a rule's
// condition). Problems are kept on the rule so the refusal names it.
func (r *ruleDoc) UnmarshalYAML(n *yaml.Node) error {
	r.line = n.Line
	if n.Kind != yaml.MappingNode {
		r.problems = append(r.problems, "a rule must be a mapping with id, description, when, route and optional score")
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Value == "id" && v.Kind == yaml.ScalarNode {
			r.ID = v.Value
		}
		if !slices.Contains(ruleKeys, k.Value) {
			r.problems = append(r.problems, fmt.Sprintf("unknown key %q at line %d (known: %s)", k.Value, k.Line, strings.Join(ruleKeys, ", ")))
		}
	}
	type plain ruleDoc
	var p plain
	if err := n.Decode(&p); err != nil {
		r.problems = append(r.problems, strings.TrimPrefix(strings.ReplaceAll(err.Error(), "\n  ", "; "), "yaml: unmarshal errors:; "))
		return nil
	}
	p.line, p.problems = r.line, r.problems
	*r = ruleDoc(p)
	return nil
}

var ruleIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Compile parses and type-checks a rule set. Every expression is compiled once, against
// Facts, and must be boolean; a set with any problem is refused as a whole with a
// *CompileError naming each offending rule.
func Compile(src []byte) (*RuleSet, error) {
	if len(src) > maxSetSize {
		return nil, &CompileError{Problems: []Problem{{Message: fmt.Sprintf("larger than %d bytes", maxSetSize)}}}
	}
	var doc setDoc
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		msg := err.Error()
		if errors.Is(err, io.EOF) {
			msg = "empty document"
		}
		return nil, &CompileError{Problems: []Problem{{Message: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")}}}
	}

	sum := sha256.Sum256(src)
	set := &RuleSet{
		Name:                   doc.Name,
		Revision:               doc.Version,
		Description:            doc.Description,
		Version:                "sha256:" + hex.EncodeToString(sum[:]),
		Fallback:               doc.Fallback,
		MerchantResponseWindow: doc.MerchantResponseWindow,
		source:                 bytes.Clone(src),
		fields:                 newFieldTable(),
	}
	if set.MerchantResponseWindow == 0 {
		set.MerchantResponseWindow = DefaultMerchantResponseWindow
	}

	var problems []Problem
	setProblem := func(format string, args ...any) {
		problems = append(problems, Problem{Message: fmt.Sprintf(format, args...)})
	}
	if strings.TrimSpace(doc.Name) == "" {
		setProblem("name is required")
	}
	switch {
	case doc.Fallback == "":
		setProblem("fallback is required: the route when no rule matches (review is the safe choice)")
	case !doc.Fallback.Valid():
		setProblem("unknown fallback route %q (%s)", doc.Fallback, routeList())
	case doc.Fallback == RouteApprove:
		setProblem("fallback must not be approve: a claim no rule recognises needs a person")
	}
	if set.MerchantResponseWindow < 0 {
		setProblem("merchant_response_window must be positive")
	}
	if len(doc.Rules) == 0 {
		setProblem("no rules")
	}

	seen := map[string]int{}
	for i, rd := range doc.Rules {
		label := rd.ID
		if label == "" {
			label = fmt.Sprintf("#%d", i+1)
		}
		ruleProblem := func(format string, args ...any) {
			problems = append(problems, Problem{RuleID: label, Line: rd.line, Message: fmt.Sprintf(format, args...)})
		}
		for _, p := range rd.problems {
			ruleProblem("%s", p)
		}
		if len(rd.problems) > 0 {
			continue
		}
		switch {
		case rd.ID == "":
			ruleProblem("id is required")
		case !ruleIDPattern.MatchString(rd.ID):
			ruleProblem("id must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
		case seen[rd.ID] > 0:
			ruleProblem("duplicate id (first defined at line %d)", seen[rd.ID])
		default:
			seen[rd.ID] = rd.line
		}
		if !rd.Route.Valid() {
			if rd.Route == "" {
				ruleProblem("route is required (%s)", routeList())
			} else if rd.Route == "reject" {
				ruleProblem("unknown route \"reject\": rules never reject a claim, only a reviewer does (%s)", routeList())
			} else {
				ruleProblem("unknown route %q (%s)", rd.Route, routeList())
			}
		}
		if strings.TrimSpace(rd.When) == "" {
			ruleProblem("when is required: a boolean expression over the facts")
			continue
		}
		prog, reads, err := compileWhen(rd.When, set.fields)
		if err != nil {
			ruleProblem("%s", err)
			continue
		}
		score := 0
		if rd.Score != nil {
			score = *rd.Score
		}
		set.Rules = append(set.Rules, Rule{ID: rd.ID, Description: strings.TrimSpace(rd.Description), When: rd.When, Route: rd.Route, Score: score, Reads: reads})
		set.programs = append(set.programs, prog)
	}
	if len(problems) > 0 {
		return nil, &CompileError{Problems: problems}
	}
	return set, nil
}

func routeList() string {
	names := make([]string, len(routeOrder))
	for i, r := range routeOrder {
		names[i] = string(r)
	}
	return "routes: " + strings.Join(names, ", ")
}

// compileWhen checks an expression's field names against Facts (with a suggestion for near
// misses), compiles it to a boolean program, and lists the facts it reads.
func compileWhen(when string, fields *fieldTable) (*vm.Program, []string, error) {
	tree, err := parser.Parse(when)
	if err != nil {
		return nil, nil, exprError(err, fields)
	}
	if err := checkMembers(tree.Node, fields); err != nil {
		return nil, nil, exprError(err.Bind(file.NewSource(when)), fields)
	}
	prog, err := expr.Compile(when,
		expr.Env(Facts{}),
		expr.AsBool(),
		// A rule that read the wall clock would decide differently when a backtest replays
		// history; time-relative facts (hours_since_*) are computed by the caller instead.
		expr.DisableBuiltin("now"),
	)
	if err != nil {
		return nil, nil, exprError(err, fields)
	}
	return prog, readsOf(prog.Node(), fields), nil
}

var unknownName = regexp.MustCompile(`^unknown name ([A-Za-z_][A-Za-z0-9_]*)`)

// exprError shortens expr's multi-line error to one line with its position, and turns
// "unknown name amount" into a hint at the grouped field.
func exprError(err error, fields *fieldTable) error {
	var fe *file.Error
	if !errors.As(err, &fe) {
		return fmt.Errorf("when: %s", firstLine(err.Error()))
	}
	msg := fe.Message
	if m := unknownName.FindStringSubmatch(msg); m != nil {
		msg = "unknown field " + m[1]
		if s := fields.suggest(m[1]); s != "" {
			msg += fmt.Sprintf(" (did you mean %s?)", s)
		}
	}
	if fe.Line > 0 {
		return fmt.Errorf("when: %s (at %d:%d)", msg, fe.Line, fe.Column+1)
	}
	return fmt.Errorf("when: %s", msg)
}

// checkMembers reports the first "group.field" that names no fact. expr would catch it too,
// but in terms of Go types ("type rules.ClaimFacts has no field amout").
func checkMembers(root ast.Node, fields *fieldTable) *file.Error {
	var bad *ast.MemberNode
	var badPath string
	visit(root, func(n ast.Node) {
		m, ok := n.(*ast.MemberNode)
		if !ok || bad != nil {
			return
		}
		id, ok := m.Node.(*ast.IdentifierNode)
		if !ok {
			return
		}
		g, ok := fields.byPath[id.Value]
		if !ok || !g.group {
			return
		}
		prop, ok := m.Property.(*ast.StringNode)
		if !ok {
			return
		}
		if _, ok := fields.byPath[id.Value+"."+prop.Value]; !ok {
			bad, badPath = m, id.Value+"."+prop.Value
		}
	})
	if bad == nil {
		return nil
	}
	msg := "unknown field " + badPath
	if s := fields.suggest(badPath); s != "" {
		msg += fmt.Sprintf(" (did you mean %s?)", s)
	}
	return &file.Error{Location: bad.Location(), Message: msg}
}

// readsOf lists the facts an expression reads: the longest member chains that resolve to a
// field or a map entry (evidence.code_counts.localized_edit). A map indexed by a computed
// key is recorded whole.
func readsOf(root ast.Node, fields *fieldTable) []string {
	paths := map[ast.Node]string{}
	inner := map[ast.Node]bool{}
	var chain func(n ast.Node) string
	chain = func(n ast.Node) string {
		if p, ok := paths[n]; ok {
			return p
		}
		switch n := n.(type) {
		case *ast.IdentifierNode:
			if g, ok := fields.byPath[n.Value]; ok && g.group {
				return n.Value
			}
		case *ast.ChainNode:
			return chain(n.Node)
		case *ast.MemberNode:
			base := chain(n.Node)
			if base == "" {
				return ""
			}
			bi := fields.byPath[base]
			prop, constant := n.Property.(*ast.StringNode)
			switch {
			case bi != nil && bi.group && constant:
				return base + "." + prop.Value
			case bi != nil && !bi.group && bi.kind.Kind() == reflect.Map && constant:
				return base + "." + prop.Value
			case bi != nil && !bi.group:
				return base // computed key: the whole map or list
			}
		}
		return ""
	}
	visit(root, func(n ast.Node) {
		switch m := n.(type) {
		case *ast.MemberNode:
			inner[m.Node] = true
		case *ast.ChainNode:
			inner[m.Node] = true
		}
		if p := chain(n); p != "" {
			paths[n] = p
		}
	})
	set := map[string]bool{}
	for n, p := range paths {
		if inner[n] {
			continue
		}
		if fi, ok := fields.byPath[p]; ok && fi.group {
			continue // a whole group compared to something: nothing useful to record
		}
		set[p] = true
	}
	out := make([]string, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// visit calls fn on every node of the tree, children first.
func visit(root ast.Node, fn func(ast.Node)) {
	ast.Walk(&root, visitorFunc(fn))
}

type visitorFunc func(ast.Node)

func (f visitorFunc) Visit(n *ast.Node) { f(*n) }
