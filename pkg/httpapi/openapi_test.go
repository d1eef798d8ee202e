package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/refundguard/refundguard/pkg/claim"
)

// openapiDoc is the served document, parsed.
func openapiDoc(t testing.TB) map[string]any {
	t.Helper()
	raw, err := OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

func TestOpenAPIMatchesRoutes(t *testing.T) {
	doc := openapiDoc(t)
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.") {
		t.Fatalf("openapi version %q", v)
	}
	api := newTestAPI(t, newFakeService(), nil)

	documented := map[string][]string{} // "METHOD path" -> x-roles
	for path, item := range doc["paths"].(map[string]any) {
		for method, op := range item.(map[string]any) {
			if method == "parameters" {
				continue
			}
			var roles []string
			for _, r := range op.(map[string]any)["x-roles"].([]any) {
				roles = append(roles, r.(string))
			}
			documented[strings.ToUpper(method)+" "+path] = roles
		}
	}
	for _, r := range api.routes {
		key := r.method + " " + r.path
		roles, ok := documented[key]
		if !ok {
			t.Errorf("route %s is not in openapi.yaml", key)
			continue
		}
		delete(documented, key)
		var want []string
		for _, role := range r.roles {
			want = append(want, string(role))
		}
		sort.Strings(want)
		sort.Strings(roles)
		if !slices.Equal(roles, want) {
			t.Errorf("%s: openapi x-roles %v, route table %v", key, roles, want)
		}
		op := doc["paths"].(map[string]any)[r.path].(map[string]any)[strings.ToLower(r.method)].(map[string]any)
		sec, hasSec := op["security"].([]any)
		if public := r.roles == nil; public != (hasSec && len(sec) == 0) {
			t.Errorf("%s: public=%v but openapi security is %v", key, public, op["security"])
		}
	}
	for key := range documented {
		t.Errorf("openapi.yaml documents %s, which routes.go does not serve", key)
	}
}

func TestOpenAPIRefsResolve(t *testing.T) {
	doc := openapiDoc(t)
	var walk func(v any, at string)
	walk = func(v any, at string) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				if resolveRef(doc, ref) == nil {
					t.Errorf("%s: $ref %s does not resolve", at, ref)
				}
			}
			for k, x := range v {
				walk(x, at+"/"+k)
			}
		case []any:
			for i, x := range v {
				walk(x, fmt.Sprintf("%s[%d]", at, i))
			}
		}
	}
	walk(doc, "#")
}

func TestOpenAPIServed(t *testing.T) {
	api := newTestAPI(t, newFakeService(), nil)
	rec := do(t, api, request{method: http.MethodGet, path: "/openapi.json"})
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("GET /openapi.json: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	var doc map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if _, ok := doc["paths"].(map[string]any)["/v1/claims"]; !ok {
		t.Error("served document lacks /v1/claims")
	}
}

// ---- a validator for the subset of JSON Schema openapi.yaml uses ----

func resolveRef(doc map[string]any, ref string) map[string]any {
	if !strings.HasPrefix(ref, "#/") {
		return nil
	}
	var cur any = doc
	for _, part := range strings.Split(ref[2:], "/") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[part]
	}
	m, _ := cur.(map[string]any)
	return m
}

// schemaErrors lists where value breaks schema: types, required members, undeclared
// members where additionalProperties is false, enums, items, oneOf (at least one branch)
// and date-time formats. Enough to catch a DTO and the document drifting apart.
func schemaErrors(doc, schema map[string]any, value any, at string) []string {
	if ref, ok := schema["$ref"].(string); ok {
		target := resolveRef(doc, ref)
		if target == nil {
			return []string{at + ": unresolved " + ref}
		}
		return schemaErrors(doc, target, value, at)
	}
	if branches, ok := schema["oneOf"].([]any); ok {
		var all []string
		for _, b := range branches {
			errs := schemaErrors(doc, b.(map[string]any), value, at)
			if len(errs) == 0 {
				return nil
			}
			all = append(all, errs...)
		}
		return append([]string{at + ": matches no oneOf branch"}, all...)
	}
	if t, ok := schema["type"]; ok && !typeMatches(t, value) {
		return []string{fmt.Sprintf("%s: %v is not of type %v", at, value, t)}
	}
	var errs []string
	if enum, ok := schema["enum"].([]any); ok && !slices.Contains(enum, value) {
		errs = append(errs, fmt.Sprintf("%s: %v not in enum %v", at, value, enum))
	}
	if s, ok := value.(string); ok && schema["format"] == "date-time" {
		if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
			errs = append(errs, fmt.Sprintf("%s: %q is not a date-time", at, s))
		}
	}
	if s, ok := value.(string); ok {
		if pat, ok := schema["pattern"].(string); ok && !regexp.MustCompile(pat).MatchString(s) {
			errs = append(errs, fmt.Sprintf("%s: %q does not match %s", at, s, pat))
		}
	}
	switch v := value.(type) {
	case map[string]any:
		props, _ := schema["properties"].(map[string]any)
		for _, r := range asStrings(schema["required"]) {
			if _, ok := v[r]; !ok {
				errs = append(errs, at+": missing required "+r)
			}
		}
		for k, x := range v {
			ps, declared := props[k].(map[string]any)
			if !declared {
				if schema["additionalProperties"] == false {
					errs = append(errs, at+": undeclared member "+k)
				}
				continue
			}
			errs = append(errs, schemaErrors(doc, ps, x, at+"."+k)...)
		}
	case []any:
		if items, ok := schema["items"].(map[string]any); ok {
			for i, x := range v {
				errs = append(errs, schemaErrors(doc, items, x, fmt.Sprintf("%s[%d]", at, i))...)
			}
		}
	}
	return errs
}

