// Package console is the reviewer web console served at /console: sign in with a reviewer
// key, work the review queue, read a claim's evidence with the edited regions outlined on
// the photo beside the merchant's original, and decide.
//
// Pages are rendered on the server with html/template; the CSS and the small script are
// embedded files (no build step, no inline script, so the Content-Security-Policy can forbid
// inline code). Sessions are server-side; every form carries a per-session CSRF token.
// Photos are proxied through the console with the session's principal, so the service's
// access rules and audit log apply to what a reviewer opens here exactly as they do to the API.
package console

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/refundguard/refundguard/pkg/adjudicate"
	"github.com/refundguard/refundguard/pkg/claim"
)

// basePath is where the console lives; the router mounts the handler on basePath + "/".
const basePath = "/console"

// Service is what the console needs from the claims service (*adjudicate.Service): the
// subset of adjudicate.Transport and adjudicate.ReviewTransport a reviewer uses, with the
// same signatures.
type Service interface {
	Authenticate(ctx context.Context, secret string) (claim.Principal, error)
	GetClaim(ctx context.Context, p claim.Principal, id string) (adjudicate.ClaimDetails, error)
	EvidenceContent(ctx context.Context, p claim.Principal, evidenceID string, heatmap bool) (adjudicate.Content, error)

	LeaseTask(ctx context.Context, p claim.Principal) (task claim.ReviewTask, ok bool, err error)
	GetTask(ctx context.Context, p claim.Principal, id string) (claim.ReviewTask, error)
	ListTasks(ctx context.Context, p claim.Principal, f adjudicate.TaskFilter) ([]adjudicate.TaskView, error)
	HeartbeatTask(ctx context.Context, p claim.Principal, id string) (claim.ReviewTask, error)
	DecideTask(ctx context.Context, p claim.Principal, id string, in adjudicate.DecisionInput) (claim.Decision, error)
	GetBuyerRecord(ctx context.Context, p claim.Principal, buyerID string) (adjudicate.BuyerRecord, error)
	FlagBuyer(ctx context.Context, p claim.Principal, buyerID, reason string) (adjudicate.BuyerFlag, error)
	WriteCaseFile(ctx context.Context, p claim.Principal, claimID string, w io.Writer) error
	ReferenceContent(ctx context.Context, p claim.Principal, imageID string) (adjudicate.Content, error)
}

// Options configure the console. Service is required; zero values elsewhere take defaults.
type Options struct {
	Service Service
	Logger  *slog.Logger     // default: discard
	Clock   func() time.Time // default: time.Now
	// SecureCookies marks cookies Secure; set it whenever the console is reached over HTTPS.
	SecureCookies bool
	// SessionIdle ends a session after this long without a request (default 1 h);
	// SessionMaxAge ends it this long after sign-in regardless (default 12 h).
	SessionIdle   time.Duration
	SessionMaxAge time.Duration
	// Location is the time zone times are shown in (default time.Local).
	Location *time.Location
}

