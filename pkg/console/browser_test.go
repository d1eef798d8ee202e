package console

import (
	"context"
	"flag"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/refundguard/refundguard/forensics"
	"github.com/refundguard/refundguard/pkg/claim"
)

// The browser tests drive Debian's chromium headless through chromedp: what a reviewer
// does, checked where a reviewer looks. Run with -screenshots to refresh docs/*.png.
var writeScreenshots = flag.Bool("screenshots", false, "write the console screenshots into docs/")

func chromiumPath(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("browser tests skipped in -short mode")
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("chromium not installed (apt-get install chromium, or run .ci/setup): browser tests skipped")
	return ""
}

// newBrowser starts a headless Chromium with a fresh profile and a window of w×h CSS pixels.
func newBrowser(t *testing.T, w, h int) context.Context {
	t.Helper()
	path := chromiumPath(t)
	profile := t.TempDir()
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("lang", "en-US"),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(w, h),
	)
	ctx, cancelTab := chromedp.NewContext(alloc)
	ctx, cancelTimeout := context.WithTimeout(ctx, 4*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelTab(); cancelAlloc() })
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(int64(w), int64(h))); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

func do(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

func location(t *testing.T, ctx context.Context) string {
	t.Helper()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if !*writeScreenshots {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "..", "docs", name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", path)
}

func signInBrowser(t *testing.T, ctx context.Context, base, key string) {
	t.Helper()
	do(t, ctx,
		chromedp.Navigate(base+"/console/"),
		chromedp.WaitVisible(chromedp.ID("key")),
		chromedp.SendKeys(chromedp.ID("key"), key),
		chromedp.Click(chromedp.ID("signin-submit")),
		chromedp.WaitVisible(chromedp.ID("tasks")),
	)
}

// waitPhotos waits until every photo on the page has loaded.
func waitPhotos(t *testing.T, ctx context.Context) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](
		`[...document.querySelectorAll('img.photo')].every(i => i.complete && i.naturalWidth > 0)`,
		chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Fatalf("photos did not load: %v", err)
	}
}

type box struct {
	Left   float64 `json:"left"`
	Top    float64 `json:"top"`
	Width  float64 `json:"width"`
	Height float64 `json:"height"`
}

type overlayGeometry struct {
	Image box    `json:"image"`
	Rects []box  `json:"rects"`
	Src   string `json:"src"`
}

const readOverlay = `(() => {
  const b = e => { const r = e.getBoundingClientRect(); return {left: r.left, top: r.top, width: r.width, height: r.height}; };
  const img = document.querySelector('img.evidence-photo');
  return {image: b(img), src: img.getAttribute('src'),
          rects: [...document.querySelectorAll('svg.overlay rect.region')].map(b)};
})()`

// checkOutlines reads the outline rectangles back from the DOM and checks each against
// the finding's region scaled from image pixels to the displayed image.
func checkOutlines(t *testing.T, ctx context.Context, label string, regions []forensics.Region) float64 {
	t.Helper()
	g := eval[overlayGeometry](t, ctx, readOverlay)
	if len(g.Rects) != len(regions) {
		t.Fatalf("%s: %d outlines drawn, the findings have %d regions", label, len(g.Rects), len(regions))
	}
	scaleX := g.Image.Width / photoW
	scaleY := g.Image.Height / photoH
	for i, r := range regions {
		want := box{
			Left: g.Image.Left + float64(r.X)*scaleX, Top: g.Image.Top + float64(r.Y)*scaleY,
			Width: float64(r.W) * scaleX, Height: float64(r.H) * scaleY,
		}
		got := g.Rects[i]
		for _, d := range []struct {
			name      string
			got, want float64
		}{{"left", got.Left, want.Left}, {"top", got.Top, want.Top}, {"width", got.Width, want.Width}, {"height", got.Height, want.Height}} {
			if math.Abs(d.got-d.want) > 0.5 {
				t.Errorf("%s: region %d %s = %.2f px, want %.2f (region %+v at scale %.4f)", label, i, d.name, d.got, d.want, r, scaleX)
			}
		}
	}
	return scaleX
}

