package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"sync"
	"time"

	"github.com/refundguard/refundguard/pkg/claim"
)

// Sessions live on the server: the cookie carries only a random id, so signing out or
// expiring a session takes effect at once and the reviewer's key never leaves the sign-in
// request. A restart signs everyone out, which for a staff console is the safe failure.
const (
	sessionCookie = "rg_console_session"
	signinCookie  = "rg_console_signin" // double-submit token for the sign-in form (no session yet)
	csrfField     = "csrf"
	csrfHeader    = "X-CSRF-Token"
)

type session struct {
	id        string
	principal claim.Principal
	csrf      string
	created   time.Time
	lastSeen  time.Time
}

// sessionStore keeps signed-in reviewers. Sessions end after idle time without a request
// or at an absolute age, whichever comes first.
type sessionStore struct {
	mu     sync.Mutex
	byID   map[string]*session
	idle   time.Duration
	maxAge time.Duration
	now    func() time.Time
}

func newSessionStore(idle, maxAge time.Duration, now func() time.Time) *sessionStore {
	return &sessionStore{byID: map[string]*session{}, idle: idle, maxAge: maxAge, now: now}
}

// create starts a session for p with a fresh id and CSRF token. Expired sessions are
// dropped here, so the map cannot grow beyond the sessions alive at once.
func (s *sessionStore) create(p claim.Principal) (*session, error) {
	id, err := randomToken()
	if err != nil {
		return nil, err
	}
	csrf, err := randomToken()
	if err != nil {
		return nil, err
	}
	now := s.now()
	sess := &session{id: id, principal: p, csrf: csrf, created: now, lastSeen: now}
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, old := range s.byID {
		if s.expired(old, now) {
			delete(s.byID, k)
		}
	}
	s.byID[id] = sess
	return sess, nil
}

// get returns the live session with id and marks it used; ok is false when there is none.
func (s *sessionStore) get(id string) (session, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.byID[id]
	if !ok {
		return session{}, false
	}
	now := s.now()
	if s.expired(sess, now) {
		delete(s.byID, id)
		return session{}, false
	}
	sess.lastSeen = now
	return *sess, true
}

func (s *sessionStore) delete(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byID, id)
}

func (s *sessionStore) expired(sess *session, now time.Time) bool {
	return now.Sub(sess.lastSeen) > s.idle || now.Sub(sess.created) > s.maxAge
}

// randomToken returns 256 random bits, URL-safe.
func randomToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// sameToken compares secrets in constant time; empty never matches.
func sameToken(a, b string) bool {
	return a != "" && b != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// cookie builds the console's cookies: HttpOnly, SameSite=Strict, scoped to /console/,
// Secure when the console is served over HTTPS (Options.SecureCookies).
func (c *Console) cookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     basePath + "/",
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   c.secure,
		SameSite: http.SameSiteStrictMode,
	}
}

// sessionFrom returns the request's live session.
func (c *Console) sessionFrom(r *http.Request) (session, bool) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil || ck.Value == "" {
		return session{}, false
	}
	return c.sessions.get(ck.Value)
}

// csrfOK checks a state-changing request: the session's token in the form field (or the
// header, for the heartbeat script), and, when the browser sends one, an Origin that is this
// host. SameSite=Strict already keeps the cookie off cross-site requests; the token also
// covers same-site attackers and browsers without SameSite.
func csrfOK(r *http.Request, want string) bool {
	if o := r.Header.Get("Origin"); o != "" && o != "null" && !sameOrigin(o, r) {
		return false
	}
	got := r.Header.Get(csrfHeader)
	if got == "" {
		got = r.PostFormValue(csrfField)
	}
	return sameToken(got, want)
}

func sameOrigin(origin string, r *http.Request) bool {
	host := r.Host
	return origin == "http://"+host || origin == "https://"+host
}
