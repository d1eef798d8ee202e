package store

import (
	"context"
	"encoding/json"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/refundguard/refundguard/pkg/claim"
)

func TestDecisionsRoundTrip(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		f := seed(t, e.Store)
		in := []claim.Decision{
			{ClaimID: f.claim.ID, Route: claim.RouteReview, RuleSetVersion: "sha256:ab", DecidedBy: claim.DecidedByRules, Score: 40,
				Facts: json.RawMessage(`{"claim":{"amount":5000}}`), Note: "why",
				Rules: []claim.RuleHit{{ID: "r1", Matched: true, Route: claim.RouteReview, Score: 40, Inputs: map[string]any{"claim.amount": 5000.0}}}},
			{ClaimID: f.claim.ID, Outcome: claim.OutcomeReject, ReasonCode: claim.ReasonFabricatedEvidence, DecidedBy: "reviewer:alice",
				TaskID: "tsk_1", Pending: true},
			{ClaimID: f.claim.ID, Outcome: claim.OutcomePartial, Amount: &claim.Money{Value: 1200, Currency: "CNY"}, DecidedBy: "reviewer:bob"},
		}
		for _, d := range in {
			if _, err := e.CreateDecision(ctx, d); err != nil {
				t.Fatal(err)
			}
		}
		got, err := e.ListDecisions(ctx, f.claim.ID)
		if err != nil || len(got) != 3 {
			t.Fatalf("%d decisions, %v", len(got), err)
		}
		for i := range in {
			in[i].ID, in[i].CreatedAt = got[i].ID, got[i].CreatedAt
			if in[i].Rules == nil {
				in[i].Rules = []claim.RuleHit{}
			}
			if !reflect.DeepEqual(got[i], in[i]) {
				t.Errorf("decision %d:\n got %+v\nwant %+v", i, got[i], in[i])
			}
		}
		if _, err := e.GetDecision(ctx, "dec_nope"); !claim.IsNotFound(err) {
			t.Fatalf("missing decision: %v", err)
		}
	})
}

func TestReviewTaskQueue(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		f := seed(t, e.Store)
		now := e.clock.Now()
		soon, later := now.Add(time.Hour), now.Add(2*time.Hour)
		low, _ := e.CreateTask(ctx, claim.ReviewTask{ClaimID: f.claim.ID, Kind: claim.TaskReview, Route: claim.RouteReview, Priority: 10, Deadline: &soon})
		mine, _ := e.CreateTask(ctx, claim.ReviewTask{ClaimID: f.claim.ID, Kind: claim.TaskSecondReview, Route: claim.RouteReview, Priority: 12,
			Deadline: &later, ExcludeReviewers: []string{"reviewer:alice"}, DecisionID: "dec_1"})
		if mine.State != claim.TaskOpen {
			t.Fatalf("new task %+v", mine)
		}
		// alice may not take her own second review: she gets the lower-priority task.
		got, ok, err := e.LeaseTask(ctx, "reviewer:alice", now, 15*time.Minute)
		if err != nil || !ok || got.ID != low.ID || got.LeasedBy != "reviewer:alice" || !got.LeaseExpiresAt.Equal(now.Add(15*time.Minute)) {
			t.Fatalf("alice leased %+v %v %v", got, ok, err)
		}
		if again, _, _ := e.LeaseTask(ctx, "reviewer:alice", now, 15*time.Minute); again.ID != low.ID {
			t.Fatalf("leasing again gave %s, want the task held", again.ID)
		}
		if got, _, _ := e.LeaseTask(ctx, "reviewer:bob", now, 15*time.Minute); got.ID != mine.ID {
			t.Fatalf("bob leased %s", got.ID)
		}
		if _, ok, _ := e.LeaseTask(ctx, "reviewer:carol", now, 15*time.Minute); ok {
			t.Fatal("carol got a held task")
		}
		if _, err := e.ExtendTaskLease(ctx, low.ID, "reviewer:bob", later); claim.ErrorCode(err) != claim.CodeConflict {
			t.Fatalf("bob extends alice's lease: %v", err)
		}
		if err := e.CompleteTask(ctx, low.ID, "reviewer:bob", now); claim.ErrorCode(err) != claim.CodeConflict {
			t.Fatalf("bob completes alice's task: %v", err)
		}
		if err := e.CompleteTask(ctx, low.ID, "reviewer:alice", now); err != nil {
			t.Fatal(err)
		}
		// bob's lease expires: the sweep reopens it and carol takes it.
		n, err := e.ReleaseExpiredLeases(ctx, now.Add(16*time.Minute))
		if err != nil || n != 1 {
			t.Fatalf("released %d, %v", n, err)
		}
		if got, ok, _ := e.LeaseTask(ctx, "reviewer:carol", now.Add(16*time.Minute), 15*time.Minute); !ok || got.ID != mine.ID {
			t.Fatalf("carol leased %+v", got)
		}
		open, _ := e.ListTasks(ctx, claim.TaskQuery{})
		done, _ := e.ListTasks(ctx, claim.TaskQuery{States: []claim.TaskState{claim.TaskDone}})
		if len(open) != 1 || len(done) != 1 || done[0].CompletedAt == nil {
			t.Fatalf("open %+v done %+v", open, done)
		}
		if n, _ := e.CloseClaimTasks(ctx, f.claim.ID, now); n != 1 {
			t.Fatalf("closed %d", n)
		}
		all, _ := e.ClaimTasks(ctx, f.claim.ID)
		if len(all) != 2 || all[0].State != claim.TaskDone || all[1].State != claim.TaskDone {
			t.Fatalf("after closing %+v", all)
		}
	})
}

