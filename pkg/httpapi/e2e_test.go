package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash/crc32"
	"image"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/refundguard/refundguard/forensics"
	"github.com/refundguard/refundguard/pkg/claim"
)

// TestEndToEndEditedMerchantPhoto is the story the service exists for: a merchant registers
// an order and its catalog photo; a buyer files a claim with a copy of that photo with
// damage painted on; the analysis runs; the reviewer sees the photo matched to the
// merchant's, the painted region, and can open the photo and heatmap; the buyer sees none
// of it and the merchant only the gist.
func TestEndToEndEditedMerchantPhoto(t *testing.T) {
	live := startLiveAPI(t)
	catalog := bridgePhoto(t)
	edited, stain := paintedCopy(t, catalog)

	order := live.createOrder("merchant", "buyer-1", "VASE-1", 12900)
	r := live.call("merchant", "POST", "/v1/products/VASE-1/images", formBody(t, photo("vase-catalog.jpg", catalog)))
	checkResponseSchema(t, "POST", "/v1/products/{sku}/images", r.StatusCode, r.data)
	var imgs imagesDTO
	live.mustJSON(r, 201, &imgs)
	sum := sha256.Sum256(catalog)
	ref := imgs.Images[0]
	if len(imgs.Images) != 1 || ref.SHA256 != hex.EncodeToString(sum[:]) || ref.SKU != "VASE-1" || ref.Kind != claim.ImageCatalog || ref.Width != 1600 {
		t.Fatalf("catalog image %+v", imgs)
	}
	// Hashes are computed once, at upload, by the forensics library: the API shows exactly
	// what the library computes for the file.
	analyzer := forensics.NewAnalyzer(forensics.AnalyzerOptions{})
	fp, err := analyzer.Fingerprint(context.Background(), catalog)
	if err != nil {
		t.Fatal(err)
	}
	if want := (claim.Hashes{PDQ: fp.Hashes.PDQ, PDQQuality: fp.Hashes.PDQQuality, PHash: fp.Hashes.PHash, DHash: fp.Hashes.DHash}); ref.Hashes != want {
		t.Errorf("reference hashes %+v, the library computes %+v", ref.Hashes, want)
	}
	if fp.Hashes.PDQ == "" || fp.Hashes.PHash == "" || fp.Hashes.DHash == "" {
		t.Errorf("no perceptual hashes for a real photo: %+v", fp.Hashes)
	}
	r = live.call("merchant", "POST", "/v1/orders/"+order.ID+"/images", formBody(t, field("kind", "packing"), photo("parcel.png", synthPhoto(t, 7))))
	live.mustJSON(r, 201, nil)
	checkResponseSchema(t, "POST", "/v1/orders/{id}/images", 201, r.data)

	// The buyer files with an Idempotency-Key, and the client retries.
	form := formBody(t, field("order_id", order.ID), field("reason", "damaged"), field("description", "花瓶到货时有裂纹"),
		field("amount", "12900"), field("refund_type", "refund_only"), photo("IMG_2041.jpg", edited))
	form.header = map[string]string{"Idempotency-Key": "c0ffee-0001"}
	r = live.call("buyer", "POST", "/v1/claims", form)
	first := r.data
	var created buyerClaimCreated
	live.mustJSON(r, 201, &created)
	checkResponseSchema(t, "POST", "/v1/claims", 201, first)
	if created.Status != claim.StatusAnalyzing || created.OrderID != order.ID || len(created.Evidence) != 1 || r.Header.Get("Location") != "/v1/claims/"+created.ID {
		t.Fatalf("created %s", first)
	}

	analysed := live.waitAnalysed(created.ID)

	t.Run("the service's log lines carry the request id", func(t *testing.T) {
		id := r.Header.Get(RequestIDHeader)
		found := false
		for _, line := range strings.Split(live.logs.String(), "\n") {
			found = found || strings.Contains(line, `"msg":"claim filed"`) && strings.Contains(line, `"request_id":"`+id+`"`)
		}
		if id == "" || !found {
			t.Errorf("no service log line for the filing with request_id %q", id)
		}
	})

	t.Run("a retry after analysis replays the first response", func(t *testing.T) {
		live := live.as(t)
		again := live.call("buyer", "POST", "/v1/claims", form)
		if again.StatusCode != 201 || !bytes.Equal(first, again.data) || again.Header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("replay %d %q:\nfirst  %s\nreplay %s", again.StatusCode, again.Header.Get("Idempotent-Replayed"), first, again.data)
		}
		other := formBody(t, field("order_id", order.ID), field("reason", "damaged"), field("description", "花瓶到货时有裂纹"),
			field("amount", "9900"), field("refund_type", "refund_only"), photo("IMG_2041.jpg", edited))
		other.header = form.header
		live.problem(live.call("buyer", "POST", "/v1/claims", other), 409, claim.CodeConflict)
	})

	t.Run("the reviewer sees the match and the painted region", func(t *testing.T) {
		live := live.as(t)
		if len(analysed.Evidence) != 1 || !analysed.Evidence[0].Analyzed {
			t.Fatalf("evidence %+v", analysed.Evidence)
		}
		ev := analysed.Evidence[0]
		byCode := map[string]map[string]any{}
		for _, f := range ev.Findings {
			byCode[f["code"].(string)] = f
		}
		// The API must report what the forensics library finds on the same pair, no more and
		// no less (duplicate_evidence is the server's own), and that must include the match
		// with the merchant's photo and the painted region.
		// The library gets what the service gives it: the reference under its image id, with
		// the hashes stored at upload, and the order's times.
		libRef := forensics.Reference{Name: ref.ID, Load: func(context.Context) ([]byte, error) { return catalog, nil }}
		if fp.Hashes.PDQ != "" {
			libRef.Hashes = &fp.Hashes
		}
		times := forensics.Times{PlacedAt: order.PlacedAt, ShippedAt: *order.ShippedAt, DeliveredAt: *order.DeliveredAt}
		direct := analyzer.Analyze(context.Background(), forensics.Input{Name: ev.ID, Data: edited}, []forensics.Reference{libRef}, times)
		library := map[string]bool{}
		for _, f := range direct.Report.Findings {
			library[f.Code] = true
			if byCode[f.Code] == nil {
				t.Errorf("forensics finds %s, the API does not show it", f.Code)
			}
		}
		for code := range byCode {
			if !library[code] && code != forensics.CodeDuplicateEvidence {
				t.Errorf("the API shows %s, which forensics does not find", code)
			}
		}
		if match, ok := byCode[forensics.CodeReferenceMatch]; !ok {
			t.Errorf("no reference_match for a painted copy of the merchant's photo: %v", ev.Findings)
		} else if match["reference"] != ref.ID {
			t.Errorf("reference_match names %v, want the catalog image %s", match["reference"], ref.ID)
		}
		if edit, ok := byCode[forensics.CodeLocalizedEdit]; !ok {
			t.Errorf("no localized_edit for the painted stain: %v", ev.Findings)
		} else {
			if !regionsOverlap(edit["regions"], stain) {
				t.Errorf("localized_edit regions %v miss the painted stain %v", edit["regions"], stain)
			}
			if ev.HeatmapURL == "" {
				t.Error("an edit was found but no heatmap is offered")
			}
			if analysed.Risk == 0 {
				t.Error("risk 0 despite a localized edit on the merchant's own photo")
			}
		}
		if ev.Report["findings"] == nil || ev.SHA256 == "" {
			t.Errorf("the full report is missing: %v", ev.Report)
		}
		if len(analysed.Timeline) == 0 || analysed.Timeline[0].Action != "claim.filed" {
			t.Errorf("timeline %+v", analysed.Timeline)
		}
		checkSchema(t, "StaffClaim", live.call("reviewer", "GET", "/v1/claims/"+created.ID, body{}).data)
	})

	t.Run("the reviewer opens the photo and the heatmap", func(t *testing.T) {
		live := live.as(t)
		ev := analysed.Evidence[0]
		r := live.call("reviewer", "GET", "/v1/evidence/"+ev.ID+"/content", body{})
		if r.StatusCode != 200 || !bytes.Equal(r.data, edited) || r.Header.Get("Content-Type") != "image/jpeg" ||
			r.Header.Get("ETag") != `"`+ev.SHA256+`"` || r.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("content: %d %v", r.StatusCode, r.Header)
		}
		r = live.call("reviewer", "GET", "/v1/evidence/"+ev.ID+"/heatmap", body{})
		switch {
		case ev.HeatmapURL != "" && (r.StatusCode != 200 || r.Header.Get("Content-Type") != "image/png" || !bytes.HasPrefix(r.data, []byte("\x89PNG"))):
			t.Errorf("heatmap: %d %v", r.StatusCode, r.Header)
		case ev.HeatmapURL == "" && r.StatusCode != 404:
			t.Errorf("heatmap without an edit: %d", r.StatusCode)
		}
		// Staff opening evidence is audited.
		var after staffClaimJSON
		live.mustJSON(live.call("reviewer", "GET", "/v1/claims/"+created.ID, body{}), 200, &after)
		viewed := false
		for _, e := range after.Timeline {
			viewed = viewed || e.Action == "evidence.viewed" && e.Actor == "reviewer:alice"
		}
		if !viewed {
			t.Errorf("evidence view not in the timeline: %+v", after.Timeline)
		}
	})

	t.Run("the buyer sees no forensic detail", func(t *testing.T) {
		live := live.as(t)
		r := live.call("buyer", "GET", "/v1/claims/"+created.ID, body{})
		live.mustJSON(r, 200, nil)
		data := r.data
		checkSchema(t, "BuyerClaim", data)
		keys := jsonKeys(t, data)
		for _, k := range forensicKeys {
			if keys[k] {
				t.Errorf("buyer's claim carries %q: %s", k, data)
			}
		}
		for _, leak := range []string{"reference_match", "localized_edit", ref.ID, analysed.Evidence[0].SHA256} {
			if bytes.Contains(data, []byte(leak)) {
				t.Errorf("buyer's claim mentions %q", leak)
			}
		}
		list := live.call("buyer", "GET", "/v1/claims", body{}).data
		if keys := jsonKeys(t, list); keys["risk"] || keys["findings"] {
			t.Errorf("buyer's list leaks: %s", list)
		}
		live.problem(live.call("buyer", "GET", "/v1/evidence/"+analysed.Evidence[0].ID+"/heatmap", body{}), 403, claim.CodeForbidden)
	})

	t.Run("the merchant sees codes and severities", func(t *testing.T) {
		live := live.as(t)
		r := live.call("merchant", "GET", "/v1/claims/"+created.ID, body{})
		var mc merchantClaim
		live.mustJSON(r, 200, &mc)
		data := r.data
		checkSchema(t, "MerchantClaim", data)
		if keys := jsonKeys(t, data); keys["regions"] || keys["risk"] || keys["hashes"] || keys["report"] {
			t.Errorf("merchant's claim carries forensic internals: %s", data)
		}
		var staff staffClaimJSON
		live.mustJSON(live.call("reviewer", "GET", "/v1/claims/"+created.ID, body{}), 200, &staff)
		if len(mc.Evidence[0].Findings) != len(staff.Evidence[0].Findings) {
			t.Fatalf("merchant sees %d findings, staff %d", len(mc.Evidence[0].Findings), len(staff.Evidence[0].Findings))
		}
		for i, f := range mc.Evidence[0].Findings {
			if f.Code != staff.Evidence[0].Findings[i]["code"] || f.Severity != staff.Evidence[0].Findings[i]["severity"] {
				t.Errorf("merchant finding %d %+v, staff %v", i, f, staff.Evidence[0].Findings[i])
			}
		}
	})

	t.Run("metrics count the claim and the analysis", func(t *testing.T) {
		live := live.as(t)
		text := string(live.call("", "GET", "/metrics", body{}).data)
		for _, want := range []string{
			`refundguard_claims{status="` + string(analysed.Status) + `"} 1`,
			`refundguard_analysis_duration_seconds_count{outcome="done"}`,
			`refundguard_http_request_duration_seconds_count{method="POST",route="/v1/claims",status="201"} 2`,
			`refundguard_service_stats_up 1`,
		} {
			if !strings.Contains(text, want) {
				t.Errorf("metrics lack %s", want)
			}
		}
	})
}