// Console is the reviewer console; it is an http.Handler for everything under /console/.
type Console struct {
	svc      Service
	log      *slog.Logger
	now      func() time.Time
	secure   bool
	loc      *time.Location
	sessions *sessionStore
	pages    map[string]*template.Template
	assets   http.Handler
	mux      *http.ServeMux
	// heartbeatEvery is how often an open claim page renews its lease (leases last 15 min
	// by default, so a minute leaves room for missed beats).
	heartbeatEvery time.Duration
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

// New builds the console. Mount it on "/console/" (and redirect "/console" to it, or let
// the console do so by mounting it on "/console" too).
func New(opts Options) (*Console, error) {
	if opts.Service == nil {
		return nil, errors.New("console: Options.Service is required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.SessionIdle <= 0 {
		opts.SessionIdle = time.Hour
	}
	if opts.SessionMaxAge <= 0 {
		opts.SessionMaxAge = 12 * time.Hour
	}
	if opts.Location == nil {
		opts.Location = time.Local
	}
	static, err := fs.Sub(assetFS, "assets")
	if err != nil {
		return nil, err
	}
	versions, err := assetVersions(static)
	if err != nil {
		return nil, err
	}
	pages, err := parsePages(versions)
	if err != nil {
		return nil, err
	}
	c := &Console{
		svc:      opts.Service,
		log:      opts.Logger,
		now:      opts.Clock,
		secure:   opts.SecureCookies,
		loc:      opts.Location,
		sessions: newSessionStore(opts.SessionIdle, opts.SessionMaxAge, opts.Clock),
		pages:    pages,
		assets:   cacheAssets(versions, http.StripPrefix(basePath+"/assets/", http.FileServerFS(static))),

		heartbeatEvery: time.Minute,
	}
	c.mux = c.routes()
	return c, nil
}

// routes is the console's one route table.
func (c *Console) routes() *http.ServeMux {
	m := http.NewServeMux()
	m.HandleFunc("GET "+basePath, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, basePath+"/", http.StatusFound)
	})
	m.Handle("GET "+basePath+"/assets/", c.assets)
	m.HandleFunc("GET "+basePath+"/signin", c.signinForm)
	m.HandleFunc("POST "+basePath+"/signin", c.signin)
	m.HandleFunc("GET "+basePath+"/lang", c.switchLanguage)

	m.HandleFunc("GET "+basePath+"/{$}", c.authed(c.queue))
	m.HandleFunc("POST "+basePath+"/signout", c.authedPost(c.signout))
	m.HandleFunc("POST "+basePath+"/lease", c.authedPost(c.lease))
	m.HandleFunc("GET "+basePath+"/tasks/{id}", c.authed(c.task))
	m.HandleFunc("POST "+basePath+"/tasks/{id}/decision", c.authedPost(c.decide))
	m.HandleFunc("POST "+basePath+"/tasks/{id}/heartbeat", c.authedPost(c.heartbeat))
	m.HandleFunc("POST "+basePath+"/buyers/{id}/flag", c.authedPost(c.flagBuyer))
	m.HandleFunc("GET "+basePath+"/claims/{id}/case-file", c.authed(c.caseFile))
	m.HandleFunc("GET "+basePath+"/evidence/{id}/content", c.authed(c.evidenceContent(false)))
	m.HandleFunc("GET "+basePath+"/evidence/{id}/heatmap", c.authed(c.evidenceContent(true)))
	m.HandleFunc("GET "+basePath+"/references/{id}/content", c.authed(c.referenceContent))
	return m
}

// contentSecurityPolicy allows only the console's own files: no inline script or style,
// no framing, forms only to the console itself.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// ServeHTTP sets the security headers every console response carries, then routes.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	if !isAsset(r.URL.Path) {
		// Pages and photos hold claim data: never keep them in any cache.
		h.Set("Cache-Control", "no-store")
	}
	c.mux.ServeHTTP(w, r)
}

func isAsset(path string) bool { return strings.HasPrefix(path, basePath+"/assets/") }

type handlerFunc func(w http.ResponseWriter, r *http.Request, s session)

// authed requires a live staff session; without one, pages redirect to sign-in.
func (c *Console) authed(h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, ok := c.sessionFrom(r)
		if !ok {
			if r.Method == http.MethodGet && !isMedia(r.URL.Path) {
				http.Redirect(w, r, basePath+"/signin", http.StatusSeeOther)
				return
			}
			http.Error(w, "sign in first", http.StatusUnauthorized)
			return
		}
		h(w, r, s)
	}
}

// authedPost additionally checks the CSRF token of a state-changing request.
func (c *Console) authedPost(h handlerFunc) http.HandlerFunc {
	return c.authed(func(w http.ResponseWriter, r *http.Request, s session) {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if !csrfOK(r, s.csrf) {
			c.log.WarnContext(r.Context(), "console: CSRF check failed", "path", r.URL.Path, "actor", s.principal.Actor())
			c.renderError(w, r, &s, http.StatusForbidden, c.locale(r).T("error.csrf"))
			return
		}
		h(w, r, s)
	})
}

