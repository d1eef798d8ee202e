package forensics

import "testing"

func TestRisk(t *testing.T) {
	tests := []struct {
		name     string
		findings []Finding
		want     int
	}{
		{"no findings is no risk", nil, 0},
		{"info findings never raise risk", []Finding{{Severity: SeverityInfo, Confidence: 1}}, 0},
		{"one certain high finding", []Finding{{Severity: SeverityHigh, Confidence: 1}}, 60},
		{"confidence scales the weight", []Finding{{Severity: SeverityHigh, Confidence: 0.5}}, 30},
		{"independent findings accumulate", []Finding{{Severity: SeverityHigh, Confidence: 1}, {Severity: SeverityHigh, Confidence: 1}}, 84},
		{"many low findings stay below one high", []Finding{{Severity: SeverityLow, Confidence: 1}, {Severity: SeverityLow, Confidence: 1}, {Severity: SeverityLow, Confidence: 1}}, 27},
		{"out-of-range confidence is clamped", []Finding{{Severity: SeverityMedium, Confidence: 7}}, 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Risk(tt.findings); got != tt.want {
				t.Errorf("Risk() = %d, want %d", got, tt.want)
			}
		})
	}
}