// TestLeaseSkipsEveryBarredReviewer: a task may bar several reviewers (an appeal bars the
// proposer and the confirmer of the rejection under appeal); none of them can lease it,
// even once another reviewer's lease on it has expired, and a task that bars everyone who
// asks waits in the queue.
func TestLeaseSkipsEveryBarredReviewer(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		f := seed(t, e.Store)
		now := e.clock.Now()
		for _, tc := range []struct {
			name  string
			bars  []string
			want  []string // the task's ExcludeReviewers as stored
			asks  []string // reviewers asking for work, in turn
			taker string   // who gets the task; "" when it waits
		}{
			{"no bars: the first to ask", nil, nil, []string{"alice"}, "alice"},
			{"one bar: the author of a rejection under second review", []string{"alice"}, []string{"alice"}, []string{"alice", "bob"}, "bob"},
			{"the proposer and the confirmer of an appealed rejection", []string{"alice", "bob"}, []string{"alice", "bob"}, []string{"alice", "bob", "carol"}, "carol"},
			{"every reviewer asking is barred: the task waits", []string{"alice", "bob"}, []string{"alice", "bob"}, []string{"bob", "alice"}, ""},
			{"a reviewer named twice is one bar", []string{"alice", "bob", "alice", ""}, []string{"alice", "bob"}, []string{"bob", "alice", "dave"}, "dave"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if _, err := e.CloseClaimTasks(ctx, f.claim.ID, now); err != nil { // the previous case's task
					t.Fatal(err)
				}
				var bars []string
				for _, b := range tc.bars {
					if b != "" {
						b = "reviewer:" + b
					}
					bars = append(bars, b)
				}
				var want []string
				for _, w := range tc.want {
					want = append(want, "reviewer:"+w)
				}
				task, err := e.CreateTask(ctx, claim.ReviewTask{ClaimID: f.claim.ID, Kind: claim.TaskAppeal, Route: claim.RouteReview,
					Priority: 11, Deadline: &now, ExcludeReviewers: bars})
				if err != nil || !reflect.DeepEqual(task.ExcludeReviewers, want) {
					t.Fatalf("created %+v %v, want bars %v", task, err, want)
				}
				taker := ""
				for _, who := range tc.asks {
					got, ok, err := e.LeaseTask(ctx, "reviewer:"+who, now, 15*time.Minute)
					if err != nil {
						t.Fatal(err)
					}
					if ok {
						if got.ID != task.ID || taker != "" {
							t.Fatalf("%s leased %+v (taker so far %q)", who, got, taker)
						}
						taker = who
						if !reflect.DeepEqual(got.ExcludeReviewers, want) {
							t.Fatalf("leased task bars %v, want %v", got.ExcludeReviewers, want)
						}
					}
				}
				if taker != tc.taker {
					t.Fatalf("taken by %q, want %q", taker, tc.taker)
				}
				stored, err := e.GetTask(ctx, task.ID)
				if err != nil || !reflect.DeepEqual(stored.ExcludeReviewers, want) {
					t.Fatalf("stored %+v %v", stored, err)
				}
				if taker == "" {
					if stored.State != claim.TaskOpen || stored.LeasedBy != "" {
						t.Fatalf("a task every asker is barred from must wait open: %+v", stored)
					}
					return
				}
				// The taker's lease expires: the task is leasable again, but still not by a
				// barred reviewer.
				later := now.Add(16 * time.Minute)
				for _, b := range want {
					if got, ok, err := e.LeaseTask(ctx, b, later, 15*time.Minute); err != nil || ok {
						t.Fatalf("%s leased %+v after the lease expired (%v)", b, got, err)
					}
				}
				listed, err := e.ListTasks(ctx, claim.TaskQuery{ClaimID: f.claim.ID})
				if err != nil || len(listed) != 1 || !reflect.DeepEqual(listed[0].ExcludeReviewers, want) {
					t.Fatalf("listed %+v %v", listed, err)
				}
			})
		}
	})
}