// isMedia tells photo and download routes, which answer 401 rather than redirect: an
// <img> cannot follow a redirect to a sign-in page usefully.
func isMedia(path string) bool {
	return strings.Contains(path, "/evidence/") || strings.Contains(path, "/references/") ||
		strings.HasSuffix(path, "/case-file")
}

func (c *Console) locale(r *http.Request) *locale {
	return newLocale(chooseLanguage(r), c.loc, c.now())
}

// statusFor maps the service's error codes onto the console's HTTP statuses. The API has
// its own map (pkg/httpapi/errors.go); this one serves HTML pages and photo proxies.
func statusFor(code claim.Code) int {
	switch code {
	case claim.CodeInvalid:
		return http.StatusBadRequest
	case claim.CodeUnauthenticated:
		return http.StatusUnauthorized
	case claim.CodeForbidden:
		return http.StatusForbidden
	case claim.CodeNotFound:
		return http.StatusNotFound
	case claim.CodeConflict:
		return http.StatusConflict
	case claim.CodeTooLarge:
		return http.StatusRequestEntityTooLarge
	case claim.CodeUnsupportedMedia:
		return http.StatusUnsupportedMediaType
	case claim.CodeUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// serviceError logs a failed service call (internal ones in full) and returns the status
// and a message safe to show the reviewer.
func (c *Console) serviceError(r *http.Request, op string, err error) (int, string) {
	code := claim.ErrorCode(err)
	if code == claim.CodeInternal || code == claim.CodeUnavailable {
		c.log.ErrorContext(r.Context(), "console: service call failed", "op", op, "err", err)
	} else {
		c.log.InfoContext(r.Context(), "console: service refused", "op", op, "code", string(code), "err", err)
	}
	return statusFor(code), claim.ErrorMessage(err)
}

func (c *Console) fail(w http.ResponseWriter, r *http.Request, s *session, op string, err error) {
	status, msg := c.serviceError(r, op, err)
	c.renderError(w, r, s, status, msg)
}

func (c *Console) renderError(w http.ResponseWriter, r *http.Request, s *session, status int, msg string) {
	data := errorPage{pageData: c.pageData(r, s, "error.title"), Status: status, Message: msg}
	c.render(w, r, status, "error", data)
}

// render executes a page into a buffer first, so a template failure never sends half a page.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, page string, data any) {
	t, ok := c.pages[page]
	if !ok {
		c.log.ErrorContext(r.Context(), "console: unknown page", "page", page)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		c.log.ErrorContext(r.Context(), "console: rendering failed", "page", page, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if _, err := w.Write(buf.Bytes()); err != nil {
		c.log.DebugContext(r.Context(), "console: client went away", "err", err)
	}
}

// assetVersions fingerprints each embedded asset, so pages can link "console.js?v=<hash>"
// and browsers may keep a file until the binary changes it.
func assetVersions(static fs.FS) (map[string]string, error) {
	versions := map[string]string{}
	err := fs.WalkDir(static, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(static, path)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		versions[path] = hex.EncodeToString(sum[:6])
		return nil
	})
	return versions, err
}

// cacheAssets lets browsers keep an asset for a year when it is asked for by its current
// fingerprint, and makes them ask again otherwise.
func cacheAssets(versions map[string]string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, basePath+"/assets/")
		if v, ok := versions[name]; ok && r.URL.Query().Get("v") == v {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "no-cache")
		}
		next.ServeHTTP(w, r)
	})
}

// parsePages parses each page together with the shared layout.
func parsePages(versions map[string]string) (map[string]*template.Template, error) {
	funcs := template.FuncMap{"asset": func(name string) string {
		return basePath + "/assets/" + name + "?v=" + versions[name]
	}}
	base, err := template.New("base").Funcs(templateFuncs).Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("console: parse layout: %w", err)
	}
	pages := map[string]*template.Template{}
	for _, name := range []string{"signin", "queue", "task", "error"} {
		t, err := template.Must(base.Clone()).ParseFS(templateFS, "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("console: parse %s: %w", name, err)
		}
		pages[name] = t
	}
	return pages, nil
}
