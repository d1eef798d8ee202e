package console

import (
	"net/url"
	"path"
	"strings"
	"testing"

	"github.com/refundguard/refundguard/pkg/claim"
)

// FuzzParseAmount: whatever a reviewer types, parsing never panics, accepts only positive
// amounts, and what it accepts reads back the same through the form field's rendering.
func FuzzParseAmount(f *testing.F) {
	for _, seed := range []struct{ in, currency string }{
		{"499.50", "CNY"}, {"¥1,299", "CNY"}, {"￥12.3", "CNY"}, {"1299", "JPY"}, {"1.234", "KWD"},
		{".5", "CNY"}, {"-5", "CNY"}, {"1e5", "CNY"}, {"999999999999999999999", "CNY"}, {"", "XTS"}, {"1,,2.", "USD"},
	} {
		f.Add(seed.in, seed.currency)
	}
	f.Fuzz(func(t *testing.T, in, currency string) {
		v, err := parseAmount(in, currency)
		if err != nil {
			return
		}
		if v <= 0 {
			t.Fatalf("parseAmount(%q, %q) accepted %d", in, currency, v)
		}
		m := amountInput(claim.Money{Value: v, Currency: currency})
		back, err := parseAmount(m, currency)
		if err != nil || back != v {
			t.Fatalf("%q -> %d -> %q -> %d, %v", in, v, m, back, err)
		}
	})
}

// FuzzAcceptLanguage: any header yields one of the console's languages.
func FuzzAcceptLanguage(f *testing.F) {
	for _, seed := range []string{"", "zh-CN,zh;q=0.9,en;q=0.8", "en;q=0.5, zh;q=0.8", "zh;q=0, en", "fr;q=abc", ";;;,,,q=", "zh-Hant-TW;q=1.5"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, header string) {
		if got := fromAcceptLanguage(header); got != langEN && got != langZH {
			t.Fatalf("fromAcceptLanguage(%q) = %q", header, got)
		}
	})
}

// FuzzSafeBack: the language switch and the flag form only ever send the browser back into
// the console.
func FuzzSafeBack(f *testing.F) {
	for _, seed := range []string{"/console/tasks/x", "https://evil.example/", "//evil.example/console/", "/console/../v1", `/console\evil`, "/console/?a=b#c", "javascript:alert(1)"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, back string) {
		got := safeBack(back)
		u, err := url.Parse(got)
		if err != nil || u.Host != "" || u.Scheme != "" || strings.HasPrefix(got, "//") || strings.Contains(got, `\`) ||
			!strings.HasPrefix(path.Clean(u.Path)+"/", basePath+"/") {
			t.Fatalf("safeBack(%q) = %q", back, got)
		}
	})
}