// TestMigrationMovesTaskBars opens a database as schema version 2 left it (one barred
// reviewer per task, in review_tasks.exclude_reviewer; an appeal barred only the confirmer
// of the rejection under appeal) and checks migration 3: the bars move to
// review_task_exclusions, an appeal bars everyone who ruled on the claim before it, a later
// unfinished task of an appealed claim bars them too, and a barred reviewer's lease on an
// appeal is released.
func TestMigrationMovesTaskBars(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		f := seed(t, e.Store)
		other := seedClaim(t, ctx, e.Store, f.order, "")
		now := e.clock.Now()
		for _, stmt := range []string{"DROP TABLE review_task_exclusions", "DELETE FROM schema_migrations WHERE version = 3"} {
			if err := e.w.Exec(stmt).Error; err != nil {
				t.Fatal(err)
			}
		}
		expires := stamp(now.Add(10 * time.Minute))
		task := func(id, claimID string, kind claim.TaskKind, state claim.TaskState, legacy string) taskRow {
			return taskRow{ID: id, ClaimID: claimID, Kind: string(kind), State: string(state), Route: string(claim.RouteReview),
				ExcludeReviewer: legacy, CreatedAt: stamp(now)}
		}
		// f.claim: erin asked for evidence, alice proposed a rejection, bob confirmed it; the
		// buyer appealed and alice holds the appeal. other: alice proposed, bob confirmed, the
		// appeal's reviewer carol proposed a rejection and its second review is open.
		v2 := []taskRow{
			task("tsk_a1", f.claim.ID, claim.TaskReview, claim.TaskDone, ""),
			task("tsk_a2", f.claim.ID, claim.TaskReview, claim.TaskDone, ""),
			task("tsk_a3", f.claim.ID, claim.TaskSecondReview, claim.TaskDone, "reviewer:alice"),
			task("tsk_a4", f.claim.ID, claim.TaskAppeal, claim.TaskLeased, "reviewer:bob"),
			task("tsk_b1", other.ID, claim.TaskReview, claim.TaskDone, ""),
			task("tsk_b2", other.ID, claim.TaskSecondReview, claim.TaskDone, "reviewer:alice"),
			task("tsk_b3", other.ID, claim.TaskAppeal, claim.TaskDone, "reviewer:bob"),
			task("tsk_b4", other.ID, claim.TaskSecondReview, claim.TaskOpen, "reviewer:carol"),
		}
		v2[3].LeasedBy, v2[3].LeaseExpiresAt = "reviewer:alice", &expires
		for _, row := range v2 { // one by one: seq follows creation
			if err := e.w.Create(&row).Error; err != nil {
				t.Fatal(err)
			}
		}
		for _, d := range []claim.Decision{
			{ClaimID: f.claim.ID, Route: claim.RouteReview, DecidedBy: claim.DecidedByRules},
			{ClaimID: f.claim.ID, Outcome: claim.OutcomeRequestEvidence, Note: "label", DecidedBy: "reviewer:erin", TaskID: "tsk_a1"},
			{ClaimID: f.claim.ID, Outcome: claim.OutcomeReject, ReasonCode: claim.ReasonOther, DecidedBy: "reviewer:alice", TaskID: "tsk_a2", Pending: true},
			{ClaimID: f.claim.ID, Outcome: claim.OutcomeReject, ReasonCode: claim.ReasonOther, DecidedBy: "reviewer:bob", TaskID: "tsk_a3"},
			{ClaimID: other.ID, Outcome: claim.OutcomeReject, ReasonCode: claim.ReasonOther, DecidedBy: "reviewer:alice", TaskID: "tsk_b1", Pending: true},
			{ClaimID: other.ID, Outcome: claim.OutcomeReject, ReasonCode: claim.ReasonOther, DecidedBy: "reviewer:bob", TaskID: "tsk_b2"},
			{ClaimID: other.ID, Outcome: claim.OutcomeReject, ReasonCode: claim.ReasonOther, DecidedBy: "reviewer:carol", TaskID: "tsk_b3", Pending: true},
		} {
			if _, err := e.CreateDecision(ctx, d); err != nil {
				t.Fatal(err)
			}
		}

		s := e.reopen(t)
		for _, tc := range []struct {
			task string
			want []string
		}{
			{"tsk_a1", nil},
			{"tsk_a3", []string{"reviewer:alice"}},
			{"tsk_a4", []string{"reviewer:erin", "reviewer:alice", "reviewer:bob"}},
			{"tsk_b2", []string{"reviewer:alice"}},
			{"tsk_b3", []string{"reviewer:alice", "reviewer:bob"}},
			{"tsk_b4", []string{"reviewer:alice", "reviewer:bob", "reviewer:carol"}},
		} {
			got, err := s.GetTask(ctx, tc.task)
			if err != nil || !reflect.DeepEqual(got.ExcludeReviewers, tc.want) {
				t.Fatalf("%s after the migration: %+v %v, want bars %v", tc.task, got, err, tc.want)
			}
		}
		if got, _ := s.GetTask(ctx, "tsk_a4"); got.State != claim.TaskOpen || got.LeasedBy != "" {
			t.Fatalf("the proposer still holds the appeal: %+v", got)
		}
		for _, tc := range []struct{ who, gets string }{
			{"reviewer:alice", ""}, {"reviewer:bob", ""}, // barred from both open tasks
			{"reviewer:carol", "tsk_a4"}, // barred from tsk_b4 only
			{"reviewer:erin", "tsk_b4"},  // barred from tsk_a4 only
		} {
			got, ok, err := s.LeaseTask(ctx, tc.who, now, 15*time.Minute)
			if err != nil || ok != (tc.gets != "") || got.ID != tc.gets {
				t.Fatalf("%s leased %+v %v (%v), want %q", tc.who, got, ok, err, tc.gets)
			}
		}
	})
}

