package httpapi

// Handlers of issue 4: the review queue, decisions, appeals, the buyer's record, case
// files and rule set versions. Same shape as handlers.go: decode, call the service with the
// request's context, encode.

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/refundguard/refundguard/pkg/adjudicate"
	"github.com/refundguard/refundguard/pkg/claim"
	"github.com/refundguard/refundguard/rules"
)

// ReviewService is the review half of Service: adjudicate.ReviewTransport and
// adjudicate.RuleSetTransport, with identical signatures.
type ReviewService interface {
	LeaseTask(ctx context.Context, p claim.Principal) (claim.ReviewTask, bool, error)
	GetTask(ctx context.Context, p claim.Principal, id string) (claim.ReviewTask, error)
	ListTasks(ctx context.Context, p claim.Principal, f adjudicate.TaskFilter) ([]adjudicate.TaskView, error)
	HeartbeatTask(ctx context.Context, p claim.Principal, id string) (claim.ReviewTask, error)
	DecideTask(ctx context.Context, p claim.Principal, id string, in adjudicate.DecisionInput) (claim.Decision, error)
	Appeal(ctx context.Context, p claim.Principal, claimID string, in adjudicate.AppealInput) (claim.Claim, error)
	GetBuyerRecord(ctx context.Context, p claim.Principal, buyerID string) (adjudicate.BuyerRecord, error)
	FlagBuyer(ctx context.Context, p claim.Principal, buyerID, reason string) (adjudicate.BuyerFlag, error)
	WriteCaseFile(ctx context.Context, p claim.Principal, claimID string, w io.Writer) error

	CreateRuleSet(ctx context.Context, p claim.Principal, yaml []byte) (claim.RuleSetVersion, bool, error)
	ListRuleSets(ctx context.Context, p claim.Principal) ([]claim.RuleSetVersion, error)
	GetRuleSet(ctx context.Context, p claim.Principal, id string) (claim.RuleSetVersion, error)
	ActivateRuleSet(ctx context.Context, p claim.Principal, id string) (claim.RuleSetVersion, error)
	BacktestRuleSet(ctx context.Context, p claim.Principal, id string) (rules.BacktestReport, error)
}

var (
	staff        = []claim.Role{claim.RoleReviewer, claim.RoleAdmin}
	claimParties = []claim.Role{claim.RoleBuyer, claim.RoleMerchant}
	caseFileView = []claim.Role{claim.RoleMerchant, claim.RoleReviewer, claim.RoleAdmin}
)

// reviewRoutes are the rows routeTable adds for issue 4.
func (a *API) reviewRoutes() []route {
	return []route{
		{http.MethodPost, "/v1/review/lease", staff, bodyNone, a.leaseTask},
		{http.MethodGet, "/v1/review/tasks", staff, bodyNone, a.listTasks},
		{http.MethodGet, "/v1/review/tasks/{id}", staff, bodyNone, a.getTask},
		{http.MethodPost, "/v1/review/tasks/{id}/heartbeat", staff, bodyNone, a.heartbeatTask},
		{http.MethodPost, "/v1/review/tasks/{id}/decision", staff, bodyJSON, a.decideTask},

		{http.MethodPost, "/v1/claims/{id}/appeal", claimParties, bodyMultipart, a.appeal},
		{http.MethodGet, "/v1/claims/{id}/case-file", caseFileView, bodyNone, a.caseFile},

		{http.MethodGet, "/v1/buyers/{id}/record", staff, bodyNone, a.buyerRecord},
		{http.MethodPost, "/v1/buyers/{id}/flags", staff, bodyJSON, a.flagBuyer},

		{http.MethodPost, "/v1/rulesets", admins, bodyJSON, a.createRuleSet},
		{http.MethodGet, "/v1/rulesets", admins, bodyNone, a.listRuleSets},
		{http.MethodGet, "/v1/rulesets/{id}", admins, bodyNone, a.getRuleSet},
		{http.MethodPost, "/v1/rulesets/{id}/activate", admins, bodyNone, a.activateRuleSet},
		{http.MethodPost, "/v1/rulesets/{id}/backtest", admins, bodyNone, a.backtestRuleSet},
	}
}

// ---- review queue ----

func (a *API) leaseTask(c *gin.Context, p claim.Principal) error {
	t, ok, err := a.svc.LeaseTask(c.Request.Context(), p)
	if err != nil {
		return err
	}
	if !ok {
		c.Status(http.StatusNoContent)
		return nil
	}
	writeJSON(c, http.StatusOK, toTask(t))
	return nil
}

