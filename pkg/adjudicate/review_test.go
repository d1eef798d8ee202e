package adjudicate_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"image/png"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/refundguard/refundguard/internal/testphoto"

	"github.com/refundguard/refundguard/forensics"
	"github.com/refundguard/refundguard/pkg/adjudicate"
	"github.com/refundguard/refundguard/pkg/claim"
	"github.com/refundguard/refundguard/rules"
)

var (
	reviewer2 = claim.Principal{KeyID: "k-r2", Role: claim.RoleReviewer, Subject: "bob"}
	reviewer3 = claim.Principal{KeyID: "k-r3", Role: claim.RoleReviewer, Subject: "carol"}
	reviewer4 = claim.Principal{KeyID: "k-r4", Role: claim.RoleReviewer, Subject: "dave"}
)

// scriptedAnalyzer is the real analyzer plus the findings a test names for a photo (by its
// bytes' sha256): what the forensics engine reports on real photos (it is tested on those
// in its own package), so that these tests follow the service's routing of each kind of
// report on small generated photos.
type scriptedAnalyzer struct {
	adjudicate.Analyzer
	findings map[string][]forensics.Finding
}

func (a scriptedAnalyzer) Analyze(ctx context.Context, ev forensics.Input, refs []forensics.Reference, times forensics.Times) forensics.Result {
	res := a.Analyzer.Analyze(ctx, ev, refs, times)
	sum := sha256.Sum256(ev.Data)
	res.Report.Findings = append(res.Report.Findings, a.findings[hex.EncodeToString(sum[:])]...)
	res.Report.Risk = forensics.Risk(res.Report.Findings)
	return res
}

// hashingAnalyzer gives every photo a PDQ hash: the one a test names for its bytes, else
// the sha256 of the bytes (64 hex digits, like PDQ's), so identical photos hash alike.
type hashingAnalyzer struct {
	adjudicate.Analyzer
	pdq map[string]string
}

func (a hashingAnalyzer) Fingerprint(ctx context.Context, data []byte) (forensics.Fingerprint, error) {
	fp, err := a.Analyzer.Fingerprint(ctx, data)
	fp.Hashes.PDQ, fp.Hashes.PDQQuality = sha(data), 100
	if h, ok := a.pdq[sha(data)]; ok {
		fp.Hashes.PDQ = h
	}
	return fp, err
}

