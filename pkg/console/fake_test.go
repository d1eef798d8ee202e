package console

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"io"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/refundguard/refundguard/forensics"
	"github.com/refundguard/refundguard/pkg/adjudicate"
	"github.com/refundguard/refundguard/pkg/claim"
)

// fakeService is an in-memory stand-in for *adjudicate.Service with the review-queue
// behaviour the console relies on: leases, four eyes on large rejections, buyer flags. The
// handler tests use it to reach every branch cheaply (and to take a lease away); the
// browser flow and TestRealService run on the real service and SQLite.
type fakeService struct {
	mu         sync.Mutex
	now        func() time.Time
	keys       map[string]claim.Principal
	claims     map[string]*adjudicate.ClaimDetails
	tasks      []*claim.ReviewTask
	photos     map[string][]byte // evidence id -> PNG
	heatmaps   map[string][]byte
	references map[string][]byte
	flags      map[string][]adjudicate.BuyerFlag
	decisions  []adjudicate.DecisionInput
	seq        int
}

var _ Service = (*fakeService)(nil)

func newFakeService(now func() time.Time) *fakeService {
	return &fakeService{
		now: now, keys: map[string]claim.Principal{}, claims: map[string]*adjudicate.ClaimDetails{},
		photos: map[string][]byte{}, heatmaps: map[string][]byte{}, references: map[string][]byte{},
		flags: map[string][]adjudicate.BuyerFlag{},
	}
}

func (f *fakeService) addKey(secret string, role claim.Role, subject string) {
	f.keys[secret] = claim.Principal{KeyID: "key-" + subject, Role: role, Subject: subject}
}

func (f *fakeService) Authenticate(_ context.Context, secret string) (claim.Principal, error) {
	p, ok := f.keys[secret]
	if !ok {
		return claim.Principal{}, claim.Errorf(claim.CodeUnauthenticated, "invalid API key")
	}
	return p, nil
}

func staffOnly(p claim.Principal) error {
	if !p.Role.IsStaff() {
		return claim.Errorf(claim.CodeForbidden, "reviewers only")
	}
	return nil
}

func (f *fakeService) GetClaim(_ context.Context, p claim.Principal, id string) (adjudicate.ClaimDetails, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := staffOnly(p); err != nil {
		return adjudicate.ClaimDetails{}, err
	}
	d, ok := f.claims[id]
	if !ok {
		return adjudicate.ClaimDetails{}, claim.Errorf(claim.CodeNotFound, "claim not found")
	}
	return *d, nil
}

func (f *fakeService) EvidenceContent(_ context.Context, p claim.Principal, id string, heatmap bool) (adjudicate.Content, error) {
	if err := staffOnly(p); err != nil {
		return adjudicate.Content{}, err
	}
	src := f.photos
	if heatmap {
		src = f.heatmaps
	}
	return content(src, id)
}

func (f *fakeService) ReferenceContent(_ context.Context, p claim.Principal, id string) (adjudicate.Content, error) {
	if err := staffOnly(p); err != nil {
		return adjudicate.Content{}, err
	}
	return content(f.references, id)
}

func content(src map[string][]byte, id string) (adjudicate.Content, error) {
	b, ok := src[id]
	if !ok {
		return adjudicate.Content{}, claim.Errorf(claim.CodeNotFound, "image not found")
	}
	return adjudicate.Content{Body: io.NopCloser(bytes.NewReader(b)), ContentType: "image/png", Size: int64(len(b))}, nil
}

func (f *fakeService) LeaseTask(_ context.Context, p claim.Principal) (claim.ReviewTask, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := staffOnly(p); err != nil {
		return claim.ReviewTask{}, false, err
	}
	now := f.now()
	open := []*claim.ReviewTask{}
	for _, t := range f.tasks {
		expired := t.State == claim.TaskLeased && t.LeaseExpiresAt != nil && t.LeaseExpiresAt.Before(now)
		if (t.State == claim.TaskOpen || expired) && !slices.Contains(t.ExcludeReviewers, p.Actor()) {
			open = append(open, t)
		}
	}
	if len(open) == 0 {
		return claim.ReviewTask{}, false, nil
	}
	sort.SliceStable(open, func(a, b int) bool { return open[a].Priority > open[b].Priority })
	t := open[0]
	exp := now.Add(15 * time.Minute)
	t.State, t.LeasedBy, t.LeaseExpiresAt = claim.TaskLeased, p.Actor(), &exp
	return *t, true, nil
}

