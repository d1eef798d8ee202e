package rules

import (
	"slices"
)

// Finding codes the evidence summary gives meaning to (the forensics report contract,
// DESIGN.md §2). Other codes are counted under their own name.
const (
	codeReferenceMatch      = "reference_match"
	codeLocalizedEdit       = "localized_edit"
	codeDuplicateEvidence   = "duplicate_evidence"
	codeAIGeneratedLabel    = "ai_generated_label"
	codeContentCredentials  = "content_credentials"
	codeCaptureTimeConflict = "capture_time_conflict"
	codeLowQuality          = "low_quality"
)

// EvidenceReport is the part of one photo's forensic report (the per-evidence JSON of
// `refundguard analyze --json`) that routing reads. The service can unmarshal a stored
// report straight into it; this package does not import forensics so both stay leaves.
type EvidenceReport struct {
	Findings []Finding    `json:"findings" yaml:"findings"`
	Risk     int          `json:"risk" yaml:"risk"`
	Error    *ReportError `json:"error,omitempty" yaml:"error"`
}

// ReportError marks a photo that could not be analysed.
type ReportError struct {
	Code    string `json:"code" yaml:"code"`
	Message string `json:"message" yaml:"message"`
}

// Finding is one forensic observation, as in the report contract.
type Finding struct {
	Code            string         `json:"code" yaml:"code"`
	Severity        string         `json:"severity" yaml:"severity"`
	Distance        *int           `json:"distance,omitempty" yaml:"distance"`
	ChangedFraction *float64       `json:"changed_fraction,omitempty" yaml:"changed_fraction"`
	Details         map[string]any `json:"details,omitempty" yaml:"details"`
}

var severityRank = map[string]int{"": 0, "info": 1, "low": 2, "medium": 3, "high": 4}

// SummarizeEvidence folds the reports of the buyer's evidence photos into the facts rules
// read. Pass the buyer's photos only (not the merchant's counter-evidence), in any order.
func SummarizeEvidence(reports []EvidenceReport) EvidenceFacts {
	e := EvidenceFacts{Count: len(reports), CodeCounts: map[string]int{}, MinReferenceDistance: -1, Codes: []string{}}
	for _, r := range reports {
		if r.Error != nil {
			e.Failed++
			continue
		}
		e.MaxRisk = max(e.MaxRisk, r.Risk)
		usable, labeled, conflict, duplicate := true, false, false, false
		for _, f := range r.Findings {
			e.CodeCounts[f.Code]++
			if severityRank[f.Severity] > severityRank[e.MaxSeverity] {
				e.MaxSeverity = f.Severity
			}
			switch f.Code {
			case codeReferenceMatch:
				if f.Distance != nil && (e.MinReferenceDistance < 0 || *f.Distance < e.MinReferenceDistance) {
					e.MinReferenceDistance = *f.Distance
				}
			case codeLowQuality:
				usable = false
			case codeAIGeneratedLabel:
				labeled = true
			case codeContentCredentials:
				// Content credentials alone are no AI label (cameras sign photos too); they
				// count when the manifest declares AI generation.
				if ai, _ := f.Details["ai_generated"].(bool); ai {
					labeled = true
				}
			case codeCaptureTimeConflict:
				conflict = true
			case codeDuplicateEvidence:
				duplicate = true
			}
			if f.ChangedFraction != nil && *f.ChangedFraction > e.MaxChangedFraction {
				e.MaxChangedFraction = *f.ChangedFraction
			}
		}
		if usable {
			e.UsableCount++
		}
		if labeled {
			e.AILabeled = true
		}
		if conflict {
			e.CaptureTimeConflicts++
		}
		if duplicate {
			e.Duplicates++
		}
	}
	for c := range e.CodeCounts {
		e.Codes = append(e.Codes, c)
	}
	slices.Sort(e.Codes)
	return e
}