func asStrings(v any) []string {
	var out []string
	if list, ok := v.([]any); ok {
		for _, x := range list {
			out = append(out, x.(string))
		}
	}
	return out
}

func typeMatches(t any, value any) bool {
	if list, ok := t.([]any); ok {
		for _, x := range list {
			if typeMatches(x, value) {
				return true
			}
		}
		return false
	}
	switch t {
	case "null":
		return value == nil
	case "string":
		_, ok := value.(string)
		return ok
	case "boolean":
		_, ok := value.(bool)
		return ok
	case "number":
		_, ok := value.(float64)
		return ok
	case "integer":
		f, ok := value.(float64)
		return ok && f == float64(int64(f))
	case "object":
		_, ok := value.(map[string]any)
		return ok
	case "array":
		_, ok := value.([]any)
		return ok
	}
	return false
}

// checkSchema fails the test when body does not match the named component schema.
func checkSchema(t *testing.T, name string, body []byte) {
	t.Helper()
	doc := openapiDoc(t)
	schema := resolveRef(doc, "#/components/schemas/"+name)
	if schema == nil {
		t.Fatalf("no schema %s", name)
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("%s body: %v", name, err)
	}
	for _, e := range schemaErrors(doc, schema, v, name) {
		t.Error(e)
	}
}

// checkResponseSchema checks body against the schema openapi.yaml gives for the
// route's response with this status.
func checkResponseSchema(t *testing.T, method, path string, status int, body []byte) {
	t.Helper()
	doc := openapiDoc(t)
	op, _ := doc["paths"].(map[string]any)[path].(map[string]any)[strings.ToLower(method)].(map[string]any)
	if op == nil {
		t.Fatalf("openapi has no %s %s", method, path)
	}
	responses := op["responses"].(map[string]any)
	resp, _ := responses[fmt.Sprint(status)].(map[string]any)
	if resp == nil && status >= 500 {
		resp, _ = responses["default"].(map[string]any)
	}
	if resp == nil {
		t.Fatalf("openapi %s %s does not document status %d", method, path, status)
	}
	if ref, ok := resp["$ref"].(string); ok {
		resp = resolveRef(doc, ref)
	}
	content, _ := resp["content"].(map[string]any)
	var schema map[string]any
	for _, media := range content {
		schema, _ = media.(map[string]any)["schema"].(map[string]any)
	}
	if schema == nil {
		if len(body) != 0 {
			t.Errorf("%s %s %d: undocumented body %s", method, path, status, body)
		}
		return
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("%s %s body: %v", method, path, err)
	}
	for _, e := range schemaErrors(doc, schema, v, fmt.Sprintf("%s %s %d", method, path, status)) {
		t.Error(e)
	}
}

func TestSchemaValidatorCatchesDrift(t *testing.T) {
	// The validator must fail on what it is there to catch, or the schema tests prove nothing.
	doc := openapiDoc(t)
	order := resolveRef(doc, "#/components/schemas/Order")
	good := toOrder(sampleDetails().Order)
	raw, _ := json.Marshal(good)
	var v map[string]any
	_ = json.Unmarshal(raw, &v)
	if errs := schemaErrors(doc, order, v, "Order"); len(errs) != 0 {
		t.Fatalf("valid order rejected: %v", errs)
	}
	cases := map[string]func(m map[string]any){
		"undeclared member": func(m map[string]any) { m["risk"] = 1 },
		"missing required":  func(m map[string]any) { delete(m, "buyer_id") },
		"wrong type":        func(m map[string]any) { m["amount"] = "129" },
		"bad date-time":     func(m map[string]any) { m["placed_at"] = "yesterday" },
		"bad nested":        func(m map[string]any) { m["amount"] = map[string]any{"value": 1.5, "currency": "CNY"} },
		"bad pattern":       func(m map[string]any) { m["amount"] = map[string]any{"value": 1, "currency": "yuan"} },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			m := map[string]any{}
			_ = json.Unmarshal(raw, &m)
			mutate(m)
			if errs := schemaErrors(doc, order, m, "Order"); len(errs) == 0 {
				t.Error("accepted")
			}
		})
	}
	// And a claim view with an unknown status fails through the enum.
	c := toBuyerSummary(claim.Claim{Status: "bogus", CreatedAt: testTime, UpdatedAt: testTime})
	b, _ := json.Marshal(c)
	var cv any
	_ = json.Unmarshal(b, &cv)
	if errs := schemaErrors(doc, resolveRef(doc, "#/components/schemas/BuyerClaimSummary"), cv, "c"); len(errs) == 0 {
		t.Error("unknown status accepted")
	}
}