// regionsOverlap reports whether any {x,y,w,h} region intersects r.
func regionsOverlap(regions any, r image.Rectangle) bool {
	list, _ := regions.([]any)
	for _, x := range list {
		m, _ := x.(map[string]any)
		num := func(k string) int { f, _ := m[k].(float64); return int(f) }
		reg := image.Rect(num("x"), num("y"), num("x")+num("w"), num("y")+num("h"))
		if reg.Overlaps(r) {
			return true
		}
	}
	return false
}

// hugePNG is a valid PNG header declaring w×h pixels with no image data: enough for a
// decoder to learn the size, and to be refused for it, without anyone allocating it.
func hugePNG(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		_ = binary.Write(&b, binary.BigEndian, uint32(len(data)))
		crc := crc32.NewIEEE()
		crc.Write([]byte(typ))
		crc.Write(data)
		b.WriteString(typ)
		b.Write(data)
		_ = binary.Write(&b, binary.BigEndian, crc.Sum32())
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	chunk("IHDR", ihdr)
	chunk("IEND", nil)
	return b.Bytes()
}

// TestEndToEndBadInputChangesNothing sends what the service must refuse against real
// state: each gets its problem, and afterwards there are no new claims and no new blobs.
func TestEndToEndBadInputChangesNothing(t *testing.T) {
	live := startLiveAPI(t)
	mine := live.createOrder("merchant", "buyer-1", "CUP-1", 5000)
	theirs := live.createOrder("merchant", "buyer-2", "CUP-1", 5000)
	good := synthPhoto(t, 3)
	corrupt := bridgePhoto(t)[:2000]
	notImage := []byte("this is not an image, whatever its name says")
	huge := hugePNG(10000, 6000)

	claimsNow := func() int {
		var page claimList[map[string]any]
		live.mustJSON(live.call("reviewer", "GET", "/v1/claims", body{}), 200, &page)
		return len(page.Claims)
	}
	blobsNow := func() int {
		n := 0
		_ = filepath.WalkDir(live.blobDir, func(_ string, d os.DirEntry, _ error) error {
			if d != nil && !d.IsDir() {
				n++
			}
			return nil
		})
		return n
	}
	claimsBefore, blobsBefore := claimsNow(), blobsNow()

	file := func(orderID, amount string, photos ...[]byte) body {
		parts := []formPart{field("order_id", orderID), field("reason", "damaged"), field("amount", amount), field("refund_type", "refund_only")}
		for i, p := range photos {
			parts = append(parts, photo("p"+itoa(int64(i))+".jpg", p))
		}
		return formBody(t, parts...)
	}
	tenPhotos := make([][]byte, 10)
	for i := range tenPhotos {
		tenPhotos[i] = good
	}
	analyzer := forensics.NewAnalyzer(forensics.AnalyzerOptions{})
	cases := []struct {
		name   string
		b      body
		status int
		code   claim.Code
		field  string
		photo  []byte // the photo whose refusal is the forensics library's call
	}{
		{"unknown order", file("ord_nope", "100", good), 404, claim.CodeNotFound, "order_id", nil},
		{"another buyer's order", file(theirs.ID, "100", good), 404, claim.CodeNotFound, "order_id", nil},
		{"amount above the order's", file(mine.ID, "5001", good), 422, claim.CodeInvalid, "amount", nil},
		{"text posing as a JPEG", file(mine.ID, "100", notImage), 415, claim.CodeUnsupportedMedia, "photos[0]", notImage},
		{"truncated JPEG", file(mine.ID, "100", good, corrupt), 422, claim.CodeInvalid, "photos[1]", corrupt},
		{"over 50 megapixels", file(mine.ID, "100", huge), 413, claim.CodeTooLarge, "photos[0]", huge},
		{"more than 9 photos", file(mine.ID, "100", tenPhotos...), 422, claim.CodeInvalid, "photos", nil},
		{"over 20 MB", file(mine.ID, "100", bytes.Repeat([]byte{0xff}, 20<<20+1)), 413, claim.CodeTooLarge, "photos[0]", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.photo != nil {
				if _, err := analyzer.Fingerprint(context.Background(), tc.photo); err == nil {
					t.Skip("NOTE: the forensics library accepts this file yet; the service can only refuse what it refuses")
				}
			}
			p := live.problem(live.call("buyer", "POST", "/v1/claims", tc.b), tc.status, tc.code)
			if p.Field != tc.field {
				t.Errorf("field %q, want %q (%s)", p.Field, tc.field, p.Detail)
			}
		})
	}
	if n := claimsNow(); n != claimsBefore {
		t.Errorf("claims %d -> %d", claimsBefore, n)
	}
	if n := blobsNow(); n != blobsBefore {
		t.Errorf("blobs %d -> %d", blobsBefore, n)
	}
	// The same order then takes a good claim: nothing was left half-done.
	live.fileClaim("buyer", mine.ID, 5000, good)
}