func (a *API) listTasks(c *gin.Context, p claim.Principal) error {
	f := adjudicate.TaskFilter{Kind: claim.TaskKind(c.Query("kind")), Route: claim.Route(c.Query("route")), State: claim.TaskState(c.Query("state"))}
	switch f.Kind {
	case "", claim.TaskReview, claim.TaskSecondReview, claim.TaskAppeal:
	default:
		return claim.FieldError("kind", "kind must be review, second_review or appeal")
	}
	if f.Route != "" && f.Route.Severity() == 0 {
		return claim.FieldError("route", "route must be approve, request_evidence, await_merchant, review or review_priority")
	}
	switch f.State {
	case "", claim.TaskOpen, claim.TaskLeased, claim.TaskDone:
	default:
		return claim.FieldError("state", "state must be open, leased or done")
	}
	if s := c.Query("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxListLimit {
			return claim.FieldError("limit", "limit must be a whole number from 1 to %d", maxListLimit)
		}
		f.Limit = n
	}
	views, err := a.svc.ListTasks(c.Request.Context(), p, f)
	if err != nil {
		return err
	}
	out := taskList{Tasks: make([]taskRowDTO, len(views))}
	for i, v := range views {
		out.Tasks[i] = taskRowDTO{taskDTO: toTask(v.Task), Claim: toStaffSummary(v.Claim)}
	}
	writeJSON(c, http.StatusOK, out)
	return nil
}

func (a *API) getTask(c *gin.Context, p claim.Principal) error {
	t, err := a.svc.GetTask(c.Request.Context(), p, c.Param("id"))
	if err != nil {
		return err
	}
	writeJSON(c, http.StatusOK, toTask(t))
	return nil
}

func (a *API) heartbeatTask(c *gin.Context, p claim.Principal) error {
	t, err := a.svc.HeartbeatTask(c.Request.Context(), p, c.Param("id"))
	if err != nil {
		return err
	}
	writeJSON(c, http.StatusOK, toTask(t))
	return nil
}

func (a *API) decideTask(c *gin.Context, p claim.Principal) error {
	var req decisionRequest
	if err := decodeJSON(c.Request, &req); err != nil {
		return err
	}
	switch req.Outcome {
	case claim.OutcomeApprove, claim.OutcomePartial, claim.OutcomeReject, claim.OutcomeRequestEvidence:
	default:
		return claim.FieldError("outcome", "outcome must be approve, partial, reject or request_evidence")
	}
	d, err := a.svc.DecideTask(c.Request.Context(), p, c.Param("id"), adjudicate.DecisionInput{
		Outcome: req.Outcome, Amount: req.Amount, ReasonCode: req.ReasonCode, Note: req.Note})
	if err != nil {
		return err
	}
	writeJSON(c, http.StatusOK, toDecision(d))
	return nil
}

// ---- appeals and case files ----

func (a *API) appeal(c *gin.Context, p claim.Principal) error {
	form, err := a.readUploadForm(c.Request, "statement")
	if err != nil {
		return err
	}
	if err := form.require("statement"); err != nil {
		return err
	}
	cl, err := a.svc.Appeal(c.Request.Context(), p, c.Param("id"), adjudicate.AppealInput{Statement: form.fields["statement"], Photos: form.photos})
	if err != nil {
		return err
	}
	switch p.Role {
	case claim.RoleBuyer:
		writeJSON(c, http.StatusCreated, toBuyerSummary(cl))
	case claim.RoleMerchant:
		writeJSON(c, http.StatusCreated, toMerchantSummary(cl))
	default:
		return unknownRole(p)
	}
	return nil
}

// caseFile streams the ZIP. The service writes nothing until it knows the claim may be
// exported, so a refusal is still a problem response; the archive is built in memory first
// only up to the first write, then streamed.
func (a *API) caseFile(c *gin.Context, p claim.Principal) error {
	w := &lazyZipWriter{c: c, claimID: c.Param("id")}
	if err := a.svc.WriteCaseFile(c.Request.Context(), p, c.Param("id"), w); err != nil {
		if w.started {
			// Mid-stream: the status is sent; the client sees a truncated archive.
			a.log.WarnContext(c.Request.Context(), "case file stream interrupted", "error", cleanForLog(err.Error()))
			return nil
		}
		return err
	}
	if !w.started {
		w.start()
	}
	return nil
}

