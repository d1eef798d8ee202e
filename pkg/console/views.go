package console

import (
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/refundguard/refundguard/forensics"
	"github.com/refundguard/refundguard/pkg/adjudicate"
	"github.com/refundguard/refundguard/pkg/claim"
)

// templateFuncs are the helpers templates call beyond the locale's methods.
var templateFuncs = template.FuncMap{
	"short": shortID,
	"riskClass": func(risk int) string {
		switch {
		case risk >= 70:
			return "risk-high"
		case risk >= 40:
			return "risk-medium"
		}
		return "risk-low"
	},
	"queryEscape": url.QueryEscape,
}

// shortID keeps ids readable in tables; the full id is in the title attribute.
func shortID(id string) string {
	if len(id) <= 10 {
		return id
	}
	return id[:8] + "…"
}

// pageData is what every page's layout needs.
type pageData struct {
	L     *locale
	Title string
	User  *claim.Principal
	CSRF  string
	Path  string // the current page, for the language switch to come back to
	Flash string
	Error string
}

func (c *Console) pageData(r *http.Request, s *session, titleKey string) pageData {
	l := c.locale(r)
	d := pageData{L: l, Title: l.T(titleKey), Path: r.URL.RequestURI()}
	if s != nil {
		p := s.principal
		d.User = &p
		d.CSRF = s.csrf
	}
	return d
}

type errorPage struct {
	pageData
	Status  int
	Message string
}

type signinPage struct {
	pageData
	SigninToken string
}

type queuePage struct {
	pageData
	Tasks   []adjudicate.TaskView
	Kind    string
	Route   string
	Kinds   []claim.TaskKind
	Routes  []claim.Route
	Empty   bool
	Decided string
}

var (
	taskKinds   = []claim.TaskKind{claim.TaskReview, claim.TaskSecondReview, claim.TaskAppeal}
	queueRoutes = []claim.Route{claim.RouteReviewPriority, claim.RouteReview, claim.RouteAwaitMerchant, claim.RouteRequestEvidence, claim.RouteApprove}
	outcomes    = []claim.Outcome{claim.OutcomeApprove, claim.OutcomePartial, claim.OutcomeReject, claim.OutcomeRequestEvidence}
)

// taskPage is the claim page of one review task.
type taskPage struct {
	pageData
	Task          claim.ReviewTask
	Claim         claim.Claim
	Order         claim.Order
	Mine          bool // leased by this reviewer: the decision form is live
	FirstDecision *claim.Decision
	Reviews       []claim.Decision // reviewer decisions, oldest first
	RuleDecision  *claim.Decision
	Rules         []ruleView
	Evidence      []evidenceView
	Responses     []responseView
	Appeals       []appealView
	Record        *adjudicate.BuyerRecord
	RecordError   string
	Timeline      []timelineEntry
	Milestones    []milestone
	Outcomes      []claim.Outcome
	Reasons       []string
	Form          decisionForm
	HeartbeatMS   int64
}

type decisionForm struct {
	Outcome    string
	Amount     string
	ReasonCode string
	Note       string
}

// timelineEntry is one audit event, with the claim status it set when it set one.
type timelineEntry struct {
	claim.AuditEvent
	Status claim.Status
}

func timelineEntries(events []claim.AuditEvent) []timelineEntry {
	out := make([]timelineEntry, 0, len(events))
	for _, ev := range events {
		var after struct {
			Status claim.Status `json:"status"`
		}
		if len(ev.After) > 0 && json.Unmarshal(ev.After, &after) == nil {
			out = append(out, timelineEntry{AuditEvent: ev, Status: after.Status})
			continue
		}
		out = append(out, timelineEntry{AuditEvent: ev})
	}
	return out
}

// appealView is a buyer's or merchant's appeal of the decision, with its new photos.
type appealView struct {
	Appeal claim.Appeal
	Photos []evidenceView
}

type responseView struct {
	Response claim.Response
	Photos   []evidenceView
}

type ruleView struct {
	ID      string
	Matched bool
	Route   claim.Route
	Score   int
	Inputs  []keyValue
	Error   string
}

type keyValue struct{ Key, Value string }

// evidenceView is one photo with what its forensic report says, ready to show.
type evidenceView struct {
	ID          string
	Number      int
	Source      claim.EvidenceSource
	Width       int // displayed (oriented) pixel size; regions are in these coordinates
	Height      int
	HasHeatmap  bool
	Analysed    bool
	ReportError string
	Risk        int
	Regions     []forensics.Region
	Reference   *referenceView
	Findings    []findingView
	Meta        []metaRow
}