func (f *fakeService) task(id string) (*claim.ReviewTask, error) {
	for _, t := range f.tasks {
		if t.ID == id {
			return t, nil
		}
	}
	return nil, claim.Errorf(claim.CodeNotFound, "task not found")
}

func (f *fakeService) GetTask(_ context.Context, p claim.Principal, id string) (claim.ReviewTask, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := staffOnly(p); err != nil {
		return claim.ReviewTask{}, err
	}
	t, err := f.task(id)
	if err != nil {
		return claim.ReviewTask{}, err
	}
	return *t, nil
}

func (f *fakeService) ListTasks(_ context.Context, p claim.Principal, filter adjudicate.TaskFilter) ([]adjudicate.TaskView, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := staffOnly(p); err != nil {
		return nil, err
	}
	var out []adjudicate.TaskView
	for _, t := range f.tasks {
		if t.State == claim.TaskDone || filter.Kind != "" && t.Kind != filter.Kind || filter.Route != "" && t.Route != filter.Route {
			continue
		}
		c := f.claims[t.ClaimID].Claim
		out = append(out, adjudicate.TaskView{Task: *t, Claim: c, Amount: c.Amount})
	}
	return out, nil
}

func (f *fakeService) HeartbeatTask(_ context.Context, p claim.Principal, id string) (claim.ReviewTask, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, err := f.task(id)
	if err != nil {
		return claim.ReviewTask{}, err
	}
	if t.LeasedBy != p.Actor() {
		return claim.ReviewTask{}, claim.Errorf(claim.CodeConflict, "task is not leased by you")
	}
	exp := f.now().Add(15 * time.Minute)
	t.LeaseExpiresAt = &exp
	return *t, nil
}

// fourEyesThreshold is the default of issue 4: rejections of 3,000 CNY or more need a
// second reviewer.
const fourEyesThreshold = 300000

func (f *fakeService) DecideTask(_ context.Context, p claim.Principal, id string, in adjudicate.DecisionInput) (claim.Decision, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, err := f.task(id)
	if err != nil {
		return claim.Decision{}, err
	}
	if t.State != claim.TaskLeased || t.LeasedBy != p.Actor() {
		return claim.Decision{}, claim.Errorf(claim.CodeConflict, "task is not leased by you")
	}
	d := f.claims[t.ClaimID]
	f.seq++
	dec := claim.Decision{
		ID: "dec-" + string(rune('a'+f.seq)), ClaimID: t.ClaimID, Outcome: in.Outcome, ReasonCode: in.ReasonCode,
		Note: in.Note, DecidedBy: p.Actor(), CreatedAt: f.now(),
	}
	if in.Amount != nil {
		dec.Amount = &claim.Money{Value: *in.Amount, Currency: d.Claim.Amount.Currency}
	}
	f.decisions = append(f.decisions, in)
	d.Decisions = append(d.Decisions, dec)
	now := f.now()
	t.State, t.CompletedAt = claim.TaskDone, &now
	switch {
	case in.Outcome == claim.OutcomeReject && t.Kind != claim.TaskSecondReview && d.Claim.Amount.Value >= fourEyesThreshold:
		f.tasks = append(f.tasks, &claim.ReviewTask{
			ID: t.ID + "-2", ClaimID: t.ClaimID, Kind: claim.TaskSecondReview, State: claim.TaskOpen,
			Priority: t.Priority + 1, Route: t.Route, ExcludeReviewers: []string{p.Actor()}, Deadline: t.Deadline, CreatedAt: now,
		})
	case in.Outcome == claim.OutcomeReject:
		d.Claim.Status = claim.StatusRejected
	case in.Outcome == claim.OutcomeApprove:
		d.Claim.Status = claim.StatusApproved
	}
	return dec, nil
}

