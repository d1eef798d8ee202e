package console

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"

	"github.com/refundguard/refundguard/pkg/adjudicate"
	"github.com/refundguard/refundguard/pkg/claim"
)

// signinForm shows the key form. Without a session there is no session CSRF token, so the
// form carries a double-submit token that is also set as a cookie (login CSRF).
func (c *Console) signinForm(w http.ResponseWriter, r *http.Request) {
	if _, ok := c.sessionFrom(r); ok {
		http.Redirect(w, r, basePath+"/", http.StatusSeeOther)
		return
	}
	c.showSignin(w, r, http.StatusOK, "")
}

func (c *Console) showSignin(w http.ResponseWriter, r *http.Request, status int, errKey string) {
	token, err := randomToken()
	if err != nil {
		c.log.ErrorContext(r.Context(), "console: random token", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	http.SetCookie(w, c.cookie(signinCookie, token, 3600))
	data := signinPage{pageData: c.pageData(r, nil, "signin.title"), SigninToken: token}
	if errKey != "" {
		data.Error = data.L.T(errKey)
	}
	c.render(w, r, status, "signin", data)
}

// signin checks the key with the service and starts a session for staff only.
func (c *Console) signin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	ck, err := r.Cookie(signinCookie)
	if err != nil || !sameToken(ck.Value, r.PostFormValue(csrfField)) ||
		(r.Header.Get("Origin") != "" && r.Header.Get("Origin") != "null" && !sameOrigin(r.Header.Get("Origin"), r)) {
		c.showSignin(w, r, http.StatusForbidden, "error.csrf")
		return
	}
	key := strings.TrimSpace(r.PostFormValue("key"))
	if key == "" {
		c.showSignin(w, r, http.StatusBadRequest, "signin.empty")
		return
	}
	p, err := c.svc.Authenticate(r.Context(), key)
	if err != nil {
		if code := claim.ErrorCode(err); code != claim.CodeUnauthenticated && code != claim.CodeNotFound && code != claim.CodeForbidden {
			status, _ := c.serviceError(r, "authenticate", err)
			c.showSignin(w, r, status, "signin.unavailable")
			return
		}
		c.log.InfoContext(r.Context(), "console: sign-in refused", "reason", "bad key")
		c.showSignin(w, r, http.StatusUnauthorized, "signin.bad_key")
		return
	}
	if !p.Role.IsStaff() {
		c.log.InfoContext(r.Context(), "console: sign-in refused", "reason", "role", "role", string(p.Role))
		c.showSignin(w, r, http.StatusForbidden, "signin.not_reviewer")
		return
	}
	if old, ok := c.sessionFrom(r); ok {
		c.sessions.delete(old.id) // one browser, one session: signing in again replaces it
	}
	s, err := c.sessions.create(p)
	if err != nil {
		c.log.ErrorContext(r.Context(), "console: create session", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	c.log.InfoContext(r.Context(), "console: signed in", "actor", p.Actor())
	http.SetCookie(w, c.cookie(signinCookie, "", -1))
	http.SetCookie(w, c.cookie(sessionCookie, s.id, int(c.sessions.maxAge.Seconds())))
	http.Redirect(w, r, basePath+"/", http.StatusSeeOther)
}

func (c *Console) signout(w http.ResponseWriter, r *http.Request, s session) {
	c.sessions.delete(s.id)
	http.SetCookie(w, c.cookie(sessionCookie, "", -1))
	c.log.InfoContext(r.Context(), "console: signed out", "actor", s.principal.Actor())
	http.Redirect(w, r, basePath+"/signin", http.StatusSeeOther)
}

// switchLanguage stores the reviewer's language and returns to the page they were on.
// Only console paths are accepted as the way back, so the link cannot redirect elsewhere.
func (c *Console) switchLanguage(w http.ResponseWriter, r *http.Request) {
	lang, ok := knownLanguage(r.URL.Query().Get("to"))
	if !ok {
		lang = langEN
	}
	http.SetCookie(w, c.cookie(langCookie, lang, 365*24*3600))
	http.Redirect(w, r, safeBack(r.URL.Query().Get("back")), http.StatusSeeOther)
}

func safeBack(back string) string {
	u, err := url.Parse(back)
	if err != nil || u.IsAbs() || u.Host != "" || strings.HasPrefix(back, "//") || strings.Contains(back, `\`) {
		return basePath + "/"
	}
	// Clean first: "/console/../v1" must not lead out of the console.
	p := path.Clean("/" + u.Path)
	if p != basePath && !strings.HasPrefix(p, basePath+"/") {
		return basePath + "/"
	}
	if strings.HasSuffix(u.Path, "/") && p != "/" {
		p += "/"
	}
	if p == basePath {
		p = basePath + "/"
	}
	out := url.URL{Path: p, RawQuery: u.RawQuery}
	return out.RequestURI()
}

// queue lists open and leased tasks, filtered by kind and route.
func (c *Console) queue(w http.ResponseWriter, r *http.Request, s session) {
	q := r.URL.Query()
	data := queuePage{
		pageData: c.pageData(r, &s, "queue.title"),
		Kind:     q.Get("kind"), Route: q.Get("route"),
		Kinds: taskKinds, Routes: queueRoutes,
		Empty: q.Get("empty") == "1", Decided: q.Get("decided"),
	}
	tasks, err := c.svc.ListTasks(r.Context(), s.principal, adjudicate.TaskFilter{
		Kind: claim.TaskKind(data.Kind), Route: claim.Route(data.Route), Limit: 200,
	})
	if err != nil {
		c.fail(w, r, &s, "list tasks", err)
		return
	}
	data.Tasks = tasks
	c.render(w, r, http.StatusOK, "queue", data)
}

// lease takes the next task from the queue and opens it.
func (c *Console) lease(w http.ResponseWriter, r *http.Request, s session) {
	task, ok, err := c.svc.LeaseTask(r.Context(), s.principal)
	if err != nil {
		c.fail(w, r, &s, "lease task", err)
		return
	}
	if !ok {
		http.Redirect(w, r, basePath+"/?empty=1", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, basePath+"/tasks/"+url.PathEscape(task.ID), http.StatusSeeOther)
}

// task shows the claim page of a review task.
func (c *Console) task(w http.ResponseWriter, r *http.Request, s session) {
	data, err := c.loadTask(r, s, r.PathValue("id"))
	if err != nil {
		c.fail(w, r, &s, "load task", err)
		return
	}
	c.render(w, r, http.StatusOK, "task", data)
}

// loadTask gathers everything the claim page shows. The buyer's record is optional: a
// failure there is shown in its panel rather than hiding the claim.
func (c *Console) loadTask(r *http.Request, s session, id string) (*taskPage, error) {
	ctx := r.Context()
	task, err := c.svc.GetTask(ctx, s.principal, id)
	if err != nil {
		return nil, err
	}
	details, err := c.svc.GetClaim(ctx, s.principal, task.ClaimID)
	if err != nil {
		return nil, err
	}
	d := &taskPage{
		pageData: c.pageData(r, &s, "task.title"),
		Task:     task, Claim: details.Claim, Order: details.Order,
		Timeline: timelineEntries(details.Timeline), Outcomes: outcomes, Reasons: claim.RejectReasons(),
		Form:        decisionForm{Amount: amountInput(details.Claim.Amount)},
		HeartbeatMS: c.heartbeatEvery.Milliseconds(),
	}
	l := d.L
	d.Title = l.T("task.title_claim", shortID(details.Claim.ID))
	d.Mine = task.State == claim.TaskLeased && leasedBy(task, s.principal)
	byID := map[string]claim.Evidence{}
	n := 0
	for _, ev := range details.Evidence {
		byID[ev.ID] = ev
		if ev.Source != claim.SourceMerchant {
			n++
			d.Evidence = append(d.Evidence, buildEvidence(l, ev, n, details.Order))
		}
	}
	// photos are the views of the evidence a response or an appeal brought, numbered in it.
	photos := func(ids []string) []evidenceView {
		var out []evidenceView
		for i, eid := range ids {
			if ev, ok := byID[eid]; ok {
				out = append(out, buildEvidence(l, ev, i+1, details.Order))
			}
		}
		return out
	}
	for _, resp := range details.Responses {
		d.Responses = append(d.Responses, responseView{Response: resp, Photos: photos(resp.EvidenceIDs)})
	}
	for _, ap := range details.Appeals {
		d.Appeals = append(d.Appeals, appealView{Appeal: ap, Photos: photos(ap.EvidenceIDs)})
	}
	d.Milestones = milestones(l, details.Order, details.Claim, d.Evidence, captureTimes(details.Evidence))
	for i := range details.Decisions {
		dec := details.Decisions[i]
		if dec.Outcome != "" {
			d.Reviews = append(d.Reviews, dec)
		} else if len(dec.Rules) > 0 || dec.Route != "" {
			d.RuleDecision = &details.Decisions[i]
		}
	}
	if d.RuleDecision != nil {
		d.Rules = ruleViews(d.RuleDecision.Rules)
	}
	if task.Kind == claim.TaskSecondReview && len(d.Reviews) > 0 {
		first := d.Reviews[len(d.Reviews)-1]
		d.FirstDecision = &first
	}
	rec, err := c.svc.GetBuyerRecord(ctx, s.principal, details.Claim.BuyerID)
	if err != nil {
		_, d.RecordError = c.serviceError(r, "buyer record", err)
	} else {
		d.Record = &rec
	}
	return d, nil
}

// leasedBy reports whether the task's lease is p's. The service records the holder as the
// principal's actor name; the subject and key id are accepted too so the form does not vanish
// if that convention changes (the service still enforces the lease on DecideTask).
func leasedBy(t claim.ReviewTask, p claim.Principal) bool {
	return t.LeasedBy != "" && (t.LeasedBy == p.Actor() || t.LeasedBy == p.Subject || t.LeasedBy == p.KeyID)
}

// decide records the reviewer's ruling. Invalid input re-renders the claim page with the
// form as typed and the reason, so nothing the reviewer wrote is lost.
func (c *Console) decide(w http.ResponseWriter, r *http.Request, s session) {
	id := r.PathValue("id")
	form := decisionForm{
		Outcome:    r.PostFormValue("outcome"),
		Amount:     strings.TrimSpace(r.PostFormValue("amount")),
		ReasonCode: r.PostFormValue("reason_code"),
		Note:       strings.TrimSpace(r.PostFormValue("note")),
	}
	data, err := c.loadTask(r, s, id)
	if err != nil {
		c.fail(w, r, &s, "load task", err)
		return
	}
	in, errKey := decisionInput(form, data.Claim.Amount)
	status, msg := http.StatusBadRequest, ""
	if errKey != "" {
		msg = data.L.T(errKey)
	} else if _, err := c.svc.DecideTask(r.Context(), s.principal, id, in); err != nil {
		status, msg = c.serviceError(r, "decide task", err)
	} else {
		c.log.InfoContext(r.Context(), "console: decided", "actor", s.principal.Actor(), "task", id, "outcome", string(in.Outcome))
		http.Redirect(w, r, basePath+"/?decided="+url.QueryEscape(data.Claim.ID), http.StatusSeeOther)
		return
	}
	data.Form = form
	data.Error = msg
	c.render(w, r, status, "task", data)
}

// decisionInput validates the form; the returned key names the message for a bad field.
func decisionInput(f decisionForm, claimed claim.Money) (adjudicate.DecisionInput, string) {
	in := adjudicate.DecisionInput{Outcome: claim.Outcome(f.Outcome), Note: f.Note}
	switch in.Outcome {
	case claim.OutcomeApprove:
	case claim.OutcomeRequestEvidence:
		// The buyer is told what to send; an empty request would leave them guessing.
		if f.Note == "" {
			return in, "decide.need_request"
		}
	case claim.OutcomePartial:
		v, err := parseAmount(f.Amount, claimed.Currency)
		if err != nil {
			return in, "decide.bad_amount"
		}
		if v >= claimed.Value {
			return in, "decide.partial_too_much"
		}
		in.Amount = &v
	case claim.OutcomeReject:
		if f.ReasonCode == "" {
			return in, "decide.need_reason"
		}
		in.ReasonCode = f.ReasonCode
	default:
		return in, "decide.need_outcome"
	}
	return in, ""
}

// heartbeat extends the lease while the claim page is open (called by the page script).
func (c *Console) heartbeat(w http.ResponseWriter, r *http.Request, s session) {
	t, err := c.svc.HeartbeatTask(r.Context(), s.principal, r.PathValue("id"))
	if err != nil {
		status, msg := c.serviceError(r, "heartbeat", err)
		http.Error(w, msg, status)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if t.LeaseExpiresAt != nil {
		_, _ = io.WriteString(w, t.LeaseExpiresAt.UTC().Format("2006-01-02T15:04:05Z"))
	}
}

// flagBuyer marks the buyer with the reviewer's reason and returns to the claim page.
func (c *Console) flagBuyer(w http.ResponseWriter, r *http.Request, s session) {
	buyer := r.PathValue("id")
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	back := safeBack(r.PostFormValue("back"))
	if reason == "" {
		c.renderError(w, r, &s, http.StatusBadRequest, c.locale(r).T("flag.need_reason"))
		return
	}
	if _, err := c.svc.FlagBuyer(r.Context(), s.principal, buyer, reason); err != nil {
		c.fail(w, r, &s, "flag buyer", err)
		return
	}
	c.log.InfoContext(r.Context(), "console: buyer flagged", "actor", s.principal.Actor(), "buyer", buyer)
	http.Redirect(w, r, back+"#record", http.StatusSeeOther)
}

// caseFile streams the claim's ZIP. Headers go out only when the service starts writing,
// so a refusal before the first byte is still a proper error status.
func (c *Console) caseFile(w http.ResponseWriter, r *http.Request, s session) {
	id := r.PathValue("id")
	cw := &lazyWriter{w: w, start: func() {
		w.Header().Set("Content-Type", "application/zip")
		w.Header().Set("Content-Disposition", `attachment; filename="case-`+safeFileName(id)+`.zip"`)
	}}
	if err := c.svc.WriteCaseFile(r.Context(), s.principal, id, cw); err != nil {
		if cw.started {
			// Too late for a status: the client gets a truncated ZIP, which fails to open.
			c.log.ErrorContext(r.Context(), "console: case file interrupted", "claim", id, "err", err)
			return
		}
		status, msg := c.serviceError(r, "case file", err)
		http.Error(w, msg, status)
	}
}

type lazyWriter struct {
	w       io.Writer
	start   func()
	started bool
}

func (l *lazyWriter) Write(p []byte) (int, error) {
	if !l.started {
		l.started = true
		l.start()
	}
	return l.w.Write(p)
}

func safeFileName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, s)
}

// evidenceContent proxies a photo or its heatmap with the session's principal, so the
// service checks access and audits the viewing as it does for the API.
func (c *Console) evidenceContent(heatmap bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, s session) {
		content, err := c.svc.EvidenceContent(r.Context(), s.principal, r.PathValue("id"), heatmap)
		c.sendContent(w, r, "evidence content", content, err)
	}
}

func (c *Console) referenceContent(w http.ResponseWriter, r *http.Request, s session) {
	content, err := c.svc.ReferenceContent(r.Context(), s.principal, r.PathValue("id"))
	c.sendContent(w, r, "reference content", content, err)
}

// imageTypes are the content types sent as they are; anything else goes out as a download
// so that a stored file can never be rendered as a page in the console's origin.
var imageTypes = map[string]bool{
	"image/jpeg": true, "image/png": true, "image/webp": true, "image/gif": true,
}

func (c *Console) sendContent(w http.ResponseWriter, r *http.Request, op string, content adjudicate.Content, err error) {
	if err != nil {
		status, msg := c.serviceError(r, op, err)
		http.Error(w, msg, status)
		return
	}
	defer content.Body.Close()
	ct := content.ContentType
	if !imageTypes[ct] {
		ct = "application/octet-stream"
		w.Header().Set("Content-Disposition", "attachment")
	}
	w.Header().Set("Content-Type", ct)
	if content.Size > 0 {
		w.Header().Set("Content-Length", strconv.FormatInt(content.Size, 10))
	}
	if content.SHA256 != "" {
		w.Header().Set("ETag", `"`+content.SHA256+`"`)
	}
	if _, err := io.Copy(w, content.Body); err != nil && !errors.Is(err, r.Context().Err()) {
		c.log.WarnContext(r.Context(), "console: sending content", "op", op, "err", err)
	}
}
