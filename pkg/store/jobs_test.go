package store

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/refundguard/refundguard/pkg/claim"
)

func TestEnqueueAnalysisKeepsOneJobPerClaim(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		f := seed(t, e.Store)
		first, err := e.EnqueueAnalysis(ctx, f.claim.ID)
		if err != nil {
			t.Fatal(err)
		}
		again, err := e.EnqueueAnalysis(ctx, f.claim.ID)
		if err != nil || again.ID != first.ID {
			t.Fatalf("second enqueue made %+v (%v), want the same job %s", again, err, first.ID)
		}
		job, ok, err := e.LeaseJob(ctx, "w1", e.clock.Now(), time.Minute)
		if err != nil || !ok {
			t.Fatalf("lease: %v %v", ok, err)
		}
		if err := e.FailJob(ctx, job, 5, "blob missing"); err != nil {
			t.Fatal(err)
		}
		if d, _ := e.QueueDepth(ctx); d != 0 {
			t.Fatalf("a failed job counts in the queue depth: %d", d)
		}
		revived, err := e.EnqueueAnalysis(ctx, f.claim.ID)
		if err != nil || revived.ID != first.ID || revived.Failed || revived.Attempts != 0 {
			t.Fatalf("enqueue after failure: %+v %v, want the job revived", revived, err)
		}
	})
}

func TestLeasing(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		f := seed(t, e.Store)
		if _, err := e.EnqueueAnalysis(ctx, f.claim.ID); err != nil {
			t.Fatal(err)
		}
		now := e.clock.Now()
		job, ok, err := e.LeaseJob(ctx, "w1", now, time.Minute)
		if err != nil || !ok || job.LeaseOwner != "w1" || job.LeaseToken == "" {
			t.Fatalf("lease: %+v %v %v", job, ok, err)
		}

		t.Run("a held lease is not handed out again", func(t *testing.T) {
			if _, ok, err := e.LeaseJob(ctx, "w2", now.Add(59*time.Second), time.Minute); ok || err != nil {
				t.Fatalf("second lease while held: ok=%v err=%v", ok, err)
			}
		})
		t.Run("an extended lease holds past its first expiry", func(t *testing.T) {
			if err := e.ExtendLease(ctx, job, now.Add(2*time.Minute)); err != nil {
				t.Fatal(err)
			}
			if _, ok, _ := e.LeaseJob(ctx, "w2", now.Add(90*time.Second), time.Minute); ok {
				t.Fatal("leased while the extended lease held")
			}
		})
		var stolen claim.AnalysisJob
		t.Run("an expired lease goes to another worker", func(t *testing.T) {
			// Half a microsecond past the expiry: SQLite compares the stored text form.
			j, ok, err := e.LeaseJob(ctx, "w2", now.Add(2*time.Minute+time.Microsecond), time.Minute)
			if err != nil || !ok || j.ID != job.ID || j.LeaseToken == job.LeaseToken {
				t.Fatalf("re-lease after expiry: %+v %v %v", j, ok, err)
			}
			stolen = j
		})
		t.Run("the first worker can no longer finish, extend or release it", func(t *testing.T) {
			for name, err := range map[string]error{
				"complete": e.CompleteJob(ctx, job),
				"extend":   e.ExtendLease(ctx, job, now.Add(time.Hour)),
				"release":  e.ReleaseJob(ctx, job, now, 0, ""),
				"fail":     e.FailJob(ctx, job, 9, "x"),
			} {
				if claim.ErrorCode(err) != claim.CodeConflict {
					t.Errorf("%s with a lost lease: %v, want conflict", name, err)
				}
			}
		})
		t.Run("a released job waits for its backoff", func(t *testing.T) {
			later := now.Add(10 * time.Minute)
			if err := e.ReleaseJob(ctx, stolen, later, 1, "transient"); err != nil {
				t.Fatal(err)
			}
			if _, ok, _ := e.LeaseJob(ctx, "w3", later.Add(-time.Second), time.Minute); ok {
				t.Fatal("leased before its backoff ended")
			}
			j, ok, err := e.LeaseJob(ctx, "w3", later, time.Minute)
			if err != nil || !ok || j.Attempts != 1 || j.LastError != "transient" {
				t.Fatalf("lease after backoff: %+v %v %v", j, ok, err)
			}
			if err := e.CompleteJob(ctx, j); err != nil {
				t.Fatal(err)
			}
			if d, _ := e.QueueDepth(ctx); d != 0 {
				t.Fatalf("queue depth after completion: %d", d)
			}
		})
	})
}

func TestConcurrentLeasesNeverShareAJob(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		o := seedOrder(t, ctx, e.Store, "m1", "b1", "X")
		const jobs = 12
		for range jobs {
			c := seedClaim(t, ctx, e.Store, o, "")
			if _, err := e.EnqueueAnalysis(ctx, c.ID); err != nil {
				t.Fatal(err)
			}
		}
		var mu sync.Mutex
		seen := map[string]string{}
		var wg sync.WaitGroup
		for w := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				owner := fmt.Sprintf("w%d", w)
				for {
					j, ok, err := e.LeaseJob(ctx, owner, e.clock.Now(), time.Minute)
					if err != nil {
						t.Error(err)
						return
					}
					if !ok {
						return
					}
					mu.Lock()
					if prev, dup := seen[j.ID]; dup {
						t.Errorf("job %s leased by %s and %s", j.ID, prev, owner)
					}
					seen[j.ID] = owner
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if len(seen) != jobs {
			t.Fatalf("%d of %d jobs leased", len(seen), jobs)
		}
	})
}