func (f *fakeService) GetBuyerRecord(_ context.Context, p claim.Principal, buyer string) (adjudicate.BuyerRecord, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := staffOnly(p); err != nil {
		return adjudicate.BuyerRecord{}, err
	}
	return adjudicate.BuyerRecord{
		BuyerID: buyer,
		Windows: []adjudicate.WindowCounts{
			{Days: 30, Claims: 3, Refunds: 2, RefundedAmount: claim.Money{Value: 45900, Currency: "CNY"}, Merchants: 3},
			{Days: 90, Claims: 7, Refunds: 5, RefundedAmount: claim.Money{Value: 312000, Currency: "CNY"}, Rejected: 1, RejectedFabricated: 1, Merchants: 6},
			{Days: 365, Claims: 11, Refunds: 8, RefundedAmount: claim.Money{Value: 587650, Currency: "CNY"}, Rejected: 2, RejectedFabricated: 1, Merchants: 9},
		},
		Outcomes:        map[claim.Outcome]int{claim.OutcomeApprove: 8, claim.OutcomeReject: 2},
		Flags:           append([]adjudicate.BuyerFlag(nil), f.flags[buyer]...),
		FabricatedShare: 0.1,
	}, nil
}

func (f *fakeService) FlagBuyer(_ context.Context, p claim.Principal, buyer, reason string) (adjudicate.BuyerFlag, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := staffOnly(p); err != nil {
		return adjudicate.BuyerFlag{}, err
	}
	fl := adjudicate.BuyerFlag{ID: "flag", BuyerID: buyer, Reason: reason, By: p.Actor(), CreatedAt: f.now()}
	f.flags[buyer] = append(f.flags[buyer], fl)
	return fl, nil
}

func (f *fakeService) WriteCaseFile(_ context.Context, p claim.Principal, id string, w io.Writer) error {
	if err := staffOnly(p); err != nil {
		return err
	}
	f.mu.Lock()
	d, ok := f.claims[id]
	f.mu.Unlock()
	if !ok {
		return claim.Errorf(claim.CodeNotFound, "claim not found")
	}
	z := zip.NewWriter(w)
	m, err := z.Create("manifest.json")
	if err != nil {
		return err
	}
	if err := json.NewEncoder(m).Encode(map[string]any{"claim": d.Claim.ID}); err != nil {
		return err
	}
	return z.Close()
}

// ---- fixtures -------------------------------------------------------------------------

// photoW and photoH are the fixture photos' size; editRegions are where the "damage" is
// painted on the buyer's copy of the merchant photo, and what the report says.
const photoW, photoH = 1200, 900

var editRegions = []forensics.Region{{X: 610, Y: 220, W: 180, H: 260}, {X: 150, Y: 600, W: 240, H: 90}}