// TestEndToEndConcurrentRetries: a client that times out and retries while its first request
// is still running sends the same Idempotency-Key twice at once. Exactly one claim results,
// and every attempt gets the same 201 body.
func TestEndToEndConcurrentRetries(t *testing.T) {
	live := startLiveAPI(t)
	order := live.createOrder("merchant", "buyer-1", "LAMP-1", 3000)
	form := formBody(t, field("order_id", order.ID), field("reason", "defective"), field("amount", "3000"),
		field("refund_type", "return_and_refund"), photo("lamp.png", synthPhoto(t, 5)))
	form.header = map[string]string{"Idempotency-Key": "retry-storm-1"}

	const attempts = 4
	replies := make([]reply, attempts)
	var wg sync.WaitGroup
	for i := range attempts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			replies[i] = live.call("buyer", "POST", "/v1/claims", form)
		}()
	}
	wg.Wait()
	for i, r := range replies {
		if r.StatusCode != 201 || !bytes.Equal(r.data, replies[0].data) {
			t.Errorf("attempt %d: %d %s (first: %s)", i, r.StatusCode, r.data, replies[0].data)
		}
	}
	var page claimList[map[string]any]
	live.mustJSON(live.call("buyer", "GET", "/v1/claims", body{}), 200, &page)
	if len(page.Claims) != 1 {
		t.Errorf("%d claims from one request", len(page.Claims))
	}
}

