package forensics

import (
	"context"
	"flag"
	"fmt"
	"hash/fnv"
	"image"
	"math/rand/v2"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/refundguard/refundguard/forensics/internal/synth"
)

// -long (or REFUNDGUARD_LONG_SWEEP=1) runs the detection-rate sweep over three seeds of
// every scene × recipe × {clean, painted} instead of one seed of half of them.
var longSweep = flag.Bool("long", false, "run the full detection-rate sweep")

// Detection goals (issue 2): derived photos matched, close-ups matched, different photos
// wrongly matched, painted regions located, clean derivations reported as edited.
const (
	goalDerivedMatched = 0.98
	goalCloseupMatched = 0.80
	goalFalseMatch     = 0.01
	goalLocated        = 0.85
	goalCleanEdited    = 0.05
	// A located mask has at least this share of its pixels inside reported regions.
	locatedCover = 0.5
	// A match counts as right only with the right transform and a crop overlapping the
	// true one by this intersection over union.
	matchIoU = 0.8
	// Floors for the reference shown inside a larger picture (insetKinds), not goals of
	// the issue: what the sweep measured, less a margin.
	floorInsetMatched = 0.95
	floorInsetLocated = 0.85
)

// sameShot lists scene pairs that are one capture processed twice (the iPhone saves its
// HDR merge next to the normal exposure it was made from), so matching them is right.
var sameShot = map[[2]string]bool{{"hdr-iphone-no", "hdr-iphone-yes"}: true, {"hdr-iphone-yes", "hdr-iphone-no"}: true}

type rateCounter struct{ hit, n int }

func (r *rateCounter) add(ok bool) {
	r.n++
	if ok {
		r.hit++
	}
}

func (r rateCounter) rate() float64 {
	if r.n == 0 {
		return 0
	}
	return float64(r.hit) / float64(r.n)
}

func (r rateCounter) String() string { return fmt.Sprintf("%d/%d = %.1f%%", r.hit, r.n, 100*r.rate()) }

// counterFor returns m's counter for k, adding it when missing.
func counterFor[K comparable](m map[K]*rateCounter, k K) *rateCounter {
	if m[k] == nil {
		m[k] = &rateCounter{}
	}
	return m[k]
}

// caseSeed derives a case's seed from its identity, so any subset of the sweep generates
// exactly the same cases as the full one.
func caseSeed(parts ...string) uint64 {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return h.Sum64()
}

// maskCovered is the share of the damage's pixels inside the regions (w: image width).
func maskCovered(d synth.Damage, w int, regions []Region) float64 {
	if d.Pixels == 0 {
		return 1
	}
	in := 0
	for i, on := range d.Mask {
		if !on {
			continue
		}
		x, y := i%w, i/w
		for _, r := range regions {
			if x >= r.X && x < r.X+r.W && y >= r.Y && y < r.Y+r.H {
				in++
				break
			}
		}
	}
	return float64(in) / float64(d.Pixels)
}

