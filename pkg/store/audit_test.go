package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/refundguard/refundguard/pkg/claim"
)

func appendEvents(t *testing.T, e *env, n int) []claim.AuditEvent {
	t.Helper()
	var out []claim.AuditEvent
	for i := range n {
		ev, err := e.AppendAudit(context.Background(), claim.AuditEvent{
			Actor: "buyer:b1", Action: "claim.filed", Entity: "claim", EntityID: fmt.Sprintf("clm_%d", i%3),
			After: json.RawMessage(fmt.Sprintf(`{"status":"analyzing","n":%d}`, i)),
		})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ev)
		e.clock.Advance(1500) // nanoseconds: times below a microsecond are dropped, consistently
	}
	return out
}

func TestAuditChainLinksEachEventToThePrevious(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		events := appendEvents(t, e, 5)
		for i, ev := range events {
			if ev.Seq != int64(i+1) || ev.Hash != ev.ComputeHash() {
				t.Fatalf("event %d: seq %d, hash ok %v", i, ev.Seq, ev.Hash == ev.ComputeHash())
			}
			if i > 0 && ev.PrevHash != events[i-1].Hash {
				t.Fatalf("event %d does not link to %d", i+1, i)
			}
		}
		check, err := e.VerifyAudit(context.Background())
		if err != nil || !check.OK() || check.Events != 5 || check.Head != events[4].Hash {
			t.Fatalf("verify: %+v %v", check, err)
		}
		timeline, err := e.AuditEvents(context.Background(), "claim", "clm_1")
		if err != nil || len(timeline) != 2 || timeline[0].Seq != 2 || timeline[1].Seq != 5 {
			t.Fatalf("timeline: %+v %v", timeline, err)
		}
		if !timeline[0].Time.Equal(events[1].Time) || string(timeline[0].After) != string(events[1].After) {
			t.Fatalf("read back %+v, appended %+v", timeline[0], events[1])
		}
	})
}

func TestVerifyAuditNamesTheFirstBrokenLink(t *testing.T) {
	for _, tc := range []struct {
		name    string
		tamper  string // SQL run behind the store's back
		broken  int64
		problem string
	}{
		{"an actor rewritten", "UPDATE audit_events SET actor = 'admin:mallory' WHERE seq = 3", 3, "do not match its hash"},
		{"a status rewritten", `UPDATE audit_events SET after = '{"status":"approved"}' WHERE seq = 2`, 2, "do not match its hash"},
		{"an event deleted", "DELETE FROM audit_events WHERE seq = 4", 5, "missing"},
		{"the first event deleted", "DELETE FROM audit_events WHERE seq = 1", 2, "missing"},
		{"an event rewritten and re-hashed", "UPDATE audit_events SET hash = 'f00d' WHERE seq = 2", 2, "do not match its hash"},
		{"a link redirected", "UPDATE audit_events SET prev_hash = 'f00d' WHERE seq = 4", 4, "previous-hash"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eachDialect(t, func(t *testing.T, e *env) {
				appendEvents(t, e, 6)
				if err := e.w.Exec(tc.tamper).Error; err != nil {
					t.Fatal(err)
				}
				check, err := e.VerifyAudit(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				if check.OK() || check.BrokenSeq != tc.broken || !strings.Contains(check.Problem, tc.problem) {
					t.Fatalf("verify: %+v, want broken at %d with %q", check, tc.broken, tc.problem)
				}
			})
		})
	}
}

func TestConcurrentAppendsNeverForkTheChain(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		const writers, each = 6, 10
		var wg sync.WaitGroup
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					err := e.InTx(ctx, func(ctx context.Context) error {
						_, err := e.AppendAudit(ctx, claim.AuditEvent{Actor: fmt.Sprintf("w:%d", w), Action: "tick",
							Entity: "test", EntityID: fmt.Sprint(i)})
						return err
					})
					if err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		check, err := e.VerifyAudit(ctx)
		if err != nil || !check.OK() || check.Events != writers*each {
			t.Fatalf("verify after concurrent appends: %+v %v", check, err)
		}
	})
}
