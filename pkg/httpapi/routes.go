package httpapi

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/refundguard/refundguard/pkg/claim"
)

// bodyKind says what a route reads from the request body; it picks the body size limit
// and the Content-Type the route accepts (anything else is 415).
type bodyKind int

const (
	bodyNone      bodyKind = iota // ignored; limited to a few bytes so nobody streams gigabytes at it
	bodyJSON                      // application/json, at most Limits.MaxJSONBytes
	bodyMultipart                 // multipart/form-data, at most Limits.MaxUploadBytes
)

// handlerFunc is a route's handler: it answers, or returns an error for writeError.
type handlerFunc func(c *gin.Context, p claim.Principal) error

// route is one row of the table: the path is an OpenAPI template ("/v1/claims/{id}"), used
// as is in /openapi.json and as the metrics label, and turned into Gin's syntax here.
// roles nil means the route is public (no Authorization header needed).
type route struct {
	method string
	path   string
	roles  []claim.Role
	body   bodyKind
	handle handlerFunc
}

var (
	public      []claim.Role
	admins      = []claim.Role{claim.RoleAdmin}
	buyers      = []claim.Role{claim.RoleBuyer}
	merchants   = []claim.Role{claim.RoleMerchant}
	everyone    = []claim.Role{claim.RoleBuyer, claim.RoleMerchant, claim.RoleReviewer, claim.RoleAdmin}
	heatmapView = []claim.Role{claim.RoleMerchant, claim.RoleReviewer, claim.RoleAdmin}
)

// routeTable is every endpoint of the API. /openapi.json documents exactly these (a test
// holds the two together); the service scopes each call to what the principal may see.
func (a *API) routeTable() []route {
	table := []route{
		{http.MethodGet, "/healthz", public, bodyNone, a.healthz},
		{http.MethodGet, "/readyz", public, bodyNone, a.readyz},
		{http.MethodGet, "/metrics", public, bodyNone, a.serveMetrics},
		{http.MethodGet, "/openapi.json", public, bodyNone, a.openapi},

		{http.MethodPost, "/v1/keys", admins, bodyJSON, a.createKey},
		{http.MethodDelete, "/v1/keys/{id}", admins, bodyNone, a.revokeKey},

		{http.MethodPost, "/v1/orders", merchants, bodyJSON, a.createOrder},
		{http.MethodGet, "/v1/orders/{id}", everyone, bodyNone, a.getOrder},
		{http.MethodPatch, "/v1/orders/{id}", merchants, bodyJSON, a.updateOrder},
		{http.MethodPost, "/v1/orders/{id}/images", merchants, bodyMultipart, a.addOrderImages},
		{http.MethodPost, "/v1/products/{sku}/images", merchants, bodyMultipart, a.addProductImages},

		{http.MethodPost, "/v1/claims", buyers, bodyMultipart, a.fileClaim},
		{http.MethodGet, "/v1/claims", everyone, bodyNone, a.listClaims},
		{http.MethodGet, "/v1/claims/{id}", everyone, bodyNone, a.getClaim},
		{http.MethodPost, "/v1/claims/{id}/responses", merchants, bodyMultipart, a.respond},
		{http.MethodPost, "/v1/claims/{id}/evidence", buyers, bodyMultipart, a.addEvidence},
		{http.MethodPost, "/v1/claims/{id}/withdraw", buyers, bodyNone, a.withdraw},

		// A buyer may fetch its own photos back (the service checks whose they are), never a
		// heatmap: it would show a forger what was caught.
		{http.MethodGet, "/v1/evidence/{id}/content", everyone, bodyNone, a.evidenceContent},
		{http.MethodGet, "/v1/evidence/{id}/heatmap", heatmapView, bodyNone, a.evidenceHeatmap},
	}
	return append(table, a.reviewRoutes()...)
}

// ginPath turns "/v1/claims/{id}/evidence" into Gin's "/v1/claims/:id/evidence".
func ginPath(template string) string {
	parts := strings.Split(template, "/")
	for i, p := range parts {
		if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}") {
			parts[i] = ":" + p[1:len(p)-1]
		}
	}
	return strings.Join(parts, "/")
}

// buildEngine registers the table. Middleware order matters: the request id comes first so
// everything after can log it, observe wraps recovery so a panic is logged and counted as
// the 500 it becomes, and authentication precedes the body checks so a caller without a
// key learns nothing about what the route accepts.
func (a *API) buildEngine() *gin.Engine {
	e := gin.New()
	e.HandleMethodNotAllowed = true
	e.RedirectTrailingSlash = false
	e.RedirectFixedPath = false
	e.ContextWithFallback = false
	// Match on the escaped path so an id may carry an encoded slash (SKU "A/B" arrives as
	// A%2FB); parameters are unescaped for the handlers.
	e.UseRawPath = true
	e.UnescapePathValues = true
	// No proxy is trusted unless the wiring says so: ClientIP is the peer address.
	_ = e.SetTrustedProxies(nil)

	e.Use(a.requestID, a.observe, a.recoverPanics, secureHeaders)
	e.NoRoute(func(c *gin.Context) {
		a.writeError(c, claim.Errorf(claim.CodeNotFound, "no endpoint %s %s", c.Request.Method, cleanForLog(c.Request.URL.Path)))
	})
	e.NoMethod(func(c *gin.Context) {
		a.writeError(c, claim.Errorf(codeMethodNotAllowed, "%s is not allowed here; allowed: %s", c.Request.Method, c.Writer.Header().Get("Allow")))
	})
	for _, r := range a.routes {
		handlers := []gin.HandlerFunc{setRoute(r.path)}
		if r.roles != nil {
			handlers = append(handlers, a.authenticate(r.roles))
		}
		handlers = append(handlers, a.limitBody(r.body), a.serve(r.handle))
		e.Handle(r.method, ginPath(r.path), handlers...)
	}
	if a.console != nil { // HTML pages with their own sessions, not API routes: outside the table and /openapi.json
		e.Any("/console", setRoute("/console"), gin.WrapH(a.console))
		e.Any("/console/*path", setRoute("/console"), gin.WrapH(a.console))
	}
	return e
}

// serve adapts a handlerFunc: it hands over the principal that authenticate stored and
// turns a returned error into a problem response.
func (a *API) serve(h handlerFunc) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := h(c, principalOf(c)); err != nil {
			a.writeError(c, err)
		}
	}
}
