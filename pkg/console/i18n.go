package console

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/refundguard/refundguard/pkg/claim"
)

// The console speaks Simplified Chinese and English. The reviewer's choice (the switch in
// the header) is kept in a cookie; without one, Accept-Language decides; English otherwise.
const (
	langEN = "en"
	langZH = "zh-CN"

	langCookie = "rg_console_lang"
)

// chooseLanguage picks the page language for a request: the cookie set by the language
// switch first, then the best Accept-Language match.
func chooseLanguage(r *http.Request) string {
	if c, err := r.Cookie(langCookie); err == nil {
		if l, ok := knownLanguage(c.Value); ok {
			return l
		}
	}
	return fromAcceptLanguage(r.Header.Get("Accept-Language"))
}

// knownLanguage maps a language tag onto one the console has, by its primary subtag:
// any "zh" (zh, zh-CN, zh-Hans, zh-TW) reads Simplified Chinese, any "en" English.
func knownLanguage(tag string) (string, bool) {
	primary, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
	primary, _, _ = strings.Cut(primary, "_")
	switch primary {
	case "zh":
		return langZH, true
	case "en":
		return langEN, true
	}
	return "", false
}

// fromAcceptLanguage reads an RFC 9110 Accept-Language header ("zh-CN,zh;q=0.9,en;q=0.8")
// and returns the supported language with the highest weight; ties keep header order.
func fromAcceptLanguage(header string) string {
	type choice struct {
		lang  string
		q     float64
		order int
	}
	var choices []choice
	for i, part := range strings.Split(header, ",") {
		tag, params, _ := strings.Cut(part, ";")
		q := 1.0
		for _, p := range strings.Split(params, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				parsed, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if err != nil || parsed < 0 || parsed > 1 {
					parsed = 0
				}
				q = parsed
			}
		}
		if q == 0 {
			continue
		}
		if l, ok := knownLanguage(tag); ok {
			choices = append(choices, choice{l, q, i})
		}
	}
	if len(choices) == 0 {
		return langEN
	}
	sort.SliceStable(choices, func(a, b int) bool { return choices[a].q > choices[b].q })
	return choices[0].lang
}

// locale is what templates use to speak the reviewer's language: messages, money, times.
type locale struct {
	Lang string
	loc  *time.Location
	now  time.Time
}

func newLocale(lang string, loc *time.Location, now time.Time) *locale {
	return &locale{Lang: lang, loc: loc, now: now}
}

// T returns the message for key, formatted with args. A missing key shows itself, which
// the catalogue test forbids for every key the templates and code use.
func (l *locale) T(key string, args ...any) string {
	cat := catalogEN
	if l.Lang == langZH {
		cat = catalogZH
	}
	msg, ok := cat[key]
	if !ok {
		if msg, ok = catalogEN[key]; !ok {
			return key
		}
	}
	if len(args) == 0 {
		return msg
	}
	return fmt.Sprintf(msg, args...)
}

// Has reports whether the catalogue has key (templates use it for codes that may be new).
func (l *locale) Has(key string) bool {
	_, ok := catalogEN[key]
	return ok
}

// Label translates an enumerated value ("route.review", "outcome.reject"); unknown values
// (codes added after this console was written) are shown as they are.
func (l *locale) Label(prefix string, value any) string {
	v := fmt.Sprint(value)
	if v == "" {
		return "—"
	}
	if l.Has(prefix + "." + v) {
		return l.T(prefix + "." + v)
	}
	return v
}

// Action names an audit action ("claim.filed"): translated when the catalogue knows it,
// otherwise made readable ("claim filed") rather than shown as a code.
func (l *locale) Action(action string) string {
	if l.Has("action." + action) {
		return l.T("action." + action)
	}
	return strings.NewReplacer(".", " ", "_", " ").Replace(action)
}

// Money formats an amount in minor units as currency.
func (l *locale) Money(m claim.Money) string { return formatMoney(m, l.Lang) }

// MoneyPtr formats an optional amount.
func (l *locale) MoneyPtr(m *claim.Money) string {
	if m == nil {
		return "—"
	}
	return formatMoney(*m, l.Lang)
}

// Time writes an instant in the console's time zone.
func (l *locale) Time(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(l.loc).Format("2006-01-02 15:04 MST")
}

// TimePtr writes an optional instant.
func (l *locale) TimePtr(t *time.Time) string {
	if t == nil {
		return "—"
	}
	return l.Time(*t)
}

// Duration writes a span coarsely, the way a person says it: "2 d 3 h", "45 min".
func (l *locale) Duration(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	days := int(d / (24 * time.Hour))
	hours := int(d % (24 * time.Hour) / time.Hour)
	minutes := int(d % time.Hour / time.Minute)
	switch {
	case days > 0 && hours > 0:
		return l.T("dur.dh", days, hours)
	case days > 0:
		return l.T("dur.d", days)
	case hours > 0 && minutes > 0:
		return l.T("dur.hm", hours, minutes)
	case hours > 0:
		return l.T("dur.h", hours)
	default:
		return l.T("dur.m", minutes)
	}
}

// TimeLeft says how long until a deadline, or how long it is overdue.
func (l *locale) TimeLeft(deadline *time.Time) string {
	if deadline == nil {
		return "—"
	}
	d := deadline.Sub(l.now)
	if d < 0 {
		return l.T("deadline.overdue", l.Duration(d))
	}
	return l.T("deadline.left", l.Duration(d))
}

// Overdue reports whether a deadline has passed.
func (l *locale) Overdue(deadline *time.Time) bool {
	return deadline != nil && deadline.Before(l.now)
}

// Percent writes a fraction (0.042) as a percentage ("4.2%").
func (l *locale) Percent(f float64) string {
	return strconv.FormatFloat(f*100, 'f', 1, 64) + "%"
}

// other is the language the switch offers.
func (l *locale) Other() string {
	if l.Lang == langZH {
		return langEN
	}
	return langZH
}