type referenceView struct {
	ID        string
	Transform string
	Distance  *int
}

type findingView struct {
	Code       string
	Severity   string
	Title      string
	Text       string
	Note       string // the engine's own message, for the curious
	Confidence float64
}

type metaRow struct {
	Label string
	Value string
	Warn  bool
}

// milestone is one dated event in the order's life, to set a photo's capture time against.
type milestone struct {
	Label string
	At    time.Time
	Photo bool // a photo's capture time
	Warn  bool
}

// buildEvidence turns a stored evidence row and its JSON report into what the page shows.
func buildEvidence(l *locale, ev claim.Evidence, number int, order claim.Order) evidenceView {
	v := evidenceView{
		ID: ev.ID, Number: number, Source: ev.Source, Width: ev.Width, Height: ev.Height,
		HasHeatmap: ev.HeatmapSHA != "", Risk: ev.Risk,
	}
	if len(ev.Report) == 0 {
		return v
	}
	var rep forensics.EvidenceReport
	if err := json.Unmarshal(ev.Report, &rep); err != nil {
		v.ReportError = l.T("evidence.report_unreadable")
		return v
	}
	v.Analysed = true
	if rep.Width > 0 && rep.Height > 0 {
		v.Width, v.Height = rep.Width, rep.Height
	}
	if rep.Error != nil {
		v.ReportError = l.T("evidence.not_analysed", rep.Error.Message)
	}
	if rep.Risk > v.Risk {
		v.Risk = rep.Risk
	}
	var editRef *referenceView
	for _, f := range rep.Findings {
		switch f.Code {
		case forensics.CodeReferenceMatch:
			if v.Reference == nil && f.Reference != "" {
				v.Reference = &referenceView{ID: f.Reference, Transform: f.Transform, Distance: f.Distance}
			}
		case forensics.CodeELAAnomaly:
			// No reference to set against, but the area is where the reviewer should look.
			v.Regions = append(v.Regions, f.Regions...)
		case forensics.CodeLocalizedEdit:
			v.Regions = append(v.Regions, f.Regions...)
			if editRef == nil && f.Reference != "" {
				editRef = &referenceView{ID: f.Reference}
			}
		}
		v.Findings = append(v.Findings, explainFinding(l, f, rep.Metadata))
	}
	if v.Reference == nil {
		// An edit is always found against a reference: show it even without a match finding.
		v.Reference = editRef
	}
	// The highest severity first: what a reviewer must see is at the top.
	sort.SliceStable(v.Findings, func(a, b int) bool {
		return severityRank(v.Findings[a].Severity) > severityRank(v.Findings[b].Severity)
	})
	v.Meta = metadataRows(l, rep.Metadata, order)
	return v
}

func severityRank(s string) int {
	switch forensics.Severity(s) {
	case forensics.SeverityHigh:
		return 4
	case forensics.SeverityMedium:
		return 3
	case forensics.SeverityLow:
		return 2
	case forensics.SeverityInfo:
		return 1
	}
	return 0
}

// explainFinding says in plain words what a finding means for the decision.
func explainFinding(l *locale, f forensics.Finding, md *forensics.Metadata) findingView {
	v := findingView{Code: f.Code, Severity: string(f.Severity), Confidence: f.Confidence, Note: f.Message}
	key := "finding." + f.Code
	if !l.Has(key + ".title") {
		v.Title, v.Text = f.Code, f.Message
		return v
	}
	v.Title = l.T(key + ".title")
	switch f.Code {
	case forensics.CodeReferenceMatch:
		distance := 0
		if f.Distance != nil {
			distance = *f.Distance
		}
		v.Text = l.T(key+".text", transformPhrase(l, f.Transform), distance)
	case forensics.CodeLocalizedEdit:
		share := "—"
		if f.ChangedFraction != nil {
			share = l.Percent(*f.ChangedFraction)
		}
		v.Text = l.T(key+".text", len(f.Regions), share)
	case forensics.CodeELAAnomaly:
		v.Text = l.T(key+".text", len(f.Regions))
	case forensics.CodeEditingSoftware:
		v.Text = l.T(key+".text", orDash(firstNonEmpty(detailString(f, "software"), metaSoftware(md))))
	case forensics.CodeAIGeneratedLabel:
		v.Text = l.T(key+".text", orDash(aiLabelSource(f, md)))
	case forensics.CodeContentCredentials:
		gen := detailString(f, "claim_generator")
		ai := false
		if md != nil && md.C2PA != nil {
			gen = firstNonEmpty(gen, md.C2PA.ClaimGenerator)
			ai = md.C2PA.AIGenerated
		}
		if b, ok := f.Details["ai_generated"].(bool); ok {
			ai = ai || b
		}
		if ai {
			v.Text = l.T(key+".text_ai", orDash(gen))
		} else {
			v.Text = l.T(key+".text", orDash(gen))
		}
	case forensics.CodeRecompressed:
		q := "—"
		if md != nil && md.JPEGQuality > 0 {
			q = fmt.Sprint(md.JPEGQuality)
		}
		v.Text = l.T(key+".text", q)
	case forensics.CodeDuplicateEvidence:
		v.Text = l.T(key+".text", orDash(firstNonEmpty(detailString(f, "claim_id"), detailString(f, "claim"))))
	default:
		v.Text = l.T(key + ".text")
	}
	return v
}