// TestEndToEndRefusalsOnOrdersAndLists covers the refusals of the other endpoints that need
// stored state to decide, each answered with its problem and field.
func TestEndToEndRefusalsOnOrdersAndLists(t *testing.T) {
	live := startLiveAPI(t)
	o := live.createOrder("merchant", "buyer-1", "DESK-1", 45000)
	dup := jsonBody(map[string]any{"external_id": o.ExternalID, "buyer_id": "buyer-1", "amount": map[string]any{"value": 1, "currency": "CNY"},
		"items": []map[string]any{{"sku": "DESK-1", "name": "desk", "quantity": 1}}, "placed_at": o.PlacedAt})
	cases := []struct {
		name, party, method, path string
		b                         body
		status                    int
		code                      claim.Code
		field                     string
	}{
		{"an external_id registered twice", "merchant", "POST", "/v1/orders", dup, 409, claim.CodeConflict, "external_id"},
		{"delivery before the order was placed", "merchant", "PATCH", "/v1/orders/" + o.ID, jsonBody(map[string]string{"delivered_at": "2000-01-01T00:00:00Z"}), 422, claim.CodeInvalid, "delivered_at"},
		{"a cursor the service never issued", "reviewer", "GET", "/v1/claims?cursor=forged", body{}, 422, claim.CodeInvalid, "cursor"},
		{"an unknown status filter", "reviewer", "GET", "/v1/claims?status=lost", body{}, 422, claim.CodeInvalid, "status"},
		{"a key for an unknown role", "admin", "POST", "/v1/keys", jsonBody(map[string]string{"role": "owner", "subject": "x"}), 422, claim.CodeInvalid, "role"},
		{"an admin revoking its own key", "admin", "DELETE", "/v1/keys/" + live.keyIDs["admin"], body{}, 409, claim.CodeConflict, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			live := live.as(t)
			p := live.problem(live.call(tc.party, tc.method, tc.path, tc.b), tc.status, tc.code)
			if p.Field != tc.field {
				t.Errorf("field %q, want %q (%s)", p.Field, tc.field, p.Detail)
			}
		})
	}
	var again orderDTO
	live.mustJSON(live.call("merchant", "GET", "/v1/orders/"+o.ID, body{}), 200, &again)
	if !again.DeliveredAt.Equal(*o.DeliveredAt) {
		t.Errorf("a refused PATCH changed delivered_at: %v -> %v", o.DeliveredAt, again.DeliveredAt)
	}
}