// lazyZipWriter sends the headers on the first write.
type lazyZipWriter struct {
	c       *gin.Context
	claimID string
	started bool
}

func (w *lazyZipWriter) start() {
	w.started = true
	h := w.c.Writer.Header()
	h.Set("Content-Type", "application/zip")
	h.Set("Content-Disposition", `attachment; filename="case-`+safeFileName(w.claimID)+`.zip"`)
	h.Set("Cache-Control", "private, no-store")
	w.c.Status(http.StatusOK)
}

func (w *lazyZipWriter) Write(p []byte) (int, error) {
	if !w.started {
		w.start()
	}
	return w.c.Writer.Write(p)
}

// safeFileName keeps an id fit for a Content-Disposition file name.
func safeFileName(id string) string {
	var b strings.Builder
	for _, r := range id {
		if r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return "claim"
	}
	return b.String()
}

// ---- buyers ----

func (a *API) buyerRecord(c *gin.Context, p claim.Principal) error {
	rec, err := a.svc.GetBuyerRecord(c.Request.Context(), p, c.Param("id"))
	if err != nil {
		return err
	}
	writeJSON(c, http.StatusOK, toBuyerRecord(rec))
	return nil
}

func (a *API) flagBuyer(c *gin.Context, p claim.Principal) error {
	var req flagRequest
	if err := decodeJSON(c.Request, &req); err != nil {
		return err
	}
	if strings.TrimSpace(req.Reason) == "" {
		return claim.FieldError("reason", "a flag needs a reason")
	}
	f, err := a.svc.FlagBuyer(c.Request.Context(), p, c.Param("id"), req.Reason)
	if err != nil {
		return err
	}
	writeJSON(c, http.StatusCreated, toFlag(f))
	return nil
}

// ---- rule sets ----

func (a *API) createRuleSet(c *gin.Context, p claim.Principal) error {
	var req ruleSetRequest
	if err := decodeJSON(c.Request, &req); err != nil {
		return err
	}
	if strings.TrimSpace(req.YAML) == "" {
		return claim.FieldError("yaml", "yaml is required: the rule set as YAML text (refundguard rules default prints the default)")
	}
	rs, created, err := a.svc.CreateRuleSet(c.Request.Context(), p, []byte(req.YAML))
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
		c.Header("Location", "/v1/rulesets/"+rs.ID)
	}
	writeJSON(c, status, toRuleSet(rs, true))
	return nil
}

func (a *API) listRuleSets(c *gin.Context, p claim.Principal) error {
	sets, err := a.svc.ListRuleSets(c.Request.Context(), p)
	if err != nil {
		return err
	}
	out := ruleSetList{RuleSets: make([]ruleSetDTO, len(sets))}
	for i, rs := range sets {
		out.RuleSets[i] = toRuleSet(rs, false)
	}
	writeJSON(c, http.StatusOK, out)
	return nil
}

func (a *API) getRuleSet(c *gin.Context, p claim.Principal) error {
	rs, err := a.svc.GetRuleSet(c.Request.Context(), p, c.Param("id"))
	if err != nil {
		return err
	}
	writeJSON(c, http.StatusOK, toRuleSet(rs, true))
	return nil
}

func (a *API) activateRuleSet(c *gin.Context, p claim.Principal) error {
	rs, err := a.svc.ActivateRuleSet(c.Request.Context(), p, c.Param("id"))
	if err != nil {
		return err
	}
	writeJSON(c, http.StatusOK, toRuleSet(rs, false))
	return nil
}

func (a *API) backtestRuleSet(c *gin.Context, p claim.Principal) error {
	rep, err := a.svc.BacktestRuleSet(c.Request.Context(), p, c.Param("id"))
	if err != nil {
		return err
	}
	writeJSON(c, http.StatusOK, rep)
	return nil
}

// ruleSetSummary is what a listing says about a stored set besides its YAML. Stored sets
// compiled when they were stored; one that no longer does shows zero rules.
func ruleSetSummary(yaml []byte) (n int, window string, fallback string) {
	set, err := rules.Compile(yaml)
	if err != nil {
		return 0, "", ""
	}
	return len(set.Rules), set.MerchantResponseWindow.String(), string(set.Fallback)
}