func sha(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// texturedPhoto is a detailed picture (PDQ quality well above the match threshold) from
// a seed range of its own, so it never repeats a photo() seed.
func texturedPhoto(seed int) []byte { return testphoto.JPEG(1000 + seed) }

// aiLabelledPNG is a picture carrying a Stable Diffusion "parameters" text chunk, the
// generator's own label.
func aiLabelledPNG(seed int) []byte {
	img := testphoto.Image(2000+seed, testphoto.Width, testphoto.Height)
	var buf bytes.Buffer
	png.Encode(&buf, img)
	b := buf.Bytes()
	text := []byte("parameters\x00a cracked vase, photo, Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Model: sd_xl_base_1.0")
	chunk := make([]byte, 0, len(text)+12)
	chunk = binary.BigEndian.AppendUint32(chunk, uint32(len(text)))
	chunk = append(chunk, "tEXt"...)
	chunk = append(chunk, text...)
	chunk = binary.BigEndian.AppendUint32(chunk, crc32.ChecksumIEEE(chunk[4:]))
	at := 8 + 25 // signature, then the IHDR chunk
	return slices.Concat(b[:at], chunk, b[at:])
}

// fileAmount files a claim of amount (fen) on a fresh order whose amount is at least that.
func (h *harness) fileWith(buyer claim.Principal, external string, amount int64, photos ...[]byte) adjudicate.ClaimDetails {
	h.t.Helper()
	ctx := context.Background()
	o, err := h.svc.CreateOrder(ctx, merchant1, adjudicate.OrderInput{ExternalID: external, BuyerID: buyer.Subject,
		Amount: claim.Money{Value: max(amount, 129900), Currency: "CNY"}, Items: []claim.Item{{SKU: "MUG-1", Name: "Mug", Quantity: 1}},
		PlacedAt: placed, ShippedAt: &shipped, DeliveredAt: &delivered})
	if err != nil {
		h.t.Fatal(err)
	}
	if _, err := h.svc.AddOrderImages(ctx, merchant1, o.ID, claim.ImagePacking, uploads(100)); err != nil {
		h.t.Fatal(err)
	}
	ups := make([]adjudicate.Upload, len(photos))
	for i, p := range photos {
		ups[i] = adjudicate.Upload{Name: "p", Data: p}
	}
	d, err := h.svc.FileClaim(ctx, buyer, adjudicate.ClaimInput{OrderID: o.ID, Reason: claim.ReasonDamaged, Description: "broken",
		Amount: amount, RefundType: claim.RefundOnly, Photos: ups})
	if err != nil {
		h.t.Fatal(err)
	}
	return d
}

// waitRouted waits until the claim has left analysis.
func (h *harness) waitRouted(id string) claim.Claim {
	h.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := h.store.GetClaim(context.Background(), id)
		if err != nil {
			h.t.Fatal(err)
		}
		if c.Status != claim.StatusAnalyzing {
			return c
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("claim %s still analysing", id)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func lastDecision(t *testing.T, h *harness, id string) claim.Decision {
	t.Helper()
	ds, err := h.store.ListDecisions(context.Background(), id)
	if err != nil || len(ds) == 0 {
		t.Fatalf("decisions of %s: %v %v", id, ds, err)
	}
	return ds[len(ds)-1]
}

func matched(d claim.Decision, id string) bool {
	for _, h := range d.Rules {
		if h.ID == id {
			return h.Matched
		}
	}
	return false
}

// TestDefaultPolicyThroughTheService files claims through the real service, forensics and
// SQLite and follows the default policy: the route after analysis, and after the merchant's
// window when the claim waited for it.
func TestDefaultPolicyThroughTheService(t *testing.T) {
	stolen, labelled := photo(100), aiLabelledPNG(3)
	one := 1
	h := newHarness(t, withAnalyzer(scriptedAnalyzer{forensics.NewAnalyzer(forensics.AnalyzerOptions{}), map[string][]forensics.Finding{
		sha(stolen):   {{Code: forensics.CodeReferenceMatch, Severity: forensics.SeverityHigh, Confidence: 0.97, Distance: &one, Transform: "identity"}},
		sha(labelled): {{Code: forensics.CodeAIGeneratedLabel, Severity: forensics.SeverityHigh, Confidence: 0.95}},
	}}))
	stop := h.runWorkers(adjudicate.WorkerOptions{Workers: 2})
	defer stop()
	for _, tc := range []struct {
		name        string
		amount      int64
		photo       []byte
		first       claim.Status // after analysis
		afterWindow claim.Status // after the merchant's 48 h passed in silence ("" when it did not wait)
		rule        string       // a rule that must have matched the last routing
	}{
		{"a small clean claim waits for the merchant, then is approved", 9900, photo(1), claim.StatusAwaitingMerchant, claim.StatusApproved, "clean-small-claim"},
		{"the merchant's own photo goes to review at once", 9900, stolen, claim.StatusInReview, "", "reference-photo-reused"},
		{"an AI-labelled photo goes to review at once", 9900, labelled, claim.StatusInReview, "", "ai-generated-label"},
		{"3,000 CNY or more goes to review after the window", 300000, photo(2), claim.StatusAwaitingMerchant, claim.StatusInReview, "high-value-claim"},
		{"a medium claim from a silent merchant goes to review after the window", 99900, photo(4), claim.StatusAwaitingMerchant, claim.StatusInReview, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := h.fileWith(buyer1, "T-"+strings.ReplaceAll(tc.name, " ", "-"), tc.amount, tc.photo)
			c := h.waitRouted(d.Claim.ID)
			if c.Status != tc.first {
				t.Fatalf("after analysis %s, want %s (%+v)", c.Status, tc.first, lastDecision(t, h, c.ID).Rules)
			}
			if tc.afterWindow != "" {
				if c.MerchantDeadline == nil || !c.MerchantDeadline.Equal(h.clock.Now().Add(48*time.Hour)) {
					t.Fatalf("merchant deadline %v, want 48 h from now", c.MerchantDeadline)
				}
				h.clock.Advance(48*time.Hour + time.Second)
				if _, err := h.svc.SweepDeadlines(context.Background()); err != nil {
					t.Fatal(err)
				}
				c, _ = h.store.GetClaim(context.Background(), c.ID)
				if c.Status != tc.afterWindow {
					t.Fatalf("after the window %s, want %s", c.Status, tc.afterWindow)
				}
			}
			dec := lastDecision(t, h, c.ID)
			if dec.DecidedBy != "rules" || !strings.HasPrefix(dec.RuleSetVersion, "sha256:") || len(dec.Rules) < 10 || len(dec.Facts) == 0 {
				t.Fatalf("decision %+v", dec)
			}
			if tc.rule != "" && !matched(dec, tc.rule) {
				t.Fatalf("rule %s did not match: %+v", tc.rule, dec.Rules)
			}
			tasks, _ := h.store.ClaimTasks(context.Background(), c.ID)
			if (c.Status == claim.StatusInReview) != (len(tasks) == 1) {
				t.Fatalf("status %s with tasks %+v", c.Status, tasks)
			}
			if c.Status == claim.StatusApproved && (c.ApprovedAmount == nil || c.ApprovedAmount.Value != tc.amount || c.AppealDeadline == nil) {
				t.Fatalf("approved claim %+v", c)
			}
		})
	}
	t.Run("a merchant who answers sends the claim to review", func(t *testing.T) {
		d := h.fileWith(buyer1, "T-answer", 9900, photo(5))
		if c := h.waitRouted(d.Claim.ID); c.Status != claim.StatusAwaitingMerchant {
			t.Fatalf("status %s", c.Status)
		}
		if _, err := h.svc.RespondToClaim(context.Background(), merchant1, d.Claim.ID, "shipped intact", nil); err != nil {
			t.Fatal(err)
		}
		c, _ := h.store.GetClaim(context.Background(), d.Claim.ID)
		if c.Status != claim.StatusInReview || !matched(lastDecision(t, h, c.ID), "merchant-answered") {
			t.Fatalf("after the answer %s", c.Status)
		}
	})
}

// reviewClaim gets a claim of amount in front of reviewers: filed, analysed, then moved to
// review by the merchant's answer.
func reviewClaim(t *testing.T, h *harness, buyer claim.Principal, external string, amount int64, seed int) claim.Claim {
	t.Helper()
	d := h.fileWith(buyer, external, amount, photo(seed))
	h.waitRouted(d.Claim.ID)
	if _, err := h.svc.RespondToClaim(context.Background(), merchant1, d.Claim.ID, "we dispute it", nil); err != nil {
		t.Fatal(err)
	}
	c, _ := h.store.GetClaim(context.Background(), d.Claim.ID)
	if c.Status != claim.StatusInReview {
		t.Fatalf("claim %s is %s", c.ID, c.Status)
	}
	return c
}

func TestConcurrentLeasesNeverDoubleAssign(t *testing.T) {
	eachDialect(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		const tasks, reviewers = 12, 24
		// Tasks straight in the store: the queue is what is under test.
		o := h.order(merchant1, "b1", "T-q")
		for i := range tasks {
			c, err := h.store.CreateClaim(ctx, claim.Claim{OrderID: o.ID, BuyerID: "b1", MerchantID: "m1", Reason: claim.ReasonDamaged,
				Amount: claim.Money{Value: int64(1000 + i), Currency: "CNY"}, RefundType: claim.RefundOnly, Status: claim.StatusInReview, RequestHash: "x"})
			if err != nil {
				t.Fatal(err)
			}
			dl := h.clock.Now().Add(time.Duration(i) * time.Minute)
			if _, err := h.store.CreateTask(ctx, claim.ReviewTask{ClaimID: c.ID, Kind: claim.TaskReview, Route: claim.RouteReview, Priority: 11, Deadline: &dl}); err != nil {
				t.Fatal(err)
			}
		}
		var mu sync.Mutex
		holders := map[string][]string{}
		var wg sync.WaitGroup
		for r := range reviewers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				p := claim.Principal{KeyID: "k", Role: claim.RoleReviewer, Subject: fmt.Sprintf("r%02d", r)}
				for range 3 { // leasing again returns the task already held
					task, ok, err := h.svc.LeaseTask(ctx, p)
					if err != nil {
						t.Error(err)
						return
					}
					if ok {
						mu.Lock()
						if !slices.Contains(holders[task.ID], p.Actor()) {
							holders[task.ID] = append(holders[task.ID], p.Actor())
						}
						mu.Unlock()
					}
				}
			}()
		}
		wg.Wait()
		if len(holders) != tasks {
			t.Fatalf("%d tasks leased, want all %d", len(holders), tasks)
		}
		for id, who := range holders {
			if len(who) != 1 {
				t.Fatalf("task %s held by %v", id, who)
			}
		}
		// Expired leases return to the queue: after 15 minutes another reviewer gets one.
		late := claim.Principal{KeyID: "k", Role: claim.RoleReviewer, Subject: "late"}
		if _, ok, _ := h.svc.LeaseTask(ctx, late); ok {
			t.Fatal("a task was free while every lease was live")
		}
		h.clock.Advance(15*time.Minute + time.Second)
		task, ok, err := h.svc.LeaseTask(ctx, late)
		if err != nil || !ok {
			t.Fatalf("after the leases expired: %v %v", ok, err)
		}
		if _, err := h.svc.HeartbeatTask(ctx, claim.Principal{KeyID: "k", Role: claim.RoleReviewer, Subject: strings.TrimPrefix(holders[task.ID][0], "reviewer:")}, task.ID); claim.ErrorCode(err) != claim.CodeConflict {
			t.Fatalf("the old holder's heartbeat: %v, want conflict", err)
		}
		if _, err := h.svc.HeartbeatTask(ctx, late, task.ID); err != nil {
			t.Fatal(err)
		}
	})
}

