package console

import (
	"io/fs"
	"regexp"
	"sort"
	"testing"
	"time"

	"github.com/refundguard/refundguard/pkg/claim"
)

func TestFormatMoney(t *testing.T) {
	tests := []struct {
		name  string
		money claim.Money
		lang  string
		want  string
	}{
		{"CNY in English", claim.Money{Value: 129900, Currency: "CNY"}, langEN, "¥1,299.00"},
		{"CNY in Chinese", claim.Money{Value: 129900, Currency: "CNY"}, langZH, "¥1,299.00"},
		{"fen are kept", claim.Money{Value: 5, Currency: "CNY"}, langEN, "¥0.05"},
		{"zero", claim.Money{Value: 0, Currency: "CNY"}, langEN, "¥0.00"},
		{"millions are grouped", claim.Money{Value: 123456789, Currency: "CNY"}, langEN, "¥1,234,567.89"},
		{"exactly a thousand", claim.Money{Value: 100000, Currency: "CNY"}, langEN, "¥1,000.00"},
		{"negative amounts keep their sign", claim.Money{Value: -129900, Currency: "CNY"}, langEN, "-¥1,299.00"},
		{"the most negative int64 does not overflow", claim.Money{Value: -9223372036854775808, Currency: "CNY"}, langEN, "-¥92,233,720,368,547,758.08"},
		{"USD in English", claim.Money{Value: 1250, Currency: "USD"}, langEN, "$12.50"},
		{"USD in Chinese is marked US$", claim.Money{Value: 1250, Currency: "USD"}, langZH, "US$12.50"},
		{"EUR", claim.Money{Value: 99, Currency: "EUR"}, langEN, "€0.99"},
		{"JPY has no minor unit", claim.Money{Value: 1299, Currency: "JPY"}, langEN, "JP¥1,299"},
		{"KRW has no minor unit", claim.Money{Value: 15000, Currency: "KRW"}, langZH, "₩15,000"},
		{"KWD has three decimals", claim.Money{Value: 1234567, Currency: "KWD"}, langEN, "1,234.567 KWD"},
		{"unknown currencies show their code", claim.Money{Value: 129900, Currency: "XTS"}, langEN, "1,299.00 XTS"},
		{"no currency at all", claim.Money{Value: 129900}, langEN, "1,299.00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := formatMoney(tt.money, tt.lang); got != tt.want {
				t.Errorf("formatMoney(%+v, %s) = %q, want %q", tt.money, tt.lang, got, tt.want)
			}
		})
	}
}

