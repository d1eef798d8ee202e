package console

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/refundguard/refundguard/pkg/claim"
)

// testClock is a settable clock shared by the console and the fake service.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type fixture struct {
	srv   *httptest.Server
	svc   *fakeService
	clock *testClock
}

func newFixture(t *testing.T, secure bool) *fixture {
	t.Helper()
	clock := &testClock{t: time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)}
	svc := newFakeService(clock.Now)
	svc.addKey("rk_alice", claim.RoleReviewer, "alice")
	svc.addKey("rk_bob", claim.RoleReviewer, "bob")
	svc.addKey("ak_root", claim.RoleAdmin, "root")
	svc.addKey("bk_buyer", claim.RoleBuyer, "b-4412")
	svc.addKey("mk_merchant", claim.RoleMerchant, "m-hangzhou-ceramics")
	svc.seed()
	c, err := New(Options{Service: svc, Clock: clock.Now, SecureCookies: secure, Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	c.heartbeatEvery = 300 * time.Millisecond // browser tests watch the lease being renewed
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	return &fixture{srv: srv, svc: svc, clock: clock}
}

// client is a browser-like HTTP client: it keeps cookies and does not follow redirects,
// so tests can read each Location.
type client struct {
	t    *testing.T
	base string
	http *http.Client
	lang string
}

func (f *fixture) client(t *testing.T) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: f.srv.URL, http: &http.Client{
		Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}}
}

type page struct {
	status int
	header http.Header
	body   string
}