func TestFourEyesAndAppeals(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	stop := h.runWorkers(adjudicate.WorkerOptions{Workers: 1})
	defer stop()
	c := reviewClaim(t, h, buyer1, "T-big", 300000, 7)

	task, ok, err := h.svc.LeaseTask(ctx, reviewer)
	if err != nil || !ok || task.ClaimID != c.ID {
		t.Fatalf("lease: %+v %v %v", task, ok, err)
	}
	if _, err := h.svc.DecideTask(ctx, reviewer, task.ID, adjudicate.DecisionInput{Outcome: claim.OutcomeReject}); claim.ErrorCode(err) != claim.CodeInvalid {
		t.Fatalf("a rejection without a reason: %v", err)
	}
	if _, err := h.svc.DecideTask(ctx, reviewer2, task.ID, adjudicate.DecisionInput{Outcome: claim.OutcomeApprove}); claim.ErrorCode(err) != claim.CodeConflict {
		t.Fatalf("deciding another's lease: %v", err)
	}
	first, err := h.svc.DecideTask(ctx, reviewer, task.ID, adjudicate.DecisionInput{Outcome: claim.OutcomeReject,
		ReasonCode: claim.ReasonFabricatedEvidence, Note: "painted crack"})
	if err != nil || !first.Pending {
		t.Fatalf("first rejection: %+v %v", first, err)
	}
	if got, _ := h.store.GetClaim(ctx, c.ID); got.Status != claim.StatusInReview || got.Outcome != "" {
		t.Fatalf("after one rejection the claim is %s / %s", got.Status, got.Outcome)
	}
	if _, ok, _ := h.svc.LeaseTask(ctx, reviewer); ok {
		t.Fatal("the first reviewer got the second review of its own rejection")
	}
	second, ok, err := h.svc.LeaseTask(ctx, reviewer2)
	if err != nil || !ok || second.Kind != claim.TaskSecondReview || second.DecisionID != first.ID {
		t.Fatalf("second review: %+v %v %v", second, ok, err)
	}
	if _, err := h.svc.DecideTask(ctx, reviewer2, second.ID, adjudicate.DecisionInput{Outcome: claim.OutcomeReject, ReasonCode: claim.ReasonFabricatedEvidence}); err != nil {
		t.Fatal(err)
	}
	got, _ := h.store.GetClaim(ctx, c.ID)
	if got.Status != claim.StatusRejected || got.Outcome != claim.OutcomeReject || got.AppealDeadline == nil {
		t.Fatalf("after confirmation %+v", got)
	}
	rec, err := h.svc.GetBuyerRecord(ctx, reviewer, "b1")
	if err != nil || rec.Windows[0].RejectedFabricated != 1 || rec.Outcomes[claim.OutcomeReject] != 1 || rec.FabricatedShare != 1 {
		t.Fatalf("buyer record %+v %v", rec, err)
	}

	// The buyer appeals: neither the reviewer who proposed the rejection nor the one who
	// confirmed it may hear the appeal; a third reviewer does.
	if _, err := h.svc.Appeal(ctx, buyer2, c.ID, adjudicate.AppealInput{Statement: "x"}); claim.ErrorCode(err) != claim.CodeNotFound {
		t.Fatalf("a stranger's appeal: %v", err)
	}
	appealed, err := h.svc.Appeal(ctx, buyer1, c.ID, adjudicate.AppealInput{Statement: "the crack is real"})
	if err != nil || appealed.Status != claim.StatusInReview {
		t.Fatalf("appeal: %+v %v", appealed, err)
	}
	if _, ok, _ := h.svc.LeaseTask(ctx, reviewer); ok {
		t.Fatal("the reviewer who proposed the rejection got its appeal")
	}
	if _, ok, _ := h.svc.LeaseTask(ctx, reviewer2); ok {
		t.Fatal("the reviewer who confirmed the rejection got its appeal")
	}
	at, ok, err := h.svc.LeaseTask(ctx, reviewer3)
	if err != nil || !ok || at.Kind != claim.TaskAppeal || !slices.Equal(at.ExcludeReviewers, []string{reviewer.Actor(), reviewer2.Actor()}) {
		t.Fatalf("appeal task %+v %v %v", at, ok, err)
	}
	amount := int64(150000)
	if _, err := h.svc.DecideTask(ctx, reviewer3, at.ID, adjudicate.DecisionInput{Outcome: claim.OutcomePartial, Amount: &amount}); err != nil {
		t.Fatal(err)
	}
	got, _ = h.store.GetClaim(ctx, c.ID)
	if got.Status != claim.StatusPartiallyApproved || got.ApprovedAmount.Value != amount || got.AppealDeadline != nil {
		t.Fatalf("after the appeal %+v", got)
	}
	if _, err := h.svc.Appeal(ctx, merchant1, c.ID, adjudicate.AppealInput{Statement: "again"}); claim.ErrorCode(err) != claim.CodeConflict {
		t.Fatalf("a second appeal: %v", err)
	}
}

