package httpapi

import (
	"bytes"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/refundguard/refundguard/pkg/claim"
)

// FuzzUploadForm feeds arbitrary multipart bodies to the form reader. Whatever comes in,
// it must not panic, must answer with a coded error or a form within the limits, and the
// display names it keeps must be plain base names.
func FuzzUploadForm(f *testing.F) {
	const boundary = "XyZ"
	wrap := func(parts ...string) []byte {
		var b strings.Builder
		for _, p := range parts {
			b.WriteString("--" + boundary + "\r\n" + p + "\r\n")
		}
		b.WriteString("--" + boundary + "--\r\n")
		return []byte(b.String())
	}
	f.Add(wrap(`Content-Disposition: form-data; name="order_id"` + "\r\n\r\no1"))
	f.Add(wrap(`Content-Disposition: form-data; name="photos"; filename="../../a.jpg"` + "\r\nContent-Type: image/jpeg\r\n\r\n\xff\xd8\xff"))
	f.Add(wrap(`Content-Disposition: form-data; name="photos"; filename="x"`+"\r\n\r\nA", `Content-Disposition: form-data; name="photos"; filename="y"`+"\r\n\r\nB"))
	f.Add(wrap(`Content-Disposition: form-data; name="photos"; filename="=?utf-8?q?=E5=9B=BE.jpg?="` + "\r\n\r\nC"))
	f.Add(wrap(`Content-Disposition: form-data; name="reason"` + "\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nda=\r\nmaged"))
	f.Add(wrap(`Content-Disposition: form-data; name="order_id"`+"\r\n\r\no1", `Content-Disposition: form-data; name="order_id"`+"\r\n\r\no2"))
	f.Add([]byte("--XyZ\r\nContent-Disposition: form-data; name=\"photos\"; filename=\"z\"\r\n\r\ntruncated"))
	f.Add([]byte("not multipart at all"))
	f.Add([]byte{})

	api := New(Options{Service: newFakeService(), Limits: Limits{MaxPhotos: 2, MaxPhotoBytes: 64, MaxFieldBytes: 32, MaxUploadBytes: 1 << 10}})
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest("POST", "/v1/claims", bytes.NewReader(body))
		req.Header.Set("Content-Type", "multipart/form-data; boundary="+boundary)
		form, err := api.readUploadForm(req, claimFields...)
		if err != nil {
			var ce *claim.Error
			if !errors.As(err, &ce) || ce.Message == "" {
				t.Fatalf("uncoded error %v", err)
			}
			if statusOf(ce.Code) >= 500 {
				t.Fatalf("client input became a server error: %v", err)
			}
			return
		}
		if len(form.photos) > 2 {
			t.Fatalf("%d photos", len(form.photos))
		}
		for _, p := range form.photos {
			if len(p.Data) == 0 || len(p.Data) > 64 {
				t.Fatalf("photo of %d bytes", len(p.Data))
			}
			if p.Name == "" || strings.ContainsAny(p.Name, "/\\") && p.Name != "/" || !utf8.ValidString(p.Name) || cleanForLog(p.Name) != p.Name {
				t.Fatalf("display name %q", p.Name)
			}
		}
		for k, v := range form.fields {
			if !contains(claimFields, k) || len(v) > 32 {
				t.Fatalf("field %q=%q", k, v)
			}
		}
	})
}

// FuzzOrderJSON feeds arbitrary bodies to the order decoder: coded client errors or an
// input whose shape the service can rely on, never a panic.
func FuzzOrderJSON(f *testing.F) {
	f.Add(`{"external_id":"T-1","buyer_id":"b1","amount":{"value":100,"currency":"CNY"},"items":[{"sku":"S","name":"n","quantity":1}],"placed_at":"2026-11-01T10:00:00Z"}`)
	f.Add(`{"external_id":"T-1","buyer_id":"b1","amount":{"value":9223372036854775807,"currency":"CNY"},"items":[{"sku":"S","quantity":99}],"placed_at":"2026-11-01T10:00:00+08:00","shipped_at":null}`)
	f.Add(`{"amount":{"value":1e400}}`)
	f.Add(`{"items":[{"quantity":-1}]}`)
	f.Add(`{"placed_at":"2026-02-30T25:00:00Z"}`)
	f.Add(`null`)
	f.Add(`"\ud800"`)
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest("POST", "/v1/orders", strings.NewReader(body))
		var r orderRequest
		err := decodeJSON(req, &r)
		if err == nil {
			in, ierr := r.input()
			if err = ierr; err == nil {
				if in.Amount.Value <= 0 || len(in.Amount.Currency) != 3 || len(in.Items) == 0 || in.PlacedAt.IsZero() {
					t.Fatalf("accepted %q as %+v", body, in)
				}
				for _, it := range in.Items {
					if it.SKU == "" || it.Quantity < 1 {
						t.Fatalf("accepted item %+v", it)
					}
				}
			}
		}
		if err != nil {
			var ce *claim.Error
			if !errors.As(err, &ce) || statusOf(ce.Code) >= 500 {
				t.Fatalf("bad error for %q: %v", body, err)
			}
		}
	})
}
