package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/refundguard/refundguard/pkg/claim"
)

// RequestIDHeader carries the request id: taken from the client when it is a sane token
// (so a proxy's id follows the request through), generated otherwise, always echoed.
const RequestIDHeader = "X-Request-ID"

// Keys of values middleware leaves in the gin.Context for later middleware.
const (
	ctxRequestID = "httpapi.request_id"
	ctxRoute     = "httpapi.route"
	ctxPrincipal = "httpapi.principal"
	ctxErrorCode = "httpapi.error_code"
)

type requestIDKey struct{}

// RequestID returns the id of the request ctx belongs to ("" outside a request), so code
// below the handlers can put it in its own logs.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

func (a *API) requestID(c *gin.Context) {
	id := c.GetHeader(RequestIDHeader)
	if !validRequestID(id) {
		id = newRequestID()
	}
	c.Set(ctxRequestID, id)
	c.Request = c.Request.WithContext(context.WithValue(c.Request.Context(), requestIDKey{}, id))
	c.Header(RequestIDHeader, id)
	c.Next()
}

// validRequestID accepts short tokens of letters, digits and -_.: ids end up in logs and
// headers, so nothing else gets through.
func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		b := id[i]
		if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '-' || b == '_' || b == '.') {
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}

func requestIDOf(c *gin.Context) string { return c.GetString(ctxRequestID) }

// LogRequestIDs wraps a slog.Handler so that every record logged with a request's context
// (InfoContext and friends, in the handlers or anywhere in the service below them) carries
// that request's request_id. New wraps its logger this way; wrap the logger handed to the
// service too, and its log lines about a request can be found by the request's id.
func LogRequestIDs(h slog.Handler) slog.Handler {
	if _, ok := h.(requestIDHandler); ok {
		return h
	}
	return requestIDHandler{h}
}

type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(attrs)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}

// setRoute records the matched route template for the access log and metrics labels;
// unmatched requests keep the label "unmatched" so arbitrary paths cannot inflate them.
func setRoute(template string) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Set(ctxRoute, template)
		c.Next()
	}
}

// observe writes one access-log line and the request metrics after the rest of the chain.
func (a *API) observe(c *gin.Context) {
	start := a.now()
	c.Next()
	elapsed := a.now().Sub(start)
	routeLabel := c.GetString(ctxRoute)
	if routeLabel == "" {
		routeLabel = "unmatched"
	}
	status := c.Writer.Status()
	a.metrics.observe(routeLabel, c.Request.Method, status, elapsed)

	attrs := []slog.Attr{
		slog.String("method", cleanForLog(c.Request.Method)),
		slog.String("route", routeLabel),
		slog.String("path", cleanForLog(c.Request.URL.Path)),
		slog.Int("status", status),
		slog.Duration("duration", elapsed),
		slog.Int("bytes", max(c.Writer.Size(), 0)),
		slog.String("remote", c.ClientIP()),
	}
	if p, ok := c.Get(ctxPrincipal); ok {
		attrs = append(attrs, slog.String("actor", cleanForLog(p.(claim.Principal).Actor())))
	}
	if code, ok := c.Get(ctxErrorCode); ok {
		attrs = append(attrs, slog.String("error_code", string(code.(claim.Code))))
	}
	a.log.LogAttrs(c.Request.Context(), slog.LevelInfo, "http request", attrs...)
}

// recoverPanics turns a handler panic into a logged 500. http.ErrAbortHandler is re-raised:
// it is net/http's way to drop a connection on purpose.
func (a *API) recoverPanics(c *gin.Context) {
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		if v == http.ErrAbortHandler {
			panic(v)
		}
		a.log.ErrorContext(c.Request.Context(), "panic in handler",
			"panic", cleanForLog(fmt.Sprint(v)), "stack", string(debug.Stack()))
		if c.Writer.Written() {
			c.Abort() // too late for a problem body; the client sees a truncated response
			return
		}
		a.writeError(c, claim.Wrap(fmt.Errorf("panic: %v", v), claim.CodeInternal, "internal error"))
	}()
	c.Next()
}

// secureHeaders go on every response: bodies are JSON or images that must not be sniffed
// into something else, and claims are personal data no shared cache should keep.
func secureHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	c.Next()
}

