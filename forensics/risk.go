package forensics

import "math"

// severityWeight is how much one finding of a severity, at full confidence, moves the
// risk towards 100. Info findings describe and never raise risk.
var severityWeight = map[Severity]float64{
	SeverityInfo:   0,
	SeverityLow:    0.10,
	SeverityMedium: 0.30,
	SeverityHigh:   0.60,
}

// Risk combines findings into a 0-100 score: independent evidence accumulates
// (1 - Π(1 - wᵢ·cᵢ)), so two medium findings weigh more than one, no pile of low findings
// reaches the level of a single certain high one quickly, and the score is explained by the
// findings alone.
func Risk(findings []Finding) int {
	keep := 1.0
	for _, f := range findings {
		c := math.Max(0, math.Min(1, f.Confidence))
		keep *= 1 - severityWeight[f.Severity]*c
	}
	return int(math.Round(100 * (1 - keep)))
}