func TestParseAmount(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		currency string
		want     int64
		wantErr  bool
	}{
		{"whole yuan", "499", "CNY", 49900, false},
		{"with fen", "499.50", "CNY", 49950, false},
		{"one decimal", "499.5", "CNY", 49950, false},
		{"grouped", "1,299.00", "CNY", 129900, false},
		{"with the symbol", "¥1,299", "CNY", 129900, false},
		{"with the full-width symbol", "￥12.3", "CNY", 1230, false},
		{"with the code", "12.30 CNY", "CNY", 1230, false},
		{"leading point", ".5", "CNY", 50, false},
		{"JPY has no decimals", "1299", "JPY", 1299, false},
		{"JPY refuses decimals", "1299.5", "JPY", 0, true},
		{"KWD takes three", "1.234", "KWD", 1234, false},
		{"too many decimals are refused, not rounded", "1.005", "CNY", 0, true},
		{"zero is not an amount", "0.00", "CNY", 0, true},
		{"negative", "-5", "CNY", 0, true},
		{"words", "five", "CNY", 0, true},
		{"empty", "", "CNY", 0, true},
		{"only a point", ".", "CNY", 0, true},
		{"two points", "1.2.3", "CNY", 0, true},
		{"exponent notation", "1e5", "CNY", 0, true},
		{"overflow", "999999999999999999999", "CNY", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseAmount(tt.in, tt.currency)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("parseAmount(%q, %s) = %d, %v; want %d, error %v", tt.in, tt.currency, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestAmountInputRoundTrips(t *testing.T) {
	for _, m := range []claim.Money{{Value: 129900, Currency: "CNY"}, {Value: 5, Currency: "CNY"}, {Value: 1299, Currency: "JPY"}, {Value: 1234, Currency: "KWD"}} {
		got, err := parseAmount(amountInput(m), m.Currency)
		if err != nil || got != m.Value {
			t.Errorf("%+v -> %q -> %d, %v", m, amountInput(m), got, err)
		}
	}
}

func TestDurations(t *testing.T) {
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *time.Time { x := now.Add(d); return &x }
	tests := []struct {
		name     string
		lang     string
		deadline *time.Time
		want     string
	}{
		{"minutes", langEN, at(45 * time.Minute), "45 min left"},
		{"hours and minutes", langEN, at(5*time.Hour + 20*time.Minute), "5 h 20 min left"},
		{"days and hours", langEN, at(50 * time.Hour), "2 d 2 h left"},
		{"whole days", langEN, at(48 * time.Hour), "2 d left"},
		{"overdue", langEN, at(-2 * time.Hour), "overdue by 2 h"},
		{"no deadline", langEN, nil, "—"},
		{"Chinese", langZH, at(5*time.Hour + 20*time.Minute), "剩余 5 小时 20 分钟"},
		{"Chinese overdue", langZH, at(-26 * time.Hour), "已超时 1 天 2 小时"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := newLocale(tt.lang, time.UTC, now).TimeLeft(tt.deadline); got != tt.want {
				t.Errorf("TimeLeft = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCaptureRelation(t *testing.T) {
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	shipped, delivered := base.Add(48*time.Hour), base.Add(96*time.Hour)
	order := claim.Order{PlacedAt: base, ShippedAt: &shipped, DeliveredAt: &delivered}
	l := newLocale(langEN, time.UTC, base)
	tests := []struct {
		name     string
		at       time.Time
		want     string
		wantWarn bool
	}{
		{"before the order", base.Add(-72 * time.Hour), "3 d before the order was placed", true},
		{"before shipping", base.Add(24 * time.Hour), "1 d before the parcel was shipped", true},
		{"in transit", base.Add(72 * time.Hour), "1 d before delivery", true},
		{"after delivery", delivered.Add(26 * time.Hour), "1 d 2 h after delivery", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, warn := captureRelation(l, tt.at, order)
			if got != tt.want || warn != tt.wantWarn {
				t.Errorf("captureRelation = %q, %v; want %q, %v", got, warn, tt.want, tt.wantWarn)
			}
		})
	}
}

func TestTransformPhrase(t *testing.T) {
	tests := []struct{ lang, in, want string }{
		{langEN, "identity", ""},
		{langEN, "", ""},
		{langEN, "mirror+crop+tone", " (mirrored left to right, cropped, brightness or contrast changed)"},
		{langEN, "rotate90+closeup+scale", " (rotated 90°, cut to a close-up, resized)"},
		{langEN, "warp", " (warp)"},
		{langZH, "mirror+crop", "（左右镜像、裁剪）"},
	}
	for _, tt := range tests {
		t.Run(tt.lang+" "+tt.in, func(t *testing.T) {
			if got := transformPhrase(newLocale(tt.lang, time.UTC, time.Time{}), tt.in); got != tt.want {
				t.Errorf("transformPhrase(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestCatalogues keeps the two languages in step and every message the templates use present.
func TestCatalogues(t *testing.T) {
	t.Run("both languages have the same keys", func(t *testing.T) {
		for k := range catalogEN {
			if _, ok := catalogZH[k]; !ok {
				t.Errorf("zh-CN lacks %q", k)
			}
		}
		for k := range catalogZH {
			if _, ok := catalogEN[k]; !ok {
				t.Errorf("en lacks %q", k)
			}
		}
	})
	t.Run("every key the templates use exists", func(t *testing.T) {
		used := regexp.MustCompile(`\.T "([a-z0-9_.]+)"`)
		files, err := fs.Glob(templateFS, "templates/*.html")
		if err != nil || len(files) == 0 {
			t.Fatal("no templates", err)
		}
		var missing []string
		for _, name := range files {
			b, _ := fs.ReadFile(templateFS, name)
			for _, m := range used.FindAllStringSubmatch(string(b), -1) {
				if _, ok := catalogEN[m[1]]; !ok {
					missing = append(missing, name+": "+m[1])
				}
			}
		}
		sort.Strings(missing)
		for _, m := range missing {
			t.Error("missing message", m)
		}
	})
	t.Run("every enumerated value has a label", func(t *testing.T) {
		var keys []string
		for _, k := range taskKinds {
			keys = append(keys, "kind."+string(k))
		}
		for _, r := range queueRoutes {
			keys = append(keys, "route."+string(r))
		}
		for _, o := range outcomes {
			keys = append(keys, "outcome."+string(o))
		}
		for _, r := range claim.RejectReasons() {
			keys = append(keys, "rejectreason."+r)
		}
		for _, s := range []claim.Status{claim.StatusSubmitted, claim.StatusAnalyzing, claim.StatusAwaitingMerchant, claim.StatusInReview,
			claim.StatusAwaitingBuyerEvidence, claim.StatusApproved, claim.StatusPartiallyApproved, claim.StatusRejected,
			claim.StatusAppealed, claim.StatusClosed, claim.StatusWithdrawn} {
			keys = append(keys, "status."+string(s))
		}
		for _, code := range []string{"reference_match", "localized_edit", "duplicate_evidence", "editing_software", "ai_generated_label",
			"content_credentials", "capture_time_conflict", "thumbnail_mismatch", "metadata_missing", "recompressed",
			"ela_anomaly", "screenshot", "low_quality"} {
			keys = append(keys, "finding."+code+".title", "finding."+code+".text")
		}
		for _, k := range keys {
			if _, ok := catalogEN[k]; !ok {
				t.Errorf("no message %q", k)
			}
		}
	})
}