func (c *client) do(req *http.Request) page {
	c.t.Helper()
	if c.lang != "" {
		req.Header.Set("Accept-Language", c.lang)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

func (c *client) get(path string) page {
	req, _ := http.NewRequest(http.MethodGet, c.base+path, nil)
	return c.do(req)
}

func (c *client) post(path string, form url.Values) page {
	req, _ := http.NewRequest(http.MethodPost, c.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// token reads the CSRF token from a page's forms.
func (c *client) token(p page) string {
	c.t.Helper()
	m := csrfInput.FindStringSubmatch(p.body)
	if m == nil {
		c.t.Fatalf("no CSRF field in page:\n%s", p.body)
	}
	return m[1]
}

// signIn signs in with key and returns the session's CSRF token.
func (c *client) signIn(key string) string {
	c.t.Helper()
	form := c.get("/console/signin")
	p := c.post("/console/signin", url.Values{"csrf": {c.token(form)}, "key": {key}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/console/" {
		c.t.Fatalf("sign-in with %q: status %d, location %q\n%s", key, p.status, p.header.Get("Location"), p.body)
	}
	return c.token(c.get("/console/"))
}

func TestSignIn(t *testing.T) {
	tests := []struct {
		name       string
		key        string
		wantStatus int
		wantText   string // on the re-rendered form when refused
	}{
		{"reviewer key opens a session", "rk_alice", http.StatusSeeOther, ""},
		{"admin key opens a session", "ak_root", http.StatusSeeOther, ""},
		{"buyer key is refused by role", "bk_buyer", http.StatusForbidden, "The console is for reviewers"},
		{"merchant key is refused by role", "mk_merchant", http.StatusForbidden, "The console is for reviewers"},
		{"unknown key is refused", "rk_nobody", http.StatusUnauthorized, "That key is not valid"},
		{"empty key asks for one", "  ", http.StatusBadRequest, "Enter your reviewer key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, false)
			c := f.client(t)
			form := c.get("/console/signin")
			p := c.post("/console/signin", url.Values{"csrf": {c.token(form)}, "key": {tt.key}})
			if p.status != tt.wantStatus {
				t.Fatalf("status %d, want %d\n%s", p.status, tt.wantStatus, p.body)
			}
			if tt.wantText != "" && !strings.Contains(p.body, tt.wantText) {
				t.Errorf("page does not say %q:\n%s", tt.wantText, p.body)
			}
			queue := c.get("/console/")
			signedIn := queue.status == http.StatusOK
			if signedIn != (tt.wantStatus == http.StatusSeeOther) {
				t.Errorf("after sign-in attempt the queue answered %d", queue.status)
			}
		})
	}
}

func TestSessionCookieAttributes(t *testing.T) {
	for _, secure := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain HTTP leaves Secure off", true: "SecureCookies sets Secure"}[secure], func(t *testing.T) {
			f := newFixture(t, secure)
			c := f.client(t)
			form := c.get("/console/signin")
			// The jar would drop Secure cookies over http://, so read the signin token from the page
			// and send its cookie by hand.
			var signin *http.Cookie
			for _, ck := range (&http.Response{Header: form.header}).Cookies() {
				if ck.Name == signinCookie {
					signin = ck
				}
			}
			if signin == nil {
				t.Fatal("sign-in form set no token cookie")
			}
			req, _ := http.NewRequest(http.MethodPost, c.base+"/console/signin",
				strings.NewReader(url.Values{"csrf": {c.token(form)}, "key": {"rk_alice"}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.AddCookie(&http.Cookie{Name: signin.Name, Value: signin.Value})
			p := c.do(req)
			var sess *http.Cookie
			for _, ck := range (&http.Response{Header: p.header}).Cookies() {
				if ck.Name == sessionCookie {
					sess = ck
				}
			}
			if sess == nil {
				t.Fatalf("no session cookie; status %d", p.status)
			}
			if !sess.HttpOnly || sess.SameSite != http.SameSiteStrictMode || sess.Secure != secure || sess.Path != "/console/" {
				t.Errorf("session cookie = %+v; want HttpOnly, SameSite=Strict, Secure=%v, Path=/console/", sess, secure)
			}
			if strings.Contains(sess.Value, "rk_alice") {
				t.Error("the session cookie carries the reviewer key")
			}
		})
	}
}

func TestSignInNeedsItsFormToken(t *testing.T) {
	f := newFixture(t, false)
	tests := []struct {
		name  string
		token func(c *client) string
	}{
		{"no token", func(*client) string { return "" }},
		{"a forged token", func(*client) string { return "forged" }},
		{"a token without its cookie", func(c *client) string {
			tok := c.token(c.get("/console/signin"))
			c.http.Jar, _ = cookiejar.New(nil)
			return tok
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := f.client(t)
			c.get("/console/signin")
			p := c.post("/console/signin", url.Values{"csrf": {tt.token(c)}, "key": {"rk_alice"}})
			if p.status != http.StatusForbidden {
				t.Fatalf("status %d, want 403", p.status)
			}
			if c.get("/console/").status != http.StatusSeeOther {
				t.Error("a session was opened without a valid form token")
			}
		})
	}
}

func TestCSRFRejection(t *testing.T) {
	posts := []struct {
		name string
		path string
		form url.Values
	}{
		{"lease", "/console/lease", nil},
		{"decision", "/console/tasks/task-big/decision", url.Values{"outcome": {"approve"}}},
		{"flag buyer", "/console/buyers/b-4412/flag", url.Values{"reason": {"x"}}},
		{"heartbeat", "/console/tasks/task-big/heartbeat", nil},
		{"sign out", "/console/signout", nil},
	}
	for _, p := range posts {
		for _, bad := range []struct {
			name   string
			token  func(good string) string
			origin string
		}{
			{"without a token", func(string) string { return "" }, ""},
			{"with a wrong token", func(string) string { return "not-the-token" }, ""},
			{"with the token from another site", func(good string) string { return good }, "https://evil.example"},
		} {
			t.Run(p.name+" "+bad.name, func(t *testing.T) {
				f := newFixture(t, false)
				c := f.client(t)
				good := c.signIn("rk_alice")
				form := url.Values{}
				for k, v := range p.form {
					form[k] = v
				}
				form.Set("csrf", bad.token(good))
				req, _ := http.NewRequest(http.MethodPost, c.base+p.path, strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				if bad.origin != "" {
					req.Header.Set("Origin", bad.origin)
				}
				resp := c.do(req)
				if resp.status != http.StatusForbidden {
					t.Fatalf("status %d, want 403", resp.status)
				}
				if len(f.svc.decisions) != 0 || len(f.svc.flags) != 0 {
					t.Error("the service was called despite the failed CSRF check")
				}
				for _, task := range f.svc.tasks {
					if task.State != claim.TaskOpen {
						t.Errorf("task %s was leased despite the failed CSRF check", task.ID)
					}
				}
				if c.get("/console/").status != http.StatusOK {
					t.Error("the session ended despite the failed CSRF check")
				}
			})
		}
	}
}

func TestUnauthenticatedRequests(t *testing.T) {
	f := newFixture(t, false)
	c := f.client(t)
	for _, tt := range []struct {
		path       string
		wantStatus int
	}{
		{"/console/", http.StatusSeeOther},
		{"/console/tasks/task-big", http.StatusSeeOther},
		{"/console/evidence/ev-1/content", http.StatusUnauthorized},
		{"/console/references/ref-catalog-1/content", http.StatusUnauthorized},
		{"/console/claims/clm-9f3a2c71d0/case-file", http.StatusUnauthorized},
	} {
		t.Run(tt.path, func(t *testing.T) {
			p := c.get(tt.path)
			if p.status != tt.wantStatus {
				t.Fatalf("status %d, want %d", p.status, tt.wantStatus)
			}
			if p.status == http.StatusSeeOther && p.header.Get("Location") != "/console/signin" {
				t.Errorf("redirect to %q, want the sign-in page", p.header.Get("Location"))
			}
		})
	}
}

func TestSessionEnds(t *testing.T) {
	t.Run("sign out ends the session on the server", func(t *testing.T) {
		f := newFixture(t, false)
		c := f.client(t)
		tok := c.signIn("rk_alice")
		// Keep a copy of the cookie as an attacker who stole it would.
		u, _ := url.Parse(f.srv.URL + "/console/")
		stolen := c.http.Jar.Cookies(u)
		if p := c.post("/console/signout", url.Values{"csrf": {tok}}); p.status != http.StatusSeeOther {
			t.Fatalf("sign out: %d", p.status)
		}
		other := f.client(t)
		other.http.Jar.SetCookies(u, stolen)
		if p := other.get("/console/"); p.status != http.StatusSeeOther {
			t.Errorf("the old session cookie still works after sign-out (status %d)", p.status)
		}
	})
	t.Run("idle sessions expire", func(t *testing.T) {
		f := newFixture(t, false)
		c := f.client(t)
		c.signIn("rk_alice")
		f.clock.Advance(59 * time.Minute)
		if p := c.get("/console/"); p.status != http.StatusOK {
			t.Fatalf("session ended early: %d", p.status)
		}
		f.clock.Advance(61 * time.Minute)
		if p := c.get("/console/"); p.status != http.StatusSeeOther {
			t.Errorf("idle session still alive: %d", p.status)
		}
	})
	t.Run("sessions end at their maximum age however busy", func(t *testing.T) {
		f := newFixture(t, false)
		c := f.client(t)
		c.signIn("rk_alice")
		for i := 0; i < 25; i++ {
			f.clock.Advance(30 * time.Minute)
			c.get("/console/")
		}
		if p := c.get("/console/"); p.status != http.StatusSeeOther {
			t.Errorf("session older than 12 h still alive: %d", p.status)
		}
	})
}

func TestLanguageSelection(t *testing.T) {
	tests := []struct {
		name           string
		acceptLanguage string
		cookie         string
		wantLang       string
		wantText       string
	}{
		{"no header reads English", "", "", "en", "Sign in"},
		{"zh-CN reads Chinese", "zh-CN,zh;q=0.9,en;q=0.8", "", "zh-CN", "审核员密钥"},
		{"Traditional Chinese tag reads Chinese", "zh-TW", "", "zh-CN", "审核员密钥"},
		{"weights decide", "en;q=0.5, zh;q=0.8", "", "zh-CN", "审核员密钥"},
		{"q=0 excludes a language", "zh;q=0, en", "", "en", "Reviewer key"},
		{"unsupported languages fall back to English", "fr-FR,de;q=0.7", "", "en", "Reviewer key"},
		{"a supported language after an unsupported one wins", "fr-FR,zh-CN;q=0.5", "", "zh-CN", "审核员密钥"},
		{"the switch's cookie beats the header", "zh-CN", "en", "en", "Reviewer key"},
		{"a cookie with an unknown value is ignored", "zh-CN", "xx", "zh-CN", "审核员密钥"},
	}
	f := newFixture(t, false)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, f.srv.URL+"/console/signin", nil)
			if tt.acceptLanguage != "" {
				req.Header.Set("Accept-Language", tt.acceptLanguage)
			}
			if tt.cookie != "" {
				req.AddCookie(&http.Cookie{Name: langCookie, Value: tt.cookie})
			}
			p := f.client(t).do(req)
			if !strings.Contains(p.body, `<html lang="`+tt.wantLang+`">`) {
				t.Errorf("page language is not %s", tt.wantLang)
			}
			if !strings.Contains(p.body, tt.wantText) {
				t.Errorf("page does not contain %q", tt.wantText)
			}
		})
	}
}

func TestLanguageSwitch(t *testing.T) {
	f := newFixture(t, false)
	tests := []struct {
		name     string
		query    string
		wantLoc  string
		wantLang string
	}{
		{"switches and returns to the page", "to=zh-CN&back=%2Fconsole%2Ftasks%2Ftask-big", "/console/tasks/task-big", "zh-CN"},
		{"keeps the query of the page", "to=en&back=%2Fconsole%2F%3Fkind%3Dappeal", "/console/?kind=appeal", "en"},
		{"refuses to leave the console", "to=en&back=https%3A%2F%2Fevil.example%2F", "/console/", "en"},
		{"refuses protocol-relative addresses", "to=en&back=%2F%2Fevil.example%2Fconsole%2F", "/console/", "en"},
		{"refuses paths outside the console", "to=en&back=%2Fv1%2Fclaims", "/console/", "en"},
		{"refuses dot segments out of the console", "to=en&back=%2Fconsole%2F..%2Fv1%2Fclaims", "/console/", "en"},
		{"unknown languages become English", "to=xx&back=%2Fconsole%2F", "/console/", "en"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := f.client(t).get("/console/lang?" + tt.query)
			if p.status != http.StatusSeeOther || p.header.Get("Location") != tt.wantLoc {
				t.Fatalf("status %d location %q, want 303 %q", p.status, p.header.Get("Location"), tt.wantLoc)
			}
			ck := (&http.Response{Header: p.header}).Cookies()
			if len(ck) != 1 || ck[0].Name != langCookie || ck[0].Value != tt.wantLang {
				t.Errorf("cookies %v, want %s=%s", ck, langCookie, tt.wantLang)
			}
		})
	}
}

