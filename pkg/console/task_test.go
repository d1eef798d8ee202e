package console

import (
	"archive/zip"
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/refundguard/refundguard/pkg/claim"
)

// leaseTop signs in with key and leases the next task, returning the CSRF token.
func leaseTop(t *testing.T, c *client, key, wantTask string) string {
	t.Helper()
	tok := c.signIn(key)
	p := c.post("/console/lease", url.Values{"csrf": {tok}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/console/tasks/"+wantTask {
		t.Fatalf("lease: %d to %q, want %s", p.status, p.header.Get("Location"), wantTask)
	}
	return tok
}

func TestClaimPage(t *testing.T) {
	f := newFixture(t, false)
	alice := f.client(t)
	leaseTop(t, alice, "rk_alice", "task-big")
	p := alice.get("/console/tasks/task-big")
	if p.status != http.StatusOK {
		t.Fatalf("status %d", p.status)
	}
	for _, want := range []string{
		`viewBox="0 0 1200 900"`,
		`<rect class="region" x="610" y="220" width="180" height="260"`,
		`<rect class="region" x="150" y="600" width="240" height="90"`,
		`src="/console/evidence/ev-1/content" data-heatmap="/console/evidence/ev-1/heatmap"`,
		`src="/console/references/ref-catalog-1/content"`,
		`id="decision-form"`,
		"Damage painted on", "2 area(s) of the photo differ from the merchant&#39;s original (6.1% of the picture)",
		"The merchant&#39;s own photo", "Edited with software", "Meitu 9.8",
		"stolen_merchant_photo", "This is our catalogue photo", "claim filed", "claim routed → in review",
		"Celadon vase, large", `href="/console/claims/clm-9f3a2c71d0/case-file"`,
	} {
		if !strings.Contains(p.body, want) {
			t.Errorf("claim page lacks %s", want)
		}
	}
	for _, raw := range []string{`"findings":`, `&#34;code&#34;`, `&#34;regions&#34;`, `"regions":`} {
		if strings.Contains(p.body, raw) {
			t.Errorf("claim page shows raw report JSON (%s)", raw)
		}
	}

	t.Run("another reviewer sees it without the decision form", func(t *testing.T) {
		bob := f.client(t)
		bob.signIn("rk_bob")
		p := bob.get("/console/tasks/task-big")
		if strings.Contains(p.body, `id="decision-form"`) || !strings.Contains(p.body, "It is held by reviewer:alice") {
			t.Error("bob gets a decision form for alice's task")
		}
	})
	t.Run("unknown tasks are 404", func(t *testing.T) {
		if p := alice.get("/console/tasks/nope"); p.status != http.StatusNotFound {
			t.Errorf("status %d", p.status)
		}
	})
}

func TestDecisionForm(t *testing.T) {
	tests := []struct {
		name       string
		form       url.Values
		wantStatus int
		wantText   string
		wantAmount int64 // of the recorded decision, when one is expected
	}{
		{"no outcome", url.Values{"note": {"hmm"}}, http.StatusBadRequest, "Choose an outcome", 0},
		{"partial without an amount", url.Values{"outcome": {"partial"}, "amount": {""}, "note": {"keep me"}}, http.StatusBadRequest, "Enter the partial amount", 0},
		{"partial with words", url.Values{"outcome": {"partial"}, "amount": {"half"}}, http.StatusBadRequest, "Enter the partial amount", 0},
		{"partial of the whole claim", url.Values{"outcome": {"partial"}, "amount": {"4599"}}, http.StatusBadRequest, "must be less than the amount claimed", 0},
		{"reject without a reason", url.Values{"outcome": {"reject"}}, http.StatusBadRequest, "Choose a reason", 0},
		{"request evidence without saying what", url.Values{"outcome": {"request_evidence"}, "note": {"  "}}, http.StatusBadRequest, "Say in the note what the buyer should send", 0},
		{"partial refund", url.Values{"outcome": {"partial"}, "amount": {"1,000.50"}}, http.StatusSeeOther, "", 100050},
		{"approve", url.Values{"outcome": {"approve"}}, http.StatusSeeOther, "", 0},
		{"request evidence", url.Values{"outcome": {"request_evidence"}, "note": {"photo of the box"}}, http.StatusSeeOther, "", 0},
		{"reject with a reason", url.Values{"outcome": {"reject"}, "reason_code": {"fabricated_evidence"}}, http.StatusSeeOther, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, false)
			c := f.client(t)
			tok := leaseTop(t, c, "rk_alice", "task-big")
			tt.form.Set("csrf", tok)
			p := c.post("/console/tasks/task-big/decision", tt.form)
			if p.status != tt.wantStatus {
				t.Fatalf("status %d, want %d\n%s", p.status, tt.wantStatus, p.body)
			}
			if tt.wantStatus != http.StatusSeeOther {
				if !strings.Contains(p.body, tt.wantText) {
					t.Errorf("page does not say %q", tt.wantText)
				}
				if note := strings.TrimSpace(tt.form.Get("note")); note != "" && !strings.Contains(p.body, ">"+note+"</textarea>") {
					t.Error("the note typed was lost")
				}
				if len(f.svc.decisions) != 0 {
					t.Error("an invalid form reached the service")
				}
				return
			}
			if loc := p.header.Get("Location"); loc != "/console/?decided=clm-9f3a2c71d0" {
				t.Errorf("redirect to %q", loc)
			}
			if len(f.svc.decisions) != 1 {
				t.Fatalf("%d decisions recorded", len(f.svc.decisions))
			}
			d := f.svc.decisions[0]
			if string(d.Outcome) != tt.form.Get("outcome") || d.ReasonCode != tt.form.Get("reason_code") || d.Note != tt.form.Get("note") {
				t.Errorf("recorded %+v", d)
			}
			if tt.wantAmount != 0 && (d.Amount == nil || *d.Amount != tt.wantAmount) {
				t.Errorf("amount %v, want %d", d.Amount, tt.wantAmount)
			}
		})
	}
}