// in returns the harness reporting to t, for use inside a subtest.
func (h *harness) in(t *testing.T) *harness {
	c := *h
	c.t = t
	return &c
}

// TestAppealGoesToAReviewerWithNoPartInTheDecision: an appeal is barred to everyone who
// took part in the decision under appeal, on SQLite and PostgreSQL; it waits while only they
// ask for work, and the second review of the appeal's own rejection bars them too.
func TestAppealGoesToAReviewerWithNoPartInTheDecision(t *testing.T) {
	type ruling struct {
		by      claim.Principal
		outcome claim.Outcome
	}
	cases := []struct {
		name      string
		amount    int64
		rulings   []ruling // before the appeal, each on the next task its reviewer leases
		appellant claim.Principal
		barred    []claim.Principal // from the appeal, in the order the task lists them
		hearer    claim.Principal   // who gets the appeal
		ruling    claim.Outcome     // the hearer's ruling
		// For a rejection at or above the four-eyes threshold: who may not do its second
		// review (dave does it).
		secondBarred []claim.Principal
	}{
		{name: "a four-eyes rejection: its proposer and its confirmer", amount: 300000,
			rulings:   []ruling{{reviewer, claim.OutcomeReject}, {reviewer2, claim.OutcomeReject}},
			appellant: buyer1, barred: []claim.Principal{reviewer, reviewer2}, hearer: reviewer3, ruling: claim.OutcomeReject,
			secondBarred: []claim.Principal{reviewer, reviewer2, reviewer3}},
		{name: "an overturned rejection: its proposer and the reviewer who overturned it", amount: 300000,
			rulings:   []ruling{{reviewer, claim.OutcomeReject}, {reviewer2, claim.OutcomeApprove}},
			appellant: merchant1, barred: []claim.Principal{reviewer, reviewer2}, hearer: reviewer3, ruling: claim.OutcomePartial},
		{name: "a reviewer who asked for more photos, and the one who then rejected", amount: 9900,
			rulings:   []ruling{{reviewer, claim.OutcomeRequestEvidence}, {reviewer2, claim.OutcomeReject}},
			appellant: buyer1, barred: []claim.Principal{reviewer, reviewer2}, hearer: reviewer3, ruling: claim.OutcomeApprove},
		{name: "a small rejection: its one reviewer", amount: 9900,
			rulings:   []ruling{{reviewer, claim.OutcomeReject}},
			appellant: buyer1, barred: []claim.Principal{reviewer}, hearer: reviewer2, ruling: claim.OutcomeApprove},
	}
	decide := func(t *testing.T, h *harness, p claim.Principal, claimID string, kind claim.TaskKind, outcome claim.Outcome) claim.Decision {
		t.Helper()
		task, ok, err := h.svc.LeaseTask(context.Background(), p)
		if err != nil || !ok || task.ClaimID != claimID || task.Kind != kind {
			t.Fatalf("%s leased %+v %v %v, want the %s task of %s", p.Actor(), task, ok, err, kind, claimID)
		}
		in := adjudicate.DecisionInput{Outcome: outcome}
		switch outcome {
		case claim.OutcomeReject:
			in.ReasonCode = claim.ReasonOther
		case claim.OutcomePartial:
			amount := int64(5000)
			in.Amount = &amount
		case claim.OutcomeRequestEvidence:
			in.Note = "a photo of the label"
		}
		d, err := h.svc.DecideTask(context.Background(), p, task.ID, in)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	actors := func(ps []claim.Principal) []string {
		out := make([]string, len(ps))
		for i, p := range ps {
			out[i] = p.Actor()
		}
		return out
	}
	eachDialect(t, func(t *testing.T, h *harness) {
		h.runWorkers(adjudicate.WorkerOptions{Workers: 1})
		ctx := context.Background()
		for i, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				h := h.in(t)
				c := reviewClaim(t, h, buyer1, fmt.Sprintf("T-appeal-%d", i), tc.amount, 40+i)
				kind := claim.TaskReview
				for _, r := range tc.rulings {
					if d := decide(t, h, r.by, c.ID, kind, r.outcome); d.Pending {
						kind = claim.TaskSecondReview
					}
					if r.outcome == claim.OutcomeRequestEvidence {
						// The buyer sends the photo asked for; after its analysis the claim
						// is back in review, on a new task.
						if _, err := h.svc.AddEvidence(ctx, buyer1, c.ID, uploads(60+i)); err != nil {
							t.Fatal(err)
						}
						if got := h.waitRouted(c.ID); got.Status != claim.StatusInReview {
							t.Fatalf("after the buyer's new photo the claim is %s", got.Status)
						}
					}
				}
				if _, err := h.svc.Appeal(ctx, tc.appellant, c.ID, adjudicate.AppealInput{Statement: "look again"}); err != nil {
					t.Fatal(err)
				}
				for _, p := range tc.barred {
					if got, ok, err := h.svc.LeaseTask(ctx, p); err != nil || ok {
						t.Fatalf("%s, who took part in the decision, leased %+v (%v)", p.Actor(), got, err)
					}
				}
				// Only barred reviewers have asked: the appeal waits, open, for someone else.
				queued, err := h.store.ClaimTasks(ctx, c.ID)
				if err != nil {
					t.Fatal(err)
				}
				appeal := queued[len(queued)-1]
				if appeal.Kind != claim.TaskAppeal || appeal.State != claim.TaskOpen || !slices.Equal(appeal.ExcludeReviewers, actors(tc.barred)) {
					t.Fatalf("the appeal task %+v, want open and barred to %v", appeal, actors(tc.barred))
				}
				if d := decide(t, h, tc.hearer, c.ID, claim.TaskAppeal, tc.ruling); d.Pending {
					for _, p := range tc.secondBarred {
						if got, ok, err := h.svc.LeaseTask(ctx, p); err != nil || ok {
							t.Fatalf("%s leased %+v (%v), the second review of the appeal's rejection", p.Actor(), got, err)
						}
					}
					second, ok, err := h.svc.LeaseTask(ctx, reviewer4)
					if err != nil || !ok || second.Kind != claim.TaskSecondReview || !slices.Equal(second.ExcludeReviewers, actors(tc.secondBarred)) {
						t.Fatalf("second review of the appeal %+v %v %v, want barred to %v", second, ok, err, actors(tc.secondBarred))
					}
					if _, err := h.svc.DecideTask(ctx, reviewer4, second.ID, adjudicate.DecisionInput{Outcome: claim.OutcomeReject, ReasonCode: claim.ReasonOther}); err != nil {
						t.Fatal(err)
					}
				} else if tc.secondBarred != nil {
					t.Fatalf("the appeal's %s was final at once, want a pending rejection", tc.ruling)
				}
				got, _ := h.store.GetClaim(ctx, c.ID)
				if !got.Status.Final() || got.AppealDeadline != nil {
					t.Fatalf("after the appeal the claim is %+v, want a final ruling", got)
				}
			})
		}
	})
}