// TestEndToEndPaging walks a buyer's claims two at a time with next_cursor: every claim
// once, newest first, and an empty cursor on the last page.
func TestEndToEndPaging(t *testing.T) {
	live := startLiveAPI(t)
	var filed []string
	for i := range 5 {
		o := live.createOrder("merchant", "buyer-1", "PEN-"+itoa(int64(i)), 1000)
		filed = append(filed, live.fileClaim("buyer", o.ID, 500, synthPhoto(t, 10+i)).ID)
	}
	var seen []string
	cursor, pages := "", 0
	for {
		var page claimList[buyerClaimSummary]
		live.mustJSON(live.call("buyer", "GET", "/v1/claims?limit=2&cursor="+url.QueryEscape(cursor), body{}), 200, &page)
		pages++
		for _, c := range page.Claims {
			seen = append(seen, c.ID)
		}
		if page.NextCursor == "" {
			break
		}
		if pages > 5 {
			t.Fatal("the cursor never ends")
		}
		cursor = page.NextCursor
	}
	if pages != 3 || len(seen) != 5 {
		t.Fatalf("%d pages, %d claims: %v", pages, len(seen), seen)
	}
	for i, id := range seen {
		if id != filed[len(filed)-1-i] {
			t.Errorf("position %d: %s, want %s (newest first)", i, id, filed[len(filed)-1-i])
		}
	}
}