// authenticate resolves the bearer key into a principal through the service and checks
// the principal's role against the route's: 401 without a usable key, 403 for a role the
// route does not serve. Which resources the principal may see is the service's business.
func (a *API) authenticate(roles []claim.Role) gin.HandlerFunc {
	return func(c *gin.Context) {
		secret, ok := bearerToken(c.GetHeader("Authorization"))
		if !ok {
			a.writeError(c, claim.Errorf(claim.CodeUnauthenticated, "an Authorization: Bearer <key> header is required"))
			return
		}
		p, err := a.svc.Authenticate(c.Request.Context(), secret)
		if err != nil {
			a.writeError(c, err)
			return
		}
		c.Set(ctxPrincipal, p)
		if !roleIn(p.Role, roles) {
			a.writeError(c, claim.Errorf(claim.CodeForbidden, "this endpoint is not available to the %s role", p.Role))
			return
		}
		c.Next()
	}
}

func roleIn(r claim.Role, roles []claim.Role) bool {
	for _, x := range roles {
		if x == r {
			return true
		}
	}
	return false
}

// bearerToken extracts the credential of an "Authorization: Bearer <token>" header; the
// scheme is case-insensitive (RFC 9110 §11.1).
func bearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

func principalOf(c *gin.Context) claim.Principal {
	p, _ := c.Get(ctxPrincipal)
	principal, _ := p.(claim.Principal)
	return principal
}

// noBodyLimit is what a route that reads no body still accepts before the read fails.
const noBodyLimit = 4 << 10

// limitBody caps the body with http.MaxBytesReader and checks the Content-Type the route
// reads. A declared Content-Length over the limit is refused before anything is read.
func (a *API) limitBody(kind bodyKind) gin.HandlerFunc {
	limit := int64(noBodyLimit)
	switch kind {
	case bodyJSON:
		limit = a.limits.MaxJSONBytes
	case bodyMultipart:
		limit = a.limits.MaxUploadBytes
	}
	return func(c *gin.Context) {
		if c.Request.ContentLength > limit {
			a.writeError(c, tooLargeBody(limit))
			return
		}
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit)
		switch kind {
		case bodyJSON:
			if err := requireMediaType(c.Request, "application/json"); err != nil {
				a.writeError(c, err)
				return
			}
		case bodyMultipart:
			if err := requireMediaType(c.Request, "multipart/form-data"); err != nil {
				a.writeError(c, err)
				return
			}
			release, err := a.reserveUpload(c.Request)
			if err != nil {
				a.writeError(c, err)
				return
			}
			defer release()
		}
		c.Next()
	}
}

// reserveUpload takes the request's share of the UploadMemory budget, waiting while other
// uploads hold it; it gives up when the client goes away.
func (a *API) reserveUpload(r *http.Request) (release func(), err error) {
	n := r.ContentLength
	if n <= 0 || n > a.limits.MaxUploadBytes {
		n = a.limits.MaxUploadBytes
	}
	n = min(n, a.limits.UploadMemory)
	if err := a.uploads.Acquire(r.Context(), n); err != nil {
		return nil, claim.Wrap(err, claim.CodeUnavailable, "the server is busy receiving other uploads; retry shortly")
	}
	return func() { a.uploads.Release(n) }, nil
}

func tooLargeBody(limit int64) *claim.Error {
	return claim.Errorf(claim.CodeTooLarge, "the request body is over the limit of %s", formatBytes(limit))
}

// bodyError classifies an error met while reading a body: over the MaxBytesReader limit it
// is too large, anything else is a body that could not be parsed.
func bodyError(err error, what string) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return tooLargeBody(mbe.Limit)
	}
	var ce *claim.Error
	if errors.As(err, &ce) {
		return err
	}
	return &claim.Error{Code: codeMalformed, Message: what, Err: err}
}

func formatBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// maxLogString bounds any client-supplied string that reaches a log line.
const maxLogString = 256

// cleanForLog makes a client-supplied string safe for a log line: invalid UTF-8 and
// control or format characters (newlines, ANSI escapes, bidi overrides) become '?', and
// the result is cut to maxLogString bytes, so nobody can forge or hide log entries.
func cleanForLog(s string) string {
	var b strings.Builder
	for len(s) > 0 {
		if b.Len() >= maxLogString {
			b.WriteString("…")
			break
		}
		r, size := utf8.DecodeRuneInString(s)
		s = s[size:]
		if r == utf8.RuneError && size == 1 || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			b.WriteByte('?')
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