func TestRuleSetVersions(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		a, err := e.CreateRuleSet(ctx, claim.RuleSetVersion{Version: "sha256:a", Name: "a", YAML: []byte("name: a"), CreatedBy: "admin:x"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.CreateRuleSet(ctx, claim.RuleSetVersion{Version: "sha256:a", Name: "again"}); claim.ErrorCode(err) != claim.CodeConflict {
			t.Fatalf("a stored version again: %v", err)
		}
		b, _ := e.CreateRuleSet(ctx, claim.RuleSetVersion{Version: "sha256:b", Name: "b", YAML: []byte("name: b")})
		if _, err := e.ActiveRuleSet(ctx); !claim.IsNotFound(err) {
			t.Fatalf("no active set yet: %v", err)
		}
		for _, id := range []string{a.ID, b.ID, a.ID} {
			if _, err := e.ActivateRuleSet(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
		active, err := e.ActiveRuleSet(ctx)
		if err != nil || active.ID != a.ID || string(active.YAML) != "name: a" {
			t.Fatalf("active %+v %v", active, err)
		}
		sets, _ := e.ListRuleSets(ctx)
		if len(sets) != 2 || sets[0].Active == sets[1].Active {
			t.Fatalf("sets %+v", sets)
		}
		if byVersion, err := e.RuleSetByVersion(ctx, "sha256:b"); err != nil || byVersion.ID != b.ID {
			t.Fatalf("by version %+v %v", byVersion, err)
		}
		if _, err := e.ActivateRuleSet(ctx, "rs_nope"); !claim.IsNotFound(err) {
			t.Fatalf("unknown set: %v", err)
		}
	})
}

func TestBuyersAppealsDeadlinesAndHashes(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		f := seed(t, e.Store)
		now := e.clock.Now()
		if known, _ := e.BuyerKnown(ctx, "b1"); !known {
			t.Fatal("b1 is named by an order")
		}
		if known, _ := e.BuyerKnown(ctx, "nobody"); known {
			t.Fatal("nobody is known")
		}
		if _, err := e.CreateBuyerFlag(ctx, claim.BuyerFlag{BuyerID: "b1", Reason: "painted", By: "reviewer:alice"}); err != nil {
			t.Fatal(err)
		}
		flags, _ := e.BuyerFlags(ctx, "b1")
		if len(flags) != 1 || flags[0].Reason != "painted" || flags[0].By != "reviewer:alice" {
			t.Fatalf("flags %+v", flags)
		}

		// The ruling columns of claims.
		c := f.claim
		decided := now.Add(-time.Hour)
		deadline := now.Add(-time.Minute)
		c.Status, c.Outcome, c.ReasonCode, c.DecidedAt, c.AppealDeadline = claim.StatusRejected, claim.OutcomeReject, claim.ReasonAIGenerated, &decided, &deadline
		if _, err := e.UpdateClaim(ctx, c, claim.StatusAnalyzing); err != nil {
			t.Fatal(err)
		}
		claims, _ := e.BuyerClaims(ctx, "b1", time.Time{})
		if len(claims) != 1 || claims[0].Outcome != claim.OutcomeReject || claims[0].ReasonCode != claim.ReasonAIGenerated || !claims[0].DecidedAt.Equal(decided) {
			t.Fatalf("buyer claims %+v", claims)
		}
		due, err := e.ClaimsPastDeadline(ctx, claim.StatusRejected, "appeal", now, 10)
		if err != nil || len(due) != 1 {
			t.Fatalf("past the appeal deadline: %+v %v", due, err)
		}
		if due, _ := e.ClaimsPastDeadline(ctx, claim.StatusRejected, "appeal", now.Add(-2*time.Minute), 10); len(due) != 0 {
			t.Fatalf("before the deadline: %+v", due)
		}
		orders, claimed, err := e.MerchantClaimRate(ctx, "m1", now.Add(-90*24*time.Hour))
		if err != nil || orders != 1 || claimed != 1 {
			t.Fatalf("claim rate %d/%d %v", claimed, orders, err)
		}

		a, err := e.CreateAppeal(ctx, claim.Appeal{ClaimID: c.ID, By: "buyer:b1", Role: claim.RoleBuyer, Statement: "real", EvidenceIDs: []string{"evd_1"}})
		if err != nil {
			t.Fatal(err)
		}
		appeals, _ := e.ListAppeals(ctx, c.ID)
		if len(appeals) != 1 || appeals[0].ID != a.ID || appeals[0].EvidenceIDs[0] != "evd_1" || appeals[0].Role != claim.RoleBuyer {
			t.Fatalf("appeals %+v", appeals)
		}

		ev, err := e.CreateEvidence(ctx, claim.Evidence{ClaimID: c.ID, Source: claim.SourceBuyer, SHA256: "s", Format: "jpeg",
			Hashes: claim.Hashes{PDQ: "ab", PDQQuality: 77, PHash: "cd", DHash: "ef"}})
		if err != nil {
			t.Fatal(err)
		}
		var seen []claim.Evidence
		var seqs []int64
		walk := func(from, to int64) {
			t.Helper()
			seen, seqs = nil, nil
			if err := e.EvidenceHashesBetween(ctx, from, to, func(seq int64, x claim.Evidence) error {
				seqs, seen = append(seqs, seq), append(seen, x)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		walk(math.MinInt64, math.MaxInt64)
		want := claim.Evidence{ID: ev.ID, ClaimID: c.ID, Source: claim.SourceBuyer, Hashes: ev.Hashes, CreatedAt: ev.CreatedAt}
		if len(seen) != 1 || !reflect.DeepEqual(seen[0], want) {
			t.Fatalf("hashes %+v, want %+v", seen, want)
		}
		first := seqs[0]
		walk(first+1, math.MaxInt64)
		if len(seen) != 0 {
			t.Fatalf("after seq %d: %+v", first, seen)
		}
		ev2, err := e.CreateEvidence(ctx, claim.Evidence{ClaimID: c.ID, Source: claim.SourceBuyer, SHA256: "t", Format: "jpeg"})
		if err != nil {
			t.Fatal(err)
		}
		walk(first+1, math.MaxInt64)
		if len(seen) != 1 || seen[0].ID != ev2.ID || seqs[0] <= first {
			t.Fatalf("after seq %d: %v %+v", first, seqs, seen)
		}
		walk(first, first)
		if len(seen) != 1 || seen[0].ID != ev.ID {
			t.Fatalf("seq %d alone: %+v", first, seen)
		}
	})
}