// TestAppealWindow: an appeal is accepted until the window (15 days) after the ruling ends
// and refused as a conflict after it, leaving the claim as it was.
func TestAppealWindow(t *testing.T) {
	h := newHarness(t)
	h.runWorkers(adjudicate.WorkerOptions{Workers: 1})
	ctx := context.Background()
	const window = 15 * 24 * time.Hour
	for i, tc := range []struct {
		name  string
		after time.Duration // from the ruling to the appeal
		want  claim.Code    // "" for accepted
	}{
		{"a second before the window closes", window - time.Second, ""},
		{"at the deadline itself (the sweeper closes the claim then)", window, claim.CodeConflict},
		{"a second after the window closed", window + time.Second, claim.CodeConflict},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := h.in(t)
			c := reviewClaim(t, h, buyer1, fmt.Sprintf("T-window-%d", i), 9900, 60+i)
			task, ok, err := h.svc.LeaseTask(ctx, reviewer)
			if err != nil || !ok || task.ClaimID != c.ID {
				t.Fatalf("lease %+v %v %v", task, ok, err)
			}
			if _, err := h.svc.DecideTask(ctx, reviewer, task.ID, adjudicate.DecisionInput{Outcome: claim.OutcomeReject, ReasonCode: claim.ReasonDamageNotShown}); err != nil {
				t.Fatal(err)
			}
			decided, _ := h.store.GetClaim(ctx, c.ID)
			if decided.AppealDeadline == nil || !decided.AppealDeadline.Equal(h.clock.Now().Add(window)) {
				t.Fatalf("appeal deadline %v, want 15 days from the ruling", decided.AppealDeadline)
			}
			h.clock.Advance(tc.after)
			got, err := h.svc.Appeal(ctx, buyer1, c.ID, adjudicate.AppealInput{Statement: "the crack is real"})
			if tc.want == "" {
				if err != nil || got.Status != claim.StatusInReview {
					t.Fatalf("appeal inside the window: %+v %v", got, err)
				}
				return
			}
			if claim.ErrorCode(err) != tc.want || !strings.Contains(err.Error(), "appeal window closed") {
				t.Fatalf("appeal after the window: %v, want %s", err, tc.want)
			}
			if after, _ := h.store.GetClaim(ctx, c.ID); after.Status != claim.StatusRejected {
				t.Fatalf("a refused appeal moved the claim to %s", after.Status)
			}
			if appeals, _ := h.store.ListAppeals(ctx, c.ID); len(appeals) != 0 {
				t.Fatalf("a refused appeal was stored: %+v", appeals)
			}
		})
	}
}