func TestFourEyes(t *testing.T) {
	f := newFixture(t, false)
	alice := f.client(t)
	tok := leaseTop(t, alice, "rk_alice", "task-big")
	alice.post("/console/tasks/task-big/decision", url.Values{"csrf": {tok}, "outcome": {"reject"}, "reason_code": {"fabricated_evidence"}, "note": {"painted crack"}})

	t.Run("the first reviewer is given other work", func(t *testing.T) {
		p := alice.post("/console/lease", url.Values{"csrf": {tok}})
		if p.header.Get("Location") != "/console/tasks/task-small" {
			t.Errorf("alice leased %q", p.header.Get("Location"))
		}
	})
	t.Run("the second reviewer sees the first decision", func(t *testing.T) {
		bob := f.client(t)
		leaseTop(t, bob, "rk_bob", "task-big-2")
		p := bob.get("/console/tasks/task-big-2")
		for _, want := range []string{`id="first-decision"`, "Second review (four eyes)", "reviewer:alice", "Reject", "fabricated evidence", "painted crack"} {
			if !strings.Contains(p.body, want) {
				t.Errorf("second review page lacks %q", want)
			}
		}
	})
	t.Run("a decision on a task one does not hold is refused by the service", func(t *testing.T) {
		p := alice.post("/console/tasks/task-big-2/decision", url.Values{"csrf": {tok}, "outcome": {"approve"}})
		if p.status != http.StatusConflict || !strings.Contains(p.body, "task is not leased by you") {
			t.Errorf("status %d", p.status)
		}
	})
}

func TestHeartbeat(t *testing.T) {
	f := newFixture(t, false)
	alice := f.client(t)
	tok := leaseTop(t, alice, "rk_alice", "task-big")
	req, _ := http.NewRequest(http.MethodPost, alice.base+"/console/tasks/task-big/heartbeat", nil)
	req.Header.Set(csrfHeader, tok)
	if p := alice.do(req); p.status != http.StatusOK || !strings.HasPrefix(p.body, "2026-11-20T09:45:00Z") {
		t.Errorf("heartbeat: %d %q", p.status, p.body)
	}
	bob := f.client(t)
	btok := bob.signIn("rk_bob")
	req, _ = http.NewRequest(http.MethodPost, bob.base+"/console/tasks/task-big/heartbeat", nil)
	req.Header.Set(csrfHeader, btok)
	if p := bob.do(req); p.status != http.StatusConflict {
		t.Errorf("bob's heartbeat on alice's task: %d", p.status)
	}
}

func TestFlagBuyer(t *testing.T) {
	tests := []struct {
		name       string
		reason     string
		back       string
		wantStatus int
		wantLoc    string
	}{
		{"flags and returns to the claim", "edited merchant photo", "/console/tasks/task-big", http.StatusSeeOther, "/console/tasks/task-big#record"},
		{"never returns outside the console", "edited merchant photo", "https://evil.example/", http.StatusSeeOther, "/console/#record"},
		{"a reason is required", "  ", "/console/tasks/task-big", http.StatusBadRequest, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, false)
			c := f.client(t)
			tok := c.signIn("rk_alice")
			p := c.post("/console/buyers/b-4412/flag", url.Values{"csrf": {tok}, "reason": {tt.reason}, "back": {tt.back}})
			if p.status != tt.wantStatus || p.header.Get("Location") != tt.wantLoc {
				t.Fatalf("status %d location %q", p.status, p.header.Get("Location"))
			}
			flags := f.svc.flags["b-4412"]
			if tt.wantStatus != http.StatusSeeOther {
				if len(flags) != 0 {
					t.Error("flag recorded without a reason")
				}
				return
			}
			if len(flags) != 1 || flags[0].Reason != tt.reason || flags[0].By != "reviewer:alice" {
				t.Errorf("flags %+v", flags)
			}
			if page := c.get("/console/tasks/task-big"); !strings.Contains(page.body, tt.reason) {
				t.Error("the buyer's record does not show the flag")
			}
		})
	}
}