// TestDetectionRates measures, on evidence generated from the scenes with known answers,
// the rates the issue sets goals for, prints them, and fails when one misses its goal.
func TestDetectionRates(t *testing.T) {
	if testing.Short() {
		t.Skip("detection sweep skipped in -short mode")
	}
	long := *longSweep || os.Getenv("REFUNDGUARD_LONG_SWEEP") == "1"
	seeds := []string{"a"}
	if long {
		seeds = []string{"a", "b", "c"}
	}
	ctx := context.Background()
	scenes := positiveScenes(t)
	all := loadScenes(t)
	var derived, closeup, falseMatch, located, cleanEdited, regionPrecision rateCounter
	var insetMatched, insetFalse, insetLocated, insetClean, insetOutside rateCounter
	perKind := map[string]*rateCounter{}
	perDamage := map[synth.Kind]*rateCounter{}
	var failures []string
	// scoreEdits counts a right match's local edits: clean evidence reported edited, or
	// each painted mask located, and whether each region lies on paint.
	scoreEdits := func(name string, ev synth.Evidence, painted bool, le LocalEditResult, clean, loc *rateCounter) {
		if !painted {
			clean.add(le.Edited())
			if le.Edited() {
				failures = append(failures, fmt.Sprintf("clean reported edited: %s %v", name, le.Regions))
			}
			return
		}
		w := ev.Image.Bounds().Dx()
		for _, d := range ev.Damage {
			if d.Pixels == 0 {
				continue
			}
			hit := maskCovered(d, w, le.Regions) >= locatedCover
			loc.add(hit)
			counterFor(perDamage, d.Kind).add(hit)
			if !hit {
				failures = append(failures, fmt.Sprintf("not located: %s %s at %v", name, d.Kind, d.Bounds))
			}
		}
		for _, r := range le.Regions {
			hit := false
			for _, d := range ev.Damage {
				b := d.Bounds
				hit = hit || (d.Pixels > 0 && r.X < b.Max.X && b.Min.X < r.X+r.W && r.Y < b.Max.Y && b.Min.Y < r.Y+r.H)
			}
			regionPrecision.add(hit)
		}
	}
	for si, s := range scenes {
		for ki, k := range recipeKinds {
			for _, seed := range seeds {
				for _, painted := range []bool{false, true} {
					// The default run takes every other (scene, recipe) combination, alternating
					// clean and painted, so both sides keep every scene and recipe.
					if !long && (si+ki)%2 != map[bool]int{false: 0, true: 1}[painted] {
						continue
					}
					name := fmt.Sprintf("%s/%s/%s/painted=%v", s.name, k.name, seed, painted)
					rng := rand.New(rand.NewPCG(caseSeed(name), 1))
					rec := k.make(rng)
					ev, er, want := makeCase(t, s, rec, painted, rng)
					m, ok := MatchReference(ctx, er, s.raster)
					right := ok && m.Transform == want &&
						rectIoU(m.CropX, m.CropY, m.CropW, m.CropH, float64(ev.Crop.Min.X), float64(ev.Crop.Min.Y), float64(ev.Crop.Dx()), float64(ev.Crop.Dy())) >= matchIoU
					if k.closeup {
						closeup.add(right)
					} else {
						derived.add(right)
					}
					counterFor(perKind, k.name).add(right)
					if !right {
						failures = append(failures, fmt.Sprintf("not matched: %s (ok=%v %v corr=%.2f)", name, ok, m.Transform, m.Correlation))
					}
					// The same evidence against another scene must not match.
					other := all[int(caseSeed(name, "other")%uint64(len(all)))]
					if other.name == s.name {
						other = all[(int(caseSeed(name, "other")%uint64(len(all)))+1)%len(all)]
					}
					om, ook := MatchReference(ctx, er, other.raster)
					falseMatch.add(ook)
					if ook {
						failures = append(failures, fmt.Sprintf("false match: %s against %s (corr=%.2f)", name, other.name, om.Correlation))
					}
					if !right {
						continue
					}
					scoreEdits(name, ev, painted, LocalEdits(ctx, er, s.raster, m), &cleanEdited, &located)
				}
			}
		}
	}
	// The reference inside a larger picture: a border, an app screenshot, a collage with
	// other scenes (Match.Inset). Same halving as above, continuing the recipe count.
	for si, s := range scenes {
		for ki, k := range insetKinds {
			for _, seed := range seeds {
				for _, painted := range []bool{false, true} {
					if !long && (si+len(recipeKinds)+ki)%2 != map[bool]int{false: 0, true: 1}[painted] {
						continue
					}
					name := fmt.Sprintf("%s/%s/%s/painted=%v", s.name, k.name, seed, painted)
					// Three other scenes for collages, none of them the reference.
					orng := rand.New(rand.NewPCG(caseSeed(name, "collage"), 2))
					var others []*image.RGBA
					members := map[string]bool{s.name: true}
					for len(others) < 3 {
						o := all[orng.IntN(len(all))]
						if !members[o.name] {
							members[o.name] = true
							others = append(others, o.img)
						}
					}
					rng := rand.New(rand.NewPCG(caseSeed(name), 1))
					rec := k.make(rng, others)
					ev, er, want := makeCase(t, s, rec, painted, rng)
					m, ok := MatchReference(ctx, er, s.raster)
					in := ev.Inset
					right := ok && m.Inset && m.Transform == want &&
						rectIoU(m.InsetX, m.InsetY, m.InsetW, m.InsetH, float64(in.Min.X), float64(in.Min.Y), float64(in.Dx()), float64(in.Dy())) >= matchIoU
					insetMatched.add(right)
					counterFor(perKind, k.name).add(right)
					if !right {
						failures = append(failures, fmt.Sprintf("inset not matched: %s (ok=%v inset=%v %v corr=%.2f)", name, ok, m.Inset, m.Transform, m.Correlation))
					}
					// Against a scene it does not show (neither the reference nor a collage
					// neighbour), it must not match.
					var other scene
					for j := int(caseSeed(name, "other") % uint64(len(all))); ; j = (j + 1) % len(all) {
						if o := all[j]; !members[o.name] || (k.name != "collage-2x1" && k.name != "collage-2x2" && o.name != s.name) {
							other = o
							break
						}
					}
					om, ook := MatchReference(ctx, er, other.raster)
					falseMatch.add(ook)
					insetFalse.add(ook)
					if ook {
						failures = append(failures, fmt.Sprintf("false match: %s against %s (corr=%.2f %s)", name, other.name, om.Correlation, om.Description()))
					}
					if !right {
						continue
					}
					le := LocalEdits(ctx, er, s.raster, m)
					// Nothing outside the reference's place is compared: every region lies
					// within the inset (a few pixels of slack for the estimate).
					slack := in.Inset(-max(2, in.Dx()/100))
					for _, r := range le.Regions {
						outside := !image.Rect(r.X, r.Y, r.X+r.W, r.Y+r.H).In(slack)
						insetOutside.add(outside)
						if outside {
							failures = append(failures, fmt.Sprintf("region outside the inset: %s %v not in %v", name, r, in))
						}
					}
					scoreEdits(name, ev, painted, le, &insetClean, &insetLocated)
				}
			}
		}
	}
	// Every scene against every other, in both roles.
	for _, a := range all {
		for _, b := range all {
			if a.name == b.name || sameShot[[2]string{a.name, b.name}] {
				continue
			}
			m, ok := MatchReference(ctx, a.raster, b.raster)
			falseMatch.add(ok)
			if ok {
				failures = append(failures, fmt.Sprintf("false match: %s against %s (corr=%.2f)", a.name, b.name, m.Correlation))
			}
		}
	}

	t.Logf("derived photos matched:   %v (goal ≥ %.0f%%)", derived, 100*goalDerivedMatched)
	t.Logf("close-ups matched:        %v (goal ≥ %.0f%%)", closeup, 100*goalCloseupMatched)
	t.Logf("different photos matched: %v (goal ≤ %.0f%%)", falseMatch, 100*goalFalseMatch)
	t.Logf("painted regions located:  %v (goal ≥ %.0f%%)", located, 100*goalLocated)
	t.Logf("clean reported as edited: %v (goal ≤ %.0f%%)", cleanEdited, 100*goalCleanEdited)
	t.Logf("regions on paint:         %v", regionPrecision)
	t.Logf("inset matched:            %v (floor %.0f%%)", insetMatched, 100*floorInsetMatched)
	t.Logf("inset painted located:    %v (floor %.0f%%)", insetLocated, 100*floorInsetLocated)
	t.Logf("inset clean as edited:    %v (ceiling %.0f%%)", insetClean, 100*goalCleanEdited)
	t.Logf("inset vs other scenes:    %v (counted in different photos)", insetFalse)
	t.Logf("inset regions outside:    %v", insetOutside)
	var kinds []string
	for k := range perKind {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		t.Logf("  matched %-20s %v", k, perKind[k])
	}
	for _, k := range synth.Kinds {
		if c := perDamage[k]; c != nil {
			t.Logf("  located %-20s %v", k, c)
		}
	}
	if testing.Verbose() {
		t.Logf("misses:\n%s", strings.Join(failures, "\n"))
	}
	check := func(what string, got, goal float64, atLeast bool) {
		if (atLeast && got < goal) || (!atLeast && got > goal) {
			t.Errorf("%s: %.1f%%, goal %s %.0f%%", what, 100*got, map[bool]string{true: "≥", false: "≤"}[atLeast], 100*goal)
		}
	}
	check("derived photos matched", derived.rate(), goalDerivedMatched, true)
	check("close-ups matched", closeup.rate(), goalCloseupMatched, true)
	check("different photos matched", falseMatch.rate(), goalFalseMatch, false)
	check("painted regions located", located.rate(), goalLocated, true)
	check("clean reported as edited", cleanEdited.rate(), goalCleanEdited, false)
	check("inset matched", insetMatched.rate(), floorInsetMatched, true)
	check("inset painted regions located", insetLocated.rate(), floorInsetLocated, true)
	check("inset clean reported as edited", insetClean.rate(), goalCleanEdited, false)
	if insetOutside.hit > 0 {
		t.Errorf("regions outside the inset: %v", insetOutside)
	}
	// Not a goal of the issue, but a detector that outlined the whole frame would "locate"
	// everything: most reported regions must lie on paint.
	check("regions on paint", regionPrecision.rate(), 0.6, true)
}

