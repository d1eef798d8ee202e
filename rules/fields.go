package rules

import (
	"fmt"
	"reflect"
	"strings"
	"time"
)

// Field documents one fact a rule may read.
type Field struct {
	Path string // what rule writers type, e.g. "claim.amount"
	Type string // the expression type: integer, number, string, boolean, time, list of strings, map of string to integer
	Doc  string
}

// fieldInfo is a Field plus how to read it from a Facts value.
type fieldInfo struct {
	Field
	index []int // reflect field index path from Facts
	group bool  // a group (claim, order, ...) rather than a leaf
	kind  reflect.Type
}

// fieldTable indexes the Facts struct by expression path. It is derived from the struct
// tags once per compiled rule set (cheap: a few dozen fields), never kept in a global.
type fieldTable struct {
	byPath map[string]*fieldInfo
	leaves []*fieldInfo // in declaration order
	groups []*fieldInfo
}

func newFieldTable() *fieldTable {
	t := &fieldTable{byPath: map[string]*fieldInfo{}}
	ft := reflect.TypeOf(Facts{})
	for i := 0; i < ft.NumField(); i++ {
		g := ft.Field(i)
		gi := &fieldInfo{Field: Field{Path: g.Tag.Get("expr"), Type: "group", Doc: g.Tag.Get("doc")}, index: g.Index, group: true, kind: g.Type}
		t.byPath[gi.Path] = gi
		t.groups = append(t.groups, gi)
		for j := 0; j < g.Type.NumField(); j++ {
			f := g.Type.Field(j)
			fi := &fieldInfo{
				Field: Field{Path: gi.Path + "." + f.Tag.Get("expr"), Type: typeName(f.Type), Doc: f.Tag.Get("doc")},
				index: []int{i, j},
				kind:  f.Type,
			}
			t.byPath[fi.Path] = fi
			t.leaves = append(t.leaves, fi)
		}
	}
	return t
}

var timeType = reflect.TypeOf(time.Time{})

func typeName(t reflect.Type) string {
	if t == timeType {
		return "time"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int64:
		return "integer"
	case reflect.Float64:
		return "number"
	case reflect.String:
		return "string"
	case reflect.Slice:
		return "list of " + typeName(t.Elem()) + "s"
	case reflect.Map:
		return "map of " + typeName(t.Key()) + " to " + typeName(t.Elem())
	}
	return t.String()
}

// Fields lists every fact a rule may read, in declaration order, with its type and meaning.
func Fields() []Field {
	t := newFieldTable()
	out := make([]Field, 0, len(t.leaves))
	for _, f := range t.leaves {
		out = append(out, f.Field)
	}
	return out
}

// FieldsMarkdown renders Fields as the Markdown table the README carries.
func FieldsMarkdown() string {
	var b strings.Builder
	b.WriteString("| field | type | meaning |\n|---|---|---|\n")
	for _, f := range Fields() {
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", f.Path, f.Type, strings.ReplaceAll(f.Doc, "|", `\|`))
	}
	return b.String()
}

// value reads the fact at path from f. Paths are leaves ("claim.amount") or map entries
// ("evidence.code_counts.localized_edit"); a missing map key reads as the zero value, as it
// does inside expressions.
func (t *fieldTable) value(f *Facts, path string) (any, bool) {
	if fi, ok := t.byPath[path]; ok && !fi.group {
		return normalise(reflect.ValueOf(f).Elem().FieldByIndex(fi.index)), true
	}
	dot := strings.LastIndexByte(path, '.')
	if dot < 0 {
		return nil, false
	}
	fi, ok := t.byPath[path[:dot]]
	if !ok || fi.group || fi.kind.Kind() != reflect.Map || fi.kind.Key().Kind() != reflect.String {
		return nil, false
	}
	m := reflect.ValueOf(f).Elem().FieldByIndex(fi.index)
	v := m.MapIndex(reflect.ValueOf(path[dot+1:]).Convert(fi.kind.Key()))
	if !v.IsValid() {
		return reflect.Zero(fi.kind.Elem()).Interface(), true
	}
	return v.Interface(), true
}

// normalise turns nil slices and maps into empty ones so a recorded input reads "[]",
// not "null", in a decision's JSON.
func normalise(v reflect.Value) any {
	switch v.Kind() {
	case reflect.Slice:
		if v.IsNil() {
			return reflect.MakeSlice(v.Type(), 0, 0).Interface()
		}
	case reflect.Map:
		if v.IsNil() {
			return reflect.MakeMap(v.Type()).Interface()
		}
	}
	return v.Interface()
}

// suggest returns the known path closest to path (edit distance), or "" when none is close.
func (t *fieldTable) suggest(path string) string {
	best, bestD := "", len(path)/2+1
	for p, fi := range t.byPath {
		if fi.group {
			continue
		}
		d := editDistance(path, p)
		// A bare leaf name ("amount") is a near miss of every "group.amount".
		if i := strings.IndexByte(p, '.'); i >= 0 && p[i+1:] == path {
			d = 1
		}
		if d < bestD || (d == bestD && best != "" && p < best) {
			best, bestD = p, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