// TestBrowserReviewFlow is a reviewer's morning on the real review service, the real
// forensics engine and SQLite: a claim made with the merchant's own photo painted with
// cracks, a clean claim, two reviewers.
func TestBrowserReviewFlow(t *testing.T) {
	ctx := newBrowser(t, 1440, 1000)
	f := newRealFixture(t)
	base := f.srv.URL

	t.Run("sign in shows the queue with amounts as currency", func(t *testing.T) {
		signInBrowser(t, ctx, base, f.secrets["alice"])
		text := eval[string](t, ctx, `document.getElementById('tasks').innerText`)
		for _, want := range []string{"¥4,599.00", "¥1,299.00", "damaged"} {
			if !strings.Contains(text, want) {
				t.Errorf("queue does not show %q:\n%s", want, text)
			}
		}
		for _, code := range []string{"review_priority", "in_review", "second_review"} {
			if strings.Contains(text, code) {
				t.Errorf("queue shows the raw code %q", code)
			}
		}
		if !eval[bool](t, ctx, `getComputedStyle(document.getElementById('shortcut-hint')).display !== 'none'`) {
			t.Error("the shortcut hint is not visible")
		}
		screenshot(t, ctx, "console-queue.png")
	})

	t.Run("n leases the top task and opens it", func(t *testing.T) {
		do(t, ctx, chromedp.KeyEvent("n"), chromedp.WaitVisible(chromedp.ID("decision-form")))
		if loc := location(t, ctx); !strings.HasSuffix(loc, "/console/tasks/"+f.bigTask) {
			t.Fatalf("opened %s, want the painted photo's task %s", loc, f.bigTask)
		}
		task, err := f.real.GetTask(context.Background(), realStaff, f.bigTask)
		if err != nil || task.LeasedBy != "reviewer:alice" {
			t.Errorf("task leased by %q (%v)", task.LeasedBy, err)
		}
	})

	t.Run("outlines are drawn where the findings put them at every zoom", func(t *testing.T) {
		waitPhotos(t, ctx)
		fit := checkOutlines(t, ctx, "fit", f.regions)
		if fit > 0.9 {
			t.Errorf("fit scale %.3f: the test wants a scaled-down photo", fit)
		}
		zoomIn := chromedp.Click(chromedp.CSS(`article.evidence [data-zoom="in"]`))
		do(t, ctx, zoomIn, zoomIn)
		if s := checkOutlines(t, ctx, "zoom 200%", f.regions); math.Abs(s-2*fit) > 0.01 {
			t.Errorf("zoom scale %.3f, want twice the fit scale %.3f", s, fit)
		}
		heat := chromedp.Click(chromedp.CSS(`article.evidence .toggle-heatmap`))
		do(t, ctx, heat)
		waitPhotos(t, ctx)
		if g := eval[overlayGeometry](t, ctx, readOverlay); !strings.HasSuffix(g.Src, "/heatmap") {
			t.Errorf("heatmap toggle shows %s", g.Src)
		}
		checkOutlines(t, ctx, "heatmap at zoom 200%", f.regions)
		do(t, ctx, heat, chromedp.Click(chromedp.CSS(`article.evidence [data-zoom="fit"]`)))
		waitPhotos(t, ctx)
		checkOutlines(t, ctx, "back to fit", f.regions)
	})

	t.Run("the claim reads in plain words beside the merchant photo", func(t *testing.T) {
		text := eval[string](t, ctx, `document.body.innerText`)
		for _, want := range []string{
			"Damage painted on", "2 area(s) of the photo differ", "The merchant's own photo",
			"Merchant's photo it was made from", "reference-photo-reused", "Buyer's record", "This is our catalogue photo",
		} {
			if !strings.Contains(text, want) {
				t.Errorf("claim page does not say %q", want)
			}
		}
		if strings.Contains(text, `{"`) || strings.Contains(text, `"code"`) {
			t.Error("claim page shows raw JSON")
		}
		if src := eval[string](t, ctx, `document.querySelector('img.reference-photo').getAttribute('src')`); !strings.HasPrefix(src, "/console/references/") {
			t.Errorf("merchant photo from %s", src)
		}
		screenshot(t, ctx, "console-claim.png")
	})

	t.Run("shortcuts do not fire while typing", func(t *testing.T) {
		do(t, ctx, chromedp.Click(chromedp.ID("note")), chromedp.KeyEvent("nar"))
		if v := eval[string](t, ctx, `document.getElementById('note').value`); v != "nar" {
			t.Errorf("note = %q", v)
		}
		if eval[bool](t, ctx, `!!document.querySelector('input[name=outcome]:checked')`) {
			t.Error("typing a or r in the note chose an outcome")
		}
		if loc := location(t, ctx); !strings.HasSuffix(loc, "/console/tasks/"+f.bigTask) {
			t.Errorf("typing n in the note navigated to %s", loc)
		}
		do(t, ctx, chromedp.Evaluate[chromedp.Void](`document.getElementById('note').value = ''; document.activeElement.blur()`))
	})

	t.Run("r chooses reject; a large rejection goes to a second reviewer", func(t *testing.T) {
		do(t, ctx, chromedp.KeyEvent("r"))
		if id := eval[string](t, ctx, `document.activeElement.id`); id != "reason_code" {
			t.Errorf("after r the focus is on %q, want the reason", id)
		}
		do(t, ctx,
			chromedp.SetValue(chromedp.ID("reason_code"), "fabricated_evidence"),
			chromedp.SendKeys(chromedp.ID("note"), "catalogue photo with a painted crack"),
			chromedp.Click(chromedp.ID("decide-submit")),
			chromedp.WaitVisible(chromedp.ID("queue-decided")),
		)
		if got := f.status(t, f.big); got != claim.StatusInReview {
			t.Errorf("claim status %s: a rejection of ¥4,599 must wait for a second reviewer", got)
		}
		if second := f.tasksOfKind(t, claim.TaskSecondReview); len(second) != 1 || second[0].Task.ClaimID != f.big {
			t.Fatalf("second-review tasks %+v", second)
		}
	})

	t.Run("a approves with Enter, and the first reviewer never gets the second review", func(t *testing.T) {
		do(t, ctx, chromedp.KeyEvent("n"), chromedp.WaitVisible(chromedp.ID("decision-form")))
		if loc := location(t, ctx); !strings.HasSuffix(loc, "/console/tasks/"+f.smallTsk) {
			t.Fatalf("alice was given %s, want the clean claim's task", loc)
		}
		do(t, ctx, chromedp.KeyEvent("a"))
		if id := eval[string](t, ctx, `document.activeElement.id`); id != "decide-submit" {
			t.Errorf("after a the focus is on %q, want the confirm button", id)
		}
		if hint := eval[string](t, ctx, `document.getElementById('confirm-hint').innerText`); !strings.Contains(hint, "¥1,299.00") {
			t.Errorf("confirm hint %q", hint)
		}
		do(t, ctx, chromedp.KeyEvent("\r"), chromedp.WaitVisible(chromedp.ID("queue-decided")))
		if got := f.status(t, f.small); got != claim.StatusApproved {
			t.Errorf("claim status %s after approving", got)
		}
		do(t, ctx, chromedp.KeyEvent("n"), chromedp.WaitVisible(chromedp.ID("queue-empty")))
	})

	t.Run("sign out", func(t *testing.T) {
		do(t, ctx, chromedp.Click(chromedp.ID("signout")), chromedp.WaitVisible(chromedp.ID("key")))
	})

	t.Run("a second reviewer sees the first decision and confirms it", func(t *testing.T) {
		signInBrowser(t, ctx, base, f.secrets["bob"])
		do(t, ctx, chromedp.KeyEvent("n"), chromedp.WaitVisible(chromedp.ID("first-decision")))
		text := eval[string](t, ctx, `document.getElementById('first-decision').innerText + ' ' + document.getElementById('task-kind').innerText`)
		for _, want := range []string{"reviewer:alice", "Reject", "fabricated evidence", "catalogue photo with a painted crack", "Second review"} {
			if !strings.Contains(text, want) {
				t.Errorf("second review does not show %q:\n%s", want, text)
			}
		}
		do(t, ctx,
			chromedp.KeyEvent("r"),
			chromedp.SetValue(chromedp.ID("reason_code"), "fabricated_evidence"),
			chromedp.Click(chromedp.ID("decide-submit")),
			chromedp.WaitVisible(chromedp.ID("queue-decided")),
		)
		if got := f.status(t, f.big); got != claim.StatusRejected {
			t.Errorf("claim status %s after the second reviewer confirmed", got)
		}
	})

	t.Run("the language switch turns the console Chinese and back", func(t *testing.T) {
		do(t, ctx, chromedp.Click(chromedp.ID("lang-switch")), chromedp.WaitVisible(chromedp.ID("tasks")))
		if lang := eval[string](t, ctx, `document.documentElement.lang`); lang != "zh-CN" {
			t.Fatalf("lang = %s", lang)
		}
		if text := eval[string](t, ctx, `document.body.innerText`); !strings.Contains(text, "审核队列") || !strings.Contains(text, "下一个任务") {
			t.Errorf("queue is not in Chinese:\n%s", text)
		}
		do(t, ctx, chromedp.Navigate(base+"/console/tasks/"+f.bigTask), chromedp.WaitVisible(chromedp.ID("claim-head")))
		text := eval[string](t, ctx, `document.body.innerText`)
		for _, want := range []string{"损坏是画上去的", "商家自己的照片", "¥4,599.00", "买家记录", "已驳回"} {
			if !strings.Contains(text, want) {
				t.Errorf("Chinese claim page does not say %q", want)
			}
		}
		waitPhotos(t, ctx)
		screenshot(t, ctx, "console-claim-zh.png")
		do(t, ctx, chromedp.Click(chromedp.ID("lang-switch")), chromedp.WaitVisible(chromedp.ID("claim-head")))
		if lang := eval[string](t, ctx, `document.documentElement.lang`); lang != "en" {
			t.Errorf("switching back left lang = %s", lang)
		}
		if loc := location(t, ctx); !strings.HasSuffix(loc, "/console/tasks/"+f.bigTask) {
			t.Errorf("the switch returned to %s, not the claim", loc)
		}
	})
}

// TestBrowserTablet checks the claim page at a portrait tablet's width, and the warning
// shown when the lease is lost, on the in-memory service (which can take a lease away).
func TestBrowserTablet(t *testing.T) {
	ctx := newBrowser(t, 820, 1180)
	f := newFixture(t, false)
	signInBrowser(t, ctx, f.srv.URL, "rk_alice")
	do(t, ctx, chromedp.Click(chromedp.ID("next-task")), chromedp.WaitVisible(chromedp.ID("decision-form")))
	waitPhotos(t, ctx)
	if overflow := eval[bool](t, ctx, `document.documentElement.scrollWidth > window.innerWidth + 1`); overflow {
		t.Error("the claim page scrolls sideways on a tablet")
	}
	checkOutlines(t, ctx, "tablet", editRegions)
	if single := eval[bool](t, ctx, `getComputedStyle(document.querySelector('.claim-grid')).gridTemplateColumns.split(' ').length === 1`); !single {
		t.Error("the claim page keeps two columns on a tablet")
	}
	screenshot(t, ctx, "console-tablet.png")

	f.svc.setLeasedBy("task-big", "reviewer:mallory")
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`!document.getElementById('lease-lost').hidden`, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Errorf("no warning when the lease is lost: %v", err)
	}
}