func transformPhrase(l *locale, t string) string {
	if t == "" || t == "identity" {
		return ""
	}
	var parts []string
	for _, p := range strings.FieldsFunc(t, func(r rune) bool { return r == '+' || r == ',' || r == ' ' }) {
		parts = append(parts, l.Label("transform", p))
	}
	return l.T("transform.phrase", strings.Join(parts, l.T("list.sep")))
}

func detailString(f forensics.Finding, key string) string {
	if s, ok := f.Details[key].(string); ok {
		return s
	}
	return ""
}

func metaSoftware(md *forensics.Metadata) string {
	if md == nil {
		return ""
	}
	return firstNonEmpty(md.Software, md.CreatorTool)
}

func aiLabelSource(f forensics.Finding, md *forensics.Metadata) string {
	if s := firstNonEmpty(detailString(f, "source"), detailString(f, "generator")); s != "" {
		return s
	}
	if md == nil {
		return ""
	}
	if md.AIGC != nil {
		return firstNonEmpty(md.AIGC.ContentProducer, "GB 45438-2025 AIGC")
	}
	if md.DigitalSourceType != "" {
		return md.DigitalSourceType
	}
	if md.C2PA != nil && md.C2PA.AIGenerated {
		return md.C2PA.ClaimGenerator
	}
	return ""
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// metadataRows is the metadata table: what the file says about its camera, software,
// capture time (set against the order), AI labels and C2PA manifest.
func metadataRows(l *locale, md *forensics.Metadata, order claim.Order) []metaRow {
	if md == nil {
		return []metaRow{{Label: l.T("meta.none"), Value: "—", Warn: false}}
	}
	var rows []metaRow
	add := func(key, value string, warn bool) {
		if value != "" {
			rows = append(rows, metaRow{Label: l.T(key), Value: value, Warn: warn})
		}
	}
	add("meta.camera", strings.TrimSpace(md.Make+" "+md.Model), false)
	if md.Make == "" && md.Model == "" {
		add("meta.camera", l.T("meta.no_camera"), true)
	}
	add("meta.software", md.Software, false)
	add("meta.creator_tool", md.CreatorTool, false)
	if md.CapturedAt != nil {
		rel, warn := captureRelation(l, *md.CapturedAt, order)
		add("meta.captured_at", l.Time(*md.CapturedAt)+" — "+rel, warn)
	} else {
		add("meta.captured_at", l.T("meta.no_capture_time"), false)
	}
	if md.GPS != nil {
		add("meta.gps", fmt.Sprintf("%.5f, %.5f", md.GPS.Lat, md.GPS.Lon), false)
	}
	if md.JPEGQuality > 0 {
		add("meta.jpeg_quality", fmt.Sprint(md.JPEGQuality), false)
	}
	if md.HasThumbnail {
		add("meta.thumbnail", l.T("meta.yes"), false)
	}
	if md.AIGC != nil {
		add("meta.aigc", l.Label("aigc", md.AIGC.Label)+producer(l, md.AIGC), true)
	}
	if md.DigitalSourceType != "" {
		add("meta.source_type", md.DigitalSourceType, strings.Contains(strings.ToLower(md.DigitalSourceType), "algorithmic"))
	}
	if len(md.Generator) > 0 {
		keys := make([]string, 0, len(md.Generator))
		for k := range md.Generator {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		add("meta.generator", strings.Join(keys, ", "), true)
	}
	if m := md.C2PA; m != nil {
		var parts []string
		if m.ClaimGenerator != "" {
			parts = append(parts, l.T("meta.c2pa_generator", m.ClaimGenerator))
		}
		if len(m.SoftwareAgents) > 0 {
			parts = append(parts, l.T("meta.c2pa_agents", strings.Join(m.SoftwareAgents, ", ")))
		}
		if len(m.Actions) > 0 {
			parts = append(parts, l.T("meta.c2pa_actions", strings.Join(m.Actions, ", ")))
		}
		if m.AIGenerated {
			parts = append(parts, l.T("meta.c2pa_ai"))
		} else {
			parts = append(parts, l.T("meta.c2pa_not_ai"))
		}
		add("meta.c2pa", strings.Join(parts, "; "), m.AIGenerated)
	}
	if len(md.EditHistory) > 0 {
		add("meta.edit_history", strings.Join(md.EditHistory, " → "), true)
	}
	return rows
}

func producer(l *locale, a *forensics.AIGCLabel) string {
	if a.ContentProducer == "" {
		return ""
	}
	return " — " + l.T("meta.aigc_producer", a.ContentProducer)
}

// captureRelation places a capture time in the order's life; warn is set when the photo
// was taken before the buyer could have had the item.
func captureRelation(l *locale, at time.Time, o claim.Order) (string, bool) {
	switch {
	case !o.PlacedAt.IsZero() && at.Before(o.PlacedAt):
		return l.T("capture.before_placed", l.Duration(o.PlacedAt.Sub(at))), true
	case o.ShippedAt != nil && at.Before(*o.ShippedAt):
		return l.T("capture.before_shipped", l.Duration(o.ShippedAt.Sub(at))), true
	case o.DeliveredAt != nil && at.Before(*o.DeliveredAt):
		return l.T("capture.before_delivered", l.Duration(o.DeliveredAt.Sub(at))), true
	case o.DeliveredAt != nil:
		return l.T("capture.after_delivered", l.Duration(at.Sub(*o.DeliveredAt))), false
	}
	return l.T("capture.after_placed"), false
}

// milestones lists the order's dates with every photo's capture time, in time order.
func milestones(l *locale, o claim.Order, c claim.Claim, evidence []evidenceView, reports map[string]*time.Time) []milestone {
	var ms []milestone
	if !o.PlacedAt.IsZero() {
		ms = append(ms, milestone{Label: l.T("ms.placed"), At: o.PlacedAt})
	}
	if o.ShippedAt != nil {
		ms = append(ms, milestone{Label: l.T("ms.shipped"), At: *o.ShippedAt})
	}
	if o.DeliveredAt != nil {
		ms = append(ms, milestone{Label: l.T("ms.delivered"), At: *o.DeliveredAt})
	}
	if !c.CreatedAt.IsZero() {
		ms = append(ms, milestone{Label: l.T("ms.claimed"), At: c.CreatedAt})
	}
	for _, ev := range evidence {
		if at := reports[ev.ID]; at != nil {
			_, warn := captureRelation(l, *at, o)
			ms = append(ms, milestone{Label: l.T("ms.photo", ev.Number), At: *at, Photo: true, Warn: warn})
		}
	}
	sort.SliceStable(ms, func(a, b int) bool { return ms[a].At.Before(ms[b].At) })
	return ms
}

// captureTimes reads each analysed photo's capture time from its report.
func captureTimes(evidence []claim.Evidence) map[string]*time.Time {
	out := map[string]*time.Time{}
	for _, ev := range evidence {
		var rep struct {
			Metadata *struct {
				CapturedAt *time.Time `json:"captured_at"`
			} `json:"metadata"`
		}
		if json.Unmarshal(ev.Report, &rep) == nil && rep.Metadata != nil && rep.Metadata.CapturedAt != nil {
			out[ev.ID] = rep.Metadata.CapturedAt
		}
	}
	return out
}

// ruleViews lays out a rule trace: matched rules first, each with the inputs it saw.
func ruleViews(hits []claim.RuleHit) []ruleView {
	out := make([]ruleView, 0, len(hits))
	for _, h := range hits {
		v := ruleView{ID: h.ID, Matched: h.Matched, Route: h.Route, Score: h.Score, Error: h.Error}
		keys := make([]string, 0, len(h.Inputs))
		for k := range h.Inputs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			v.Inputs = append(v.Inputs, keyValue{Key: k, Value: inputValue(h.Inputs[k])})
		}
		out = append(out, v)
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].Matched && !out[b].Matched })
	return out
}

func inputValue(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return "null"
	case float64, bool, int, int64:
		return fmt.Sprint(x)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