func TestSecondReviewerOverturnsAndSmallRejectionsNeedOne(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	stop := h.runWorkers(adjudicate.WorkerOptions{Workers: 1})
	defer stop()
	big := reviewClaim(t, h, buyer1, "T-big", 300000, 8)
	small := reviewClaim(t, h, buyer1, "T-small", 9900, 9)

	// The big claim comes first (amount band), then the small one.
	t1, _, _ := h.svc.LeaseTask(ctx, reviewer)
	t2, _, _ := h.svc.LeaseTask(ctx, reviewer2)
	if t1.ClaimID != big.ID || t2.ClaimID != small.ID {
		t.Fatalf("queue order: %s then %s", t1.ClaimID, t2.ClaimID)
	}
	if _, err := h.svc.DecideTask(ctx, reviewer2, t2.ID, adjudicate.DecisionInput{Outcome: claim.OutcomeReject, ReasonCode: claim.ReasonDamageNotShown}); err != nil {
		t.Fatal(err)
	}
	if got, _ := h.store.GetClaim(ctx, small.ID); got.Status != claim.StatusRejected {
		t.Fatalf("a small rejection is final at once; claim is %s", got.Status)
	}
	if _, err := h.svc.DecideTask(ctx, reviewer, t1.ID, adjudicate.DecisionInput{Outcome: claim.OutcomeReject, ReasonCode: claim.ReasonOther, Note: "?"}); err != nil {
		t.Fatal(err)
	}
	sr, ok, _ := h.svc.LeaseTask(ctx, reviewer2)
	if !ok || sr.Kind != claim.TaskSecondReview {
		t.Fatalf("second review %+v", sr)
	}
	if _, err := h.svc.DecideTask(ctx, reviewer2, sr.ID, adjudicate.DecisionInput{Outcome: claim.OutcomeApprove}); err != nil {
		t.Fatal(err)
	}
	got, _ := h.store.GetClaim(ctx, big.ID)
	if got.Status != claim.StatusApproved || got.ApprovedAmount.Value != 300000 {
		t.Fatalf("overturned claim %+v", got)
	}
	// The appeal window passes: the sweeper closes decided claims.
	h.clock.Advance(15*24*time.Hour + time.Second)
	res, err := h.svc.SweepDeadlines(ctx)
	if err != nil || res.Closed != 2 {
		t.Fatalf("sweep %+v %v", res, err)
	}
	if got, _ := h.store.GetClaim(ctx, big.ID); got.Status != claim.StatusClosed || got.Outcome != claim.OutcomeApprove {
		t.Fatalf("closed claim %+v", got)
	}
}

func TestBuyerEvidenceDeadlineSendsTheClaimToReview(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	stop := h.runWorkers(adjudicate.WorkerOptions{Workers: 1})
	defer stop()
	c := reviewClaim(t, h, buyer1, "T-ev", 9900, 11)
	task, _, _ := h.svc.LeaseTask(ctx, reviewer)
	if _, err := h.svc.DecideTask(ctx, reviewer, task.ID, adjudicate.DecisionInput{Outcome: claim.OutcomeRequestEvidence, Note: "a photo of the label"}); err != nil {
		t.Fatal(err)
	}
	got, _ := h.store.GetClaim(ctx, c.ID)
	if got.Status != claim.StatusAwaitingBuyerEvidence || got.BuyerDeadline == nil {
		t.Fatalf("after the request %+v", got)
	}
	h.clock.Advance(72*time.Hour + time.Second)
	if res, err := h.svc.SweepDeadlines(ctx); err != nil || res.EvidenceRequests != 1 {
		t.Fatalf("sweep %+v %v", res, err)
	}
	got, _ = h.store.GetClaim(ctx, c.ID)
	if got.Status != claim.StatusInReview || !strings.Contains(lastDecision(t, h, c.ID).Note, "did not send") {
		t.Fatalf("after the deadline %+v", got)
	}
}

func TestDuplicateEvidenceAcrossClaims(t *testing.T) {
	shot, resaved, other := texturedPhoto(5), texturedPhoto(6), texturedPhoto(7)
	// The re-saved copy hashes 6 bits away from the shot (within PDQ's radius of 31), the
	// other photo 128 bits away.
	pdqs := map[string]string{sha(resaved): flipBits(sha(shot), 6), sha(other): flipBits(sha(shot), 128)}
	analyzer := hashingAnalyzer{forensics.NewAnalyzer(forensics.AnalyzerOptions{}), pdqs}
	h := newHarness(t, withAnalyzer(analyzer))
	ctx := context.Background()
	stop := h.runWorkers(adjudicate.WorkerOptions{Workers: 1})
	defer stop()
	first := h.fileWith(buyer1, "T-d1", 9900, shot)
	h.waitRouted(first.Claim.ID)
	// Another buyer, another order, the same shot (re-saved bytes would do as well).
	second := h.fileWith(buyer2, "T-d2", 9900, shot)
	c := h.waitRouted(second.Claim.ID)
	if c.Status != claim.StatusInReview || !matched(lastDecision(t, h, c.ID), "duplicate-evidence") {
		t.Fatalf("duplicate claim routed %s: %+v", c.Status, lastDecision(t, h, c.ID).Rules)
	}
	ev, _ := h.store.ListEvidence(ctx, c.ID)
	var rep struct {
		Findings []struct {
			Code    string         `json:"code"`
			Details map[string]any `json:"details"`
		} `json:"findings"`
	}
	json.Unmarshal(ev[0].Report, &rep)
	found := false
	for _, f := range rep.Findings {
		if f.Code == "duplicate_evidence" {
			found = f.Details["claim_id"] == first.Claim.ID && f.Details["buyer_id"] == "b1"
		}
	}
	if !found {
		t.Fatalf("no duplicate_evidence finding naming %s: %s", first.Claim.ID, ev[0].Report)
	}
	t.Run("a different photo is no duplicate, nor a photo of the same order", func(t *testing.T) {
		d := h.fileWith(buyer2, "T-d4", 9900, other)
		if c := h.waitRouted(d.Claim.ID); c.Status != claim.StatusAwaitingMerchant {
			t.Fatalf("an unrelated photo routed %s", c.Status)
		}
	})
	// A restarted service rebuilds the index from the database and still sees both.
	h2 := startHarness(t, h.dsn, h.dataDir, withAnalyzer(analyzer))
	if err := h2.svc.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	h2.runWorkers(adjudicate.WorkerOptions{Workers: 1})
	third := h2.fileWith(buyer2, "T-d3", 9900, resaved)
	if c := h2.waitRouted(third.Claim.ID); c.Status != claim.StatusInReview {
		t.Fatalf("after a restart the reused shot routed %s", c.Status)
	}
}