func TestSecurityHeaders(t *testing.T) {
	f := newFixture(t, false)
	c := f.client(t)
	c.signIn("rk_alice")
	for _, tt := range []struct {
		path      string
		wantStore bool
		wantType  string
	}{
		{"/console/", true, "text/html; charset=utf-8"},
		{"/console/tasks/task-big", true, "text/html; charset=utf-8"},
		{"/console/evidence/ev-1/content", true, "image/png"},
		{"/console/evidence/ev-1/heatmap", true, "image/png"},
		{"/console/references/ref-catalog-1/content", true, "image/png"},
		{"/console/assets/console.js", false, "text/javascript; charset=utf-8"},
		{"/console/assets/console.css?v=stale", false, "text/css; charset=utf-8"},
	} {
		t.Run(tt.path, func(t *testing.T) {
			p := c.get(tt.path)
			if p.status != http.StatusOK {
				t.Fatalf("status %d", p.status)
			}
			csp := p.header.Get("Content-Security-Policy")
			if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "frame-ancestors 'none'") {
				t.Errorf("CSP = %q", csp)
			}
			if got := p.header.Get("Cache-Control") == "no-store"; got != tt.wantStore {
				t.Errorf("Cache-Control = %q, want no-store: %v", p.header.Get("Cache-Control"), tt.wantStore)
			}
			if p.header.Get("Content-Type") != tt.wantType {
				t.Errorf("Content-Type = %q, want %q", p.header.Get("Content-Type"), tt.wantType)
			}
			if p.header.Get("X-Content-Type-Options") != "nosniff" {
				t.Error("no nosniff")
			}
			if strings.HasPrefix(tt.wantType, "text/html") && (strings.Contains(p.body, "<script>") || strings.Contains(p.body, " style=")) {
				t.Error("page has inline script or style, which the CSP would block")
			}
		})
	}
	t.Run("assets linked by their fingerprint are cached for good", func(t *testing.T) {
		m := regexp.MustCompile(`src="(/console/assets/console.js\?v=[0-9a-f]{12})"`).FindStringSubmatch(c.get("/console/").body)
		if m == nil {
			t.Fatal("the page does not link the script by its fingerprint")
		}
		p := c.get(m[1])
		if p.status != http.StatusOK || p.header.Get("Cache-Control") != "public, max-age=31536000, immutable" {
			t.Errorf("status %d, Cache-Control %q", p.status, p.header.Get("Cache-Control"))
		}
	})
}
