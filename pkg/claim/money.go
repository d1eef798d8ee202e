package claim

import (
	"fmt"
	"strings"
)

// Money is an amount in the currency's minor units (fen for CNY). Never a float.
type Money struct {
	Value    int64  `json:"value"`
	Currency string `json:"currency"`
}

// NewMoney validates an amount: non-negative, ISO 4217 alphabetic code.
func NewMoney(value int64, currency string) (Money, error) {
	if value < 0 {
		return Money{}, FieldError("amount.value", "amount must not be negative")
	}
	if len(currency) != 3 || strings.ToUpper(currency) != currency || strings.IndexFunc(currency, func(r rune) bool { return r < 'A' || r > 'Z' }) >= 0 {
		return Money{}, FieldError("amount.currency", "currency must be a three-letter ISO 4217 code such as CNY")
	}
	return Money{Value: value, Currency: currency}, nil
}

// String formats as "1299.00 CNY"; presentation layers localise further.
func (m Money) String() string {
	sign := ""
	v := m.Value
	if v < 0 {
		sign, v = "-", -v
	}
	return fmt.Sprintf("%s%d.%02d %s", sign, v/100, v%100, m.Currency)
}