// merchantPhoto draws a product shot: a box on a table under soft light.
func merchantPhoto() *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, photoW, photoH))
	for y := 0; y < photoH; y++ {
		for x := 0; x < photoW; x++ {
			c := color.RGBA{uint8(200 - y/10), uint8(210 - y/12), uint8(225 - y/14), 255}
			if y > 560 { // table
				c = color.RGBA{uint8(150 + x%7), uint8(110 + x%5), 80, 255}
			}
			if x > 330 && x < 870 && y > 160 && y < 640 { // the box
				shade := uint8(180 - (x-330)/8)
				c = color.RGBA{shade, uint8(int(shade) * 3 / 4), uint8(int(shade) / 2), 255}
			}
			if x > 330 && x < 870 && y > 380 && y < 410 { // tape
				c = color.RGBA{215, 200, 160, 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

// editedPhoto paints dark "cracks" inside each edit region.
func editedPhoto() *image.RGBA {
	img := merchantPhoto()
	for _, r := range editRegions {
		for i := 0; i < r.W+r.H; i++ {
			x := r.X + i*r.W/(r.W+r.H)
			y := r.Y + i*r.H/(r.W+r.H)
			for d := -4; d <= 4; d++ {
				img.SetRGBA(x+d, y+(i%9)/3, color.RGBA{30, 20, 15, 255})
			}
		}
	}
	return img
}

// heatmapPhoto marks the edit regions in red on a dimmed copy.
func heatmapPhoto() *image.RGBA {
	img := editedPhoto()
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := img.RGBAAt(x, y)
			img.SetRGBA(x, y, color.RGBA{c.R / 3, c.G / 3, c.B / 3, 255})
		}
	}
	for _, r := range editRegions {
		for y := r.Y; y < r.Y+r.H; y++ {
			for x := r.X; x < r.X+r.W; x++ {
				img.SetRGBA(x, y, color.RGBA{230, 40, 40, 255})
			}
		}
	}
	return img
}

func pngBytes(img image.Image) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// scenario is a claim with a stolen, edited merchant photo, as the forensics engine
// reports it, plus a clean small claim, each with a review task.
func (f *fakeService) seed() {
	now := f.now()
	at := func(d time.Duration) *time.Time { t := now.Add(d); return &t }
	dist, frac := 6, 0.061
	captured := now.Add(-9 * 24 * time.Hour)
	report := forensics.EvidenceReport{
		File: "IMG_2041.png", Format: "png", Width: photoW, Height: photoH, Risk: 92,
		Metadata: &forensics.Metadata{Software: "Meitu 9.8", CapturedAt: &captured, JPEGQuality: 88},
		Findings: []forensics.Finding{
			{Code: forensics.CodeReferenceMatch, Severity: forensics.SeverityHigh, Confidence: 0.97,
				Message: "matches reference ref-catalog-1 at PDQ distance 6", Reference: "ref-catalog-1", Distance: &dist, Transform: "identity"},
			{Code: forensics.CodeLocalizedEdit, Severity: forensics.SeverityHigh, Confidence: 0.9,
				Message: "2 regions differ from the reference", Reference: "ref-catalog-1", Regions: editRegions, ChangedFraction: &frac},
			{Code: forensics.CodeEditingSoftware, Severity: forensics.SeverityMedium, Confidence: 0.8,
				Message: "Software tag names Meitu", Details: map[string]any{"software": "Meitu 9.8"}},
			{Code: forensics.CodeCaptureTimeConflict, Severity: forensics.SeverityHigh, Confidence: 0.85,
				Message: "captured before delivery"},
		},
	}
	raw, _ := json.Marshal(report)
	order := claim.Order{
		ID: "ord-7731", ExternalID: "TB-20261101-7731", MerchantID: "m-hangzhou-ceramics", BuyerID: "b-4412",
		Amount:   claim.Money{Value: 459900, Currency: "CNY"},
		Items:    []claim.Item{{SKU: "VASE-CELADON-L", Name: "Celadon vase, large", Quantity: 1}},
		PlacedAt: now.Add(-12 * 24 * time.Hour), ShippedAt: at(-10 * 24 * time.Hour), DeliveredAt: at(-7 * 24 * time.Hour),
	}
	big := &adjudicate.ClaimDetails{
		Claim: claim.Claim{
			ID: "clm-9f3a2c71d0", OrderID: order.ID, BuyerID: order.BuyerID, MerchantID: order.MerchantID,
			Reason: claim.ReasonDamaged, Description: "The vase arrived cracked, see photo.",
			Amount: claim.Money{Value: 459900, Currency: "CNY"}, RefundType: claim.RefundOnly,
			Status: claim.StatusInReview, Risk: 92, CreatedAt: now.Add(-2 * 24 * time.Hour),
		},
		Order: order,
		Evidence: []claim.Evidence{
			{ID: "ev-1", ClaimID: "clm-9f3a2c71d0", Source: claim.SourceBuyer, Format: "png", Width: photoW, Height: photoH,
				Report: raw, HeatmapSHA: "heat-1", Risk: 92},
			{ID: "ev-m1", ClaimID: "clm-9f3a2c71d0", Source: claim.SourceMerchant, Format: "png", Width: photoW, Height: photoH},
		},
		Decisions: []claim.Decision{{
			ID: "dec-rules", ClaimID: "clm-9f3a2c71d0", Route: claim.RouteReviewPriority, RuleSetVersion: "default-3",
			DecidedBy: "rules", CreatedAt: now.Add(-2 * 24 * time.Hour),
			Rules: []claim.RuleHit{
				{ID: "stolen_merchant_photo", Matched: true, Route: claim.RouteReviewPriority,
					Inputs: map[string]any{"findings.reference_distance": 6, "findings.codes": []string{"reference_match", "localized_edit"}}},
				{ID: "large_amount", Matched: true, Route: claim.RouteReview, Inputs: map[string]any{"claim.amount": 459900}},
				{ID: "small_clean_claim", Matched: false, Route: claim.RouteApprove, Inputs: map[string]any{"claim.amount": 459900, "findings.max_severity": "high"}},
			},
		}},
		Responses: []claim.Response{{
			ID: "resp-1", ClaimID: "clm-9f3a2c71d0", MerchantID: order.MerchantID, CreatedAt: now.Add(-24 * time.Hour),
			Statement: "This is our catalogue photo with a crack drawn on it. Our packing photo shows the vase intact.", EvidenceIDs: []string{"ev-m1"},
		}},
		Timeline: []claim.AuditEvent{
			{Seq: 1, Time: now.Add(-2 * 24 * time.Hour), Actor: "buyer:b-4412", Action: "claim.filed"},
			{Seq: 2, Time: now.Add(-2*24*time.Hour + time.Minute), Actor: "rules", Action: "claim.routed", After: json.RawMessage(`{"status":"in_review"}`)},
			{Seq: 3, Time: now.Add(-24 * time.Hour), Actor: "merchant:m-hangzhou-ceramics", Action: "claim.responded"},
		},
	}
	small := &adjudicate.ClaimDetails{
		Claim: claim.Claim{
			ID: "clm-12ab", OrderID: "ord-2", BuyerID: "b-77", MerchantID: "m-2", Reason: claim.ReasonMissingParts,
			Amount: claim.Money{Value: 129900, Currency: "CNY"}, RefundType: claim.RefundOnly, Status: claim.StatusInReview, Risk: 12,
		},
		Order: claim.Order{ID: "ord-2", Amount: claim.Money{Value: 129900, Currency: "CNY"}, PlacedAt: now.Add(-5 * 24 * time.Hour)},
	}
	f.claims[big.Claim.ID] = big
	f.claims[small.Claim.ID] = small
	f.tasks = []*claim.ReviewTask{
		{ID: "task-big", ClaimID: big.Claim.ID, Kind: claim.TaskReview, State: claim.TaskOpen, Priority: 90,
			Route: claim.RouteReviewPriority, Deadline: at(5*time.Hour + 20*time.Minute), CreatedAt: now},
		{ID: "task-small", ClaimID: small.Claim.ID, Kind: claim.TaskReview, State: claim.TaskOpen, Priority: 10,
			Route: claim.RouteReview, Deadline: at(-2 * time.Hour), CreatedAt: now},
	}
	f.photos["ev-1"] = pngBytes(editedPhoto())
	f.photos["ev-m1"] = pngBytes(merchantPhoto())
	f.heatmaps["ev-1"] = pngBytes(heatmapPhoto())
	f.references["ref-catalog-1"] = pngBytes(merchantPhoto())
}

// setLeasedBy hands a task to someone else behind the console's back, under the lock (a
// browser may be talking to the fake at the same time).
func (f *fakeService) setLeasedBy(taskID, actor string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if t, err := f.task(taskID); err == nil {
		t.LeasedBy = actor
	}
}