func TestCaseFile(t *testing.T) {
	f := newFixture(t, false)
	c := f.client(t)
	c.signIn("rk_alice")
	p := c.get("/console/claims/clm-9f3a2c71d0/case-file")
	if p.status != http.StatusOK || p.header.Get("Content-Type") != "application/zip" ||
		p.header.Get("Content-Disposition") != `attachment; filename="case-clm-9f3a2c71d0.zip"` {
		t.Fatalf("status %d, headers %v", p.status, p.header)
	}
	z, err := zip.NewReader(bytes.NewReader([]byte(p.body)), int64(len(p.body)))
	if err != nil || len(z.File) == 0 || z.File[0].Name != "manifest.json" {
		t.Errorf("case file is not the service's ZIP: %v", err)
	}
	t.Run("an unknown claim is a 404, not an empty ZIP", func(t *testing.T) {
		p := c.get("/console/claims/nope/case-file")
		if p.status != http.StatusNotFound || p.header.Get("Content-Disposition") != "" {
			t.Errorf("status %d, disposition %q", p.status, p.header.Get("Content-Disposition"))
		}
	})
}

func TestPhotoProxy(t *testing.T) {
	f := newFixture(t, false)
	c := f.client(t)
	c.signIn("rk_alice")
	tests := []struct {
		path       string
		wantStatus int
		wantBody   []byte
	}{
		{"/console/evidence/ev-1/content", http.StatusOK, f.svc.photos["ev-1"]},
		{"/console/evidence/ev-1/heatmap", http.StatusOK, f.svc.heatmaps["ev-1"]},
		{"/console/references/ref-catalog-1/content", http.StatusOK, f.svc.references["ref-catalog-1"]},
		{"/console/evidence/nope/content", http.StatusNotFound, nil},
		{"/console/references/nope/content", http.StatusNotFound, nil},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			p := c.get(tt.path)
			if p.status != tt.wantStatus {
				t.Fatalf("status %d", p.status)
			}
			if tt.wantBody != nil && !bytes.Equal([]byte(p.body), tt.wantBody) {
				t.Error("the photo was altered in transit")
			}
		})
	}
}

func TestQueueFilters(t *testing.T) {
	f := newFixture(t, false)
	c := f.client(t)
	c.signIn("rk_alice")
	tests := []struct {
		query     string
		wantTasks []string
	}{
		{"", []string{"task-big", "task-small"}},
		{"?route=review_priority", []string{"task-big"}},
		{"?route=review", []string{"task-small"}},
		{"?kind=appeal", nil},
	}
	for _, tt := range tests {
		t.Run("filter "+tt.query, func(t *testing.T) {
			p := c.get("/console/" + tt.query)
			for _, id := range []string{"task-big", "task-small"} {
				want := false
				for _, w := range tt.wantTasks {
					want = want || w == id
				}
				if got := strings.Contains(p.body, `data-task="`+id+`"`); got != want {
					t.Errorf("%s listed: %v, want %v", id, got, want)
				}
			}
		})
	}
	t.Run("an empty queue says so", func(t *testing.T) {
		for _, task := range f.svc.tasks {
			task.State = claim.TaskDone
		}
		tok := c.token(c.get("/console/"))
		p := c.post("/console/lease", url.Values{"csrf": {tok}})
		if p.header.Get("Location") != "/console/?empty=1" {
			t.Fatalf("location %q", p.header.Get("Location"))
		}
		if page := c.get("/console/?empty=1"); !strings.Contains(page.body, "The queue is empty") {
			t.Error("no empty-queue message")
		}
	})
}

func TestAppealShowsTheAppellantsCase(t *testing.T) {
	f := newFixture(t, false)
	f.svc.mu.Lock()
	d := f.svc.claims["clm-9f3a2c71d0"]
	d.Claim.Status = claim.StatusAppealed
	d.Appeals = []claim.Appeal{{ID: "ap-1", ClaimID: d.Claim.ID, By: "buyer:b-4412", Role: claim.RoleBuyer,
		Statement: "I took this photo myself, here is another angle.", EvidenceIDs: []string{"ev-1"}, CreatedAt: f.clock.Now()}}
	for _, task := range f.svc.tasks {
		if task.ID == "task-big" {
			task.Kind = claim.TaskAppeal
		}
	}
	f.svc.mu.Unlock()
	c := f.client(t)
	leaseTop(t, c, "rk_alice", "task-big")
	p := c.get("/console/tasks/task-big")
	for _, want := range []string{`id="appeals"`, "buyer:b-4412 (buyer)", "I took this photo myself, here is another angle.",
		"The decision was appealed", `alt="Appeal photo 1"`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("appeal page lacks %q", want)
		}
	}
}
