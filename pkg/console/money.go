package console

import (
	"errors"
	"strconv"
	"strings"

	"github.com/refundguard/refundguard/pkg/claim"
)

// currencyFormat says how one currency is written: its symbol per language and how many
// minor-unit digits it has (ISO 4217 exponent).
type currencyFormat struct {
	symbolEN, symbolZH string
	exponent           int
}

// currencies lists the currencies a reviewer is likely to meet. Symbols follow CLDR for
// each language, except that CNY is "¥" in both: the platform's home currency reads as its
// customers write it. Anything else is shown as "1,299.00 XYZ".
var currencies = map[string]currencyFormat{
	"CNY": {"¥", "¥", 2},
	"USD": {"$", "US$", 2},
	"EUR": {"€", "€", 2},
	"GBP": {"£", "£", 2},
	"HKD": {"HK$", "HK$", 2},
	"TWD": {"NT$", "NT$", 2},
	"JPY": {"JP¥", "JP¥", 0},
	"KRW": {"₩", "₩", 0},
	"VND": {"₫", "₫", 0},
	"BHD": {"", "", 3},
	"KWD": {"", "", 3},
	"JOD": {"", "", 3},
	"OMR": {"", "", 3},
	"TND": {"", "", 3},
}

func currencyOf(code string) currencyFormat {
	if f, ok := currencies[code]; ok {
		return f
	}
	return currencyFormat{exponent: 2}
}

// formatMoney writes an amount held in minor units as a reviewer reads it: "¥1,299.00",
// "$12.50", "JP¥1,299", "1,299.000 KWD". Grouping by thousands is the same in both languages.
func formatMoney(m claim.Money, lang string) string {
	f := currencyOf(m.Currency)
	sign := ""
	v := m.Value
	if v < 0 {
		sign = "-"
	}
	// Work on the decimal digits so that the most negative int64 still prints.
	digits := strconv.FormatInt(v, 10)
	digits = strings.TrimPrefix(digits, "-")
	for len(digits) <= f.exponent {
		digits = "0" + digits
	}
	whole, frac := digits[:len(digits)-f.exponent], digits[len(digits)-f.exponent:]
	number := groupThousands(whole)
	if f.exponent > 0 {
		number += "." + frac
	}
	symbol := f.symbolEN
	if lang == langZH {
		symbol = f.symbolZH
	}
	if symbol == "" {
		if m.Currency == "" {
			return sign + number
		}
		return sign + number + " " + m.Currency
	}
	return sign + symbol + number
}

func groupThousands(whole string) string {
	if len(whole) <= 3 {
		return whole
	}
	var b strings.Builder
	head := len(whole) % 3
	if head > 0 {
		b.WriteString(whole[:head])
	}
	for i := head; i < len(whole); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(whole[i : i+3])
	}
	return b.String()
}

// errAmount is returned for an amount a reviewer typed that cannot be read.
var errAmount = errors.New("amount must be a positive number such as 1299.00")

// parseAmount reads an amount typed by a reviewer in major units ("1,299.50", "¥499",
// "12") into minor units of the currency. More fraction digits than the currency has, signs
// and anything that is not a number are refused rather than rounded: money is never guessed.
func parseAmount(s, currency string) (int64, error) {
	f := currencyOf(currency)
	s = strings.TrimSpace(s)
	for _, sym := range []string{f.symbolEN, f.symbolZH, currency, "¥", "￥"} {
		if sym != "" {
			s = strings.TrimSpace(strings.TrimPrefix(s, sym))
			s = strings.TrimSpace(strings.TrimSuffix(s, sym))
		}
	}
	s = strings.ReplaceAll(s, ",", "")
	s = strings.ReplaceAll(s, "，", "")
	if s == "" {
		return 0, errAmount
	}
	whole, frac, hasPoint := strings.Cut(s, ".")
	if whole == "" && frac == "" || hasPoint && frac == "" && whole == "" {
		return 0, errAmount
	}
	if len(frac) > f.exponent {
		return 0, errAmount
	}
	for _, part := range []string{whole, frac} {
		for _, r := range part {
			if r < '0' || r > '9' {
				return 0, errAmount
			}
		}
	}
	for len(frac) < f.exponent {
		frac += "0"
	}
	if whole == "" {
		whole = "0"
	}
	v, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil {
		return 0, errAmount
	}
	if v <= 0 {
		return 0, errAmount
	}
	return v, nil
}

// amountInput renders minor units as the plain major-unit number an input field holds.
func amountInput(m claim.Money) string {
	f := currencyOf(m.Currency)
	digits := strconv.FormatInt(m.Value, 10)
	if f.exponent == 0 || m.Value < 0 {
		return digits
	}
	for len(digits) <= f.exponent {
		digits = "0" + digits
	}
	return digits[:len(digits)-f.exponent] + "." + digits[len(digits)-f.exponent:]
}