func TestCaseFile(t *testing.T) {
	h := newHarness(t, withAnalyzer(heatmapAnalyzer{forensics.NewAnalyzer(forensics.AnalyzerOptions{})}))
	ctx := context.Background()
	stop := h.runWorkers(adjudicate.WorkerOptions{Workers: 1})
	defer stop()
	c := reviewClaim(t, h, buyer1, "T-cf", 9900, 12)

	var a, b bytes.Buffer
	if err := h.svc.WriteCaseFile(ctx, reviewer, c.ID, &a); err != nil {
		t.Fatal(err)
	}
	if err := h.svc.WriteCaseFile(ctx, admin, c.ID, &b); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("two exports of an unchanged claim differ")
	}
	zr, err := zip.NewReader(bytes.NewReader(a.Bytes()), int64(a.Len()))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	var names []string
	for _, f := range zr.File {
		rc, _ := f.Open()
		data, _ := io.ReadAll(rc)
		rc.Close()
		files[f.Name] = data
		names = append(names, f.Name)
	}
	if names[0] != "manifest.json" {
		t.Fatalf("first entry %s", names[0])
	}
	var man struct {
		Format  string `json:"format"`
		ClaimID string `json:"claim_id"`
		Files   []struct {
			Path   string `json:"path"`
			SHA256 string `json:"sha256"`
			Size   int64  `json:"size"`
		} `json:"files"`
		Audit struct {
			Events int `json:"events"`
		} `json:"audit"`
	}
	if err := json.Unmarshal(files["manifest.json"], &man); err != nil || man.ClaimID != c.ID || man.Format != adjudicate.CaseFileFormat {
		t.Fatalf("manifest %s: %v", files["manifest.json"], err)
	}
	if len(man.Files) != len(files)-1 {
		t.Fatalf("manifest lists %d files, archive has %d", len(man.Files), len(files)-1)
	}
	d, _ := h.svc.GetClaim(ctx, reviewer, c.ID)
	want := []string{"claim.json", "order.json", "decisions.json", "responses.json", "appeals.json", "audit.json",
		"reports/" + d.Evidence[0].ID + ".json", "heatmaps/" + d.Evidence[0].ID + ".png"}
	for _, w := range want {
		if _, ok := files[w]; !ok {
			t.Errorf("no %s in %v", w, names)
		}
	}
	for _, f := range man.Files {
		sum := sha256.Sum256(files[f.Path])
		if hex.EncodeToString(sum[:]) != f.SHA256 || int64(len(files[f.Path])) != f.Size {
			t.Errorf("%s: manifest sha256 %s size %d, content %x %d", f.Path, f.SHA256, f.Size, sum, len(files[f.Path]))
		}
		if strings.HasPrefix(f.Path, "evidence/") && f.SHA256 != d.Evidence[0].SHA256 {
			t.Errorf("photo %s has sha256 %s, stored %s", f.Path, f.SHA256, d.Evidence[0].SHA256)
		}
	}
	var events []struct {
		Seq                                        int64
		Time                                       time.Time
		Actor, Action, Entity, Before, After, Hash string
		EntityID                                   string `json:"entity_id"`
		PrevHash                                   string `json:"prev_hash"`
	}
	json.Unmarshal(files["audit.json"], &events)
	if len(events) == 0 || len(events) != man.Audit.Events {
		t.Fatalf("%d audit events, manifest says %d", len(events), man.Audit.Events)
	}
	for _, e := range events {
		ev := claim.AuditEvent{Seq: e.Seq, Time: e.Time, Actor: e.Actor, Action: e.Action, Entity: e.Entity, EntityID: e.EntityID,
			Before: json.RawMessage(e.Before), After: json.RawMessage(e.After), PrevHash: e.PrevHash}
		if ev.ComputeHash() != e.Hash {
			t.Fatalf("event %d does not verify from the case file", e.Seq)
		}
	}
	var decisions []struct {
		Rules []claim.RuleHit `json:"rules"`
	}
	json.Unmarshal(files["decisions.json"], &decisions)
	if len(decisions) == 0 || len(decisions[0].Rules) == 0 {
		t.Fatalf("decisions without rule traces: %s", files["decisions.json"])
	}
	t.Run("access", func(t *testing.T) {
		if err := h.svc.WriteCaseFile(ctx, merchant1, c.ID, io.Discard); err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := h.svc.WriteCaseFile(ctx, merchant2, c.ID, &buf); claim.ErrorCode(err) != claim.CodeNotFound || buf.Len() != 0 {
			t.Fatalf("another merchant: %v (%d bytes)", err, buf.Len())
		}
		if err := h.svc.WriteCaseFile(ctx, buyer1, c.ID, &buf); claim.ErrorCode(err) != claim.CodeForbidden {
			t.Fatalf("the buyer: %v", err)
		}
	})
}