// makeCase adds 1-3 random damages to rec when painted, makes the evidence from s, and
// returns it with its work raster and the transform a right match names.
func makeCase(t *testing.T, s scene, rec synth.Recipe, painted bool, rng *rand.Rand) (synth.Evidence, *Raster, Transform) {
	t.Helper()
	if painted {
		for i := 1 + rng.IntN(3); i > 0; i-- {
			rec.Damage = append(rec.Damage, synth.Kinds[rng.IntN(len(synth.Kinds))])
		}
	}
	ev, err := rec.Make(s.img, rng)
	if err != nil {
		t.Fatal(err)
	}
	want := Identity
	for _, tr := range AllTransforms {
		if rec.SourceOf != nil && tr.SwapsAxes() == rec.Swap && sameMapping(tr, rec.SourceOf) {
			want = tr
		}
	}
	return ev, testRaster(ev.Image, workSide), want
}

// sameMapping reports whether sourceOf maps pixels as t does (on a 5×3 probe image).
func sameMapping(t Transform, sourceOf func(x, y, w, h int) (int, int)) bool {
	w, h := 5, 3
	ow, oh := w, h
	if t.SwapsAxes() {
		ow, oh = h, w
	}
	for y := 0; y < oh; y++ {
		for x := 0; x < ow; x++ {
			ax, ay := t.SourceOf(x, y, w, h)
			bx, by := sourceOf(x, y, w, h)
			if ax != bx || ay != by {
				return false
			}
		}
	}
	return true
}