func TestRuleSetsAndBacktest(t *testing.T) {
	eachDialect(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		if _, _, err := h.svc.CreateRuleSet(ctx, admin, []byte("name: x\nfallback: approve\nrules: []\n")); claim.ErrorCode(err) != claim.CodeInvalid ||
			!strings.Contains(err.Error(), "fallback must not be approve") {
			t.Fatalf("a refused set: %v", err)
		}
		bad := "name: x\nfallback: review\nrules:\n  - id: deny\n    route: reject\n    when: claim.amout > 1\n"
		_, _, err := h.svc.CreateRuleSet(ctx, admin, []byte(bad))
		if claim.ErrorCode(err) != claim.CodeInvalid || !strings.Contains(err.Error(), `rule "deny"`) || !strings.Contains(err.Error(), "claim.amout") {
			t.Fatalf("refusal names the rule and reason: %v", err)
		}
		if _, _, err := h.svc.CreateRuleSet(ctx, reviewer, rules.DefaultYAML()); claim.ErrorCode(err) != claim.CodeForbidden {
			t.Fatalf("a reviewer uploads: %v", err)
		}
		// A draft that sends everything to review.
		draft := "name: cautious\nfallback: review\nrules:\n  - id: everything\n    route: review\n    when: \"true\"\n"
		rs, created, err := h.svc.CreateRuleSet(ctx, admin, []byte(draft))
		if err != nil || !created || rs.Active {
			t.Fatalf("upload %+v %v %v", rs, created, err)
		}
		if again, created, err := h.svc.CreateRuleSet(ctx, admin, []byte(draft)); err != nil || created || again.ID != rs.ID {
			t.Fatalf("re-upload %+v %v %v", again, created, err)
		}

		// A fixture history in the database: claims routed by the default set and decided.
		o := h.order(merchant1, "b1", "T-h")
		history := []struct {
			route   claim.Route
			outcome claim.Outcome
			reason  string
		}{
			{claim.RouteApprove, "", ""},
			{claim.RouteApprove, claim.OutcomeReject, claim.ReasonFabricatedEvidence}, // approved, appealed, rejected
			{claim.RouteReview, claim.OutcomeReject, claim.ReasonStolenMerchantPhoto},
			{claim.RouteReview, claim.OutcomeApprove, ""},
			{claim.RouteReviewPriority, claim.OutcomeReject, claim.ReasonAIGenerated},
		}
		for i, rec := range history {
			c, err := h.store.CreateClaim(ctx, claim.Claim{OrderID: o.ID, BuyerID: "b1", MerchantID: "m1", Reason: claim.ReasonDamaged,
				Amount: claim.Money{Value: 9900, Currency: "CNY"}, RefundType: claim.RefundOnly, Status: claim.StatusInReview, RequestHash: "x"})
			if err != nil {
				t.Fatal(err)
			}
			facts, _ := json.Marshal(rules.Facts{Claim: rules.ClaimFacts{Amount: int64(9900 + i), Currency: "CNY"}})
			if _, err := h.store.CreateDecision(ctx, claim.Decision{ClaimID: c.ID, Route: rec.route, DecidedBy: "rules", Facts: facts}); err != nil {
				t.Fatal(err)
			}
			if rec.outcome != "" {
				if _, err := h.store.CreateDecision(ctx, claim.Decision{ClaimID: c.ID, Outcome: rec.outcome, ReasonCode: rec.reason, DecidedBy: "reviewer:alice"}); err != nil {
					t.Fatal(err)
				}
				c.Outcome, c.ReasonCode, c.Status = rec.outcome, rec.reason, claim.StatusRejected
				if _, err := h.store.UpdateClaim(ctx, c, claim.StatusInReview); err != nil {
					t.Fatal(err)
				}
			}
		}
		rep, err := h.svc.BacktestRuleSet(ctx, admin, rs.ID)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Records != 5 || rep.Decided != 4 || rep.Changed != 3 {
			t.Fatalf("records %d decided %d changed %d", rep.Records, rep.Decided, rep.Changed)
		}
		// Actual: TP 2 (review+reject, priority+reject), FP 1, FN 1 (approved then rejected), fabricated not reviewed 1.
		a := rep.Actual
		if a.TruePositives != 2 || a.FalsePositives != 1 || a.FalseNegatives != 1 || a.FabricatedNotReviewed != 1 ||
			*a.Precision != 2.0/3 || *a.Recall != 2.0/3 {
			t.Fatalf("actual %+v", a)
		}
		dr := rep.Draft
		if dr.TruePositives != 3 || dr.FalseNegatives != 0 || *dr.Recall != 1 || dr.FabricatedNotReviewed != 0 ||
			dr.Confusion.Count(rules.RouteReview, rules.OutcomeReject) != 3 {
			t.Fatalf("draft %+v", dr)
		}

		active, err := h.svc.ActivateRuleSet(ctx, admin, rs.ID)
		if err != nil || !active.Active {
			t.Fatalf("activate %+v %v", active, err)
		}
		sets, _ := h.svc.ListRuleSets(ctx, admin)
		n := 0
		for _, s := range sets {
			if s.Active {
				n++
			}
		}
		if len(sets) != 2 || n != 1 {
			t.Fatalf("%d sets, %d active", len(sets), n)
		}
		// The next routing uses the active set.
		c := h.fileWith(buyer1, "T-after", 9900, photo(30))
		h.runWorkers(adjudicate.WorkerOptions{Workers: 1})
		got := h.waitRouted(c.Claim.ID)
		if dec := lastDecision(t, h, got.ID); got.Status != claim.StatusInReview || dec.RuleSetVersion != active.Version {
			t.Fatalf("routed %s by %s", got.Status, dec.RuleSetVersion)
		}
	})
}

func TestFlagBuyer(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	h.order(merchant1, "b1", "T-f")
	if _, err := h.svc.FlagBuyer(ctx, buyer1, "b1", "x"); claim.ErrorCode(err) != claim.CodeForbidden {
		t.Fatalf("a buyer flags: %v", err)
	}
	if _, err := h.svc.FlagBuyer(ctx, reviewer, "nobody", "x"); claim.ErrorCode(err) != claim.CodeNotFound {
		t.Fatalf("unknown buyer: %v", err)
	}
	if _, err := h.svc.FlagBuyer(ctx, reviewer, "b1", "  "); claim.ErrorCode(err) != claim.CodeInvalid {
		t.Fatalf("empty reason: %v", err)
	}
	f, err := h.svc.FlagBuyer(ctx, reviewer, "b1", "painted cracks in two claims")
	if err != nil || f.By != "reviewer:alice" {
		t.Fatalf("flag %+v %v", f, err)
	}
	rec, _ := h.svc.GetBuyerRecord(ctx, admin, "b1")
	events, _ := h.store.AuditEvents(ctx, "buyer", "b1")
	if len(rec.Flags) != 1 || len(events) != 1 || events[0].Action != "buyer.flagged" {
		t.Fatalf("record flags %+v, events %+v", rec.Flags, events)
	}
}

// flipBits flips the first n bits of a 64-hex-digit hash.
func flipBits(hexHash string, n int) string {
	b, _ := hex.DecodeString(hexHash)
	for i := range n {
		b[i/8] ^= 1 << (i % 8)
	}
	return hex.EncodeToString(b)
}
