package rules

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestSummarizeEvidence(t *testing.T) {
	tests := []struct {
		name    string
		reports []EvidenceReport
		want    EvidenceFacts
	}{
		{
			name:    "no photos",
			reports: nil,
			want:    EvidenceFacts{Codes: []string{}, CodeCounts: map[string]int{}, MinReferenceDistance: -1},
		},
		{
			name:    "clean photos",
			reports: []EvidenceReport{{Risk: 3}, {Risk: 0, Findings: []Finding{{Code: "recompressed", Severity: "low"}}}},
			want: EvidenceFacts{Count: 2, UsableCount: 2, Codes: []string{"recompressed"}, CodeCounts: map[string]int{"recompressed": 1},
				MaxSeverity: "low", MinReferenceDistance: -1, MaxRisk: 3},
		},
		{
			name: "painted merchant photo and a second reference match",
			reports: []EvidenceReport{
				{Risk: 95, Findings: []Finding{
					{Code: "reference_match", Severity: "high", Distance: ptr(9)},
					{Code: "localized_edit", Severity: "high", ChangedFraction: ptr(0.04)},
					{Code: "localized_edit", Severity: "medium", ChangedFraction: ptr(0.11)},
				}},
				{Risk: 70, Findings: []Finding{{Code: "reference_match", Severity: "high", Distance: ptr(4)}}},
			},
			want: EvidenceFacts{Count: 2, UsableCount: 2, Codes: []string{"localized_edit", "reference_match"},
				CodeCounts: map[string]int{"reference_match": 2, "localized_edit": 2}, MaxSeverity: "high",
				MinReferenceDistance: 4, MaxChangedFraction: 0.11, MaxRisk: 95},
		},
		{
			name: "labels, conflicts and duplicates count photos, not findings",
			reports: []EvidenceReport{
				{Risk: 60, Findings: []Finding{
					{Code: "ai_generated_label", Severity: "high"},
					{Code: "ai_generated_label", Severity: "high"},
					{Code: "capture_time_conflict", Severity: "medium"},
					{Code: "duplicate_evidence", Severity: "high"},
					{Code: "duplicate_evidence", Severity: "high"},
				}},
				{Risk: 20, Findings: []Finding{{Code: "capture_time_conflict", Severity: "medium"}}},
			},
			want: EvidenceFacts{Count: 2, UsableCount: 2, Codes: []string{"ai_generated_label", "capture_time_conflict", "duplicate_evidence"},
				CodeCounts:  map[string]int{"ai_generated_label": 2, "capture_time_conflict": 2, "duplicate_evidence": 2},
				MaxSeverity: "high", MinReferenceDistance: -1, AILabeled: true, CaptureTimeConflicts: 2, Duplicates: 1, MaxRisk: 60},
		},
		{
			name: "content credentials are an AI label only when they declare AI generation",
			reports: []EvidenceReport{
				{Findings: []Finding{{Code: "content_credentials", Severity: "info", Details: map[string]any{"ai_generated": false}}}},
			},
			want: EvidenceFacts{Count: 1, UsableCount: 1, Codes: []string{"content_credentials"}, CodeCounts: map[string]int{"content_credentials": 1},
				MaxSeverity: "info", MinReferenceDistance: -1},
		},
		{
			name: "failed and low-quality photos are not usable",
			reports: []EvidenceReport{
				{Error: &ReportError{Code: "unsupported_media", Message: "not an image"}},
				{Risk: 5, Findings: []Finding{{Code: "low_quality", Severity: "low"}}},
				{Risk: 1},
			},
			want: EvidenceFacts{Count: 3, UsableCount: 1, Failed: 1, Codes: []string{"low_quality"}, CodeCounts: map[string]int{"low_quality": 1},
				MaxSeverity: "low", MinReferenceDistance: -1, MaxRisk: 5},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SummarizeEvidence(tt.reports); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestEvidenceReportReadsTheForensicsJSON checks the report contract (DESIGN.md §2) decodes
// into EvidenceReport as the service stores it.
func TestEvidenceReportReadsTheForensicsJSON(t *testing.T) {
	const doc = `{"file": "claim.jpg", "sha256": "ab", "format": "jpeg", "width": 3000, "height": 4000,
	 "hashes": {"pdq": "00", "pdq_quality": 91, "phash": "00", "dhash": "00"},
	 "metadata": {"make": "Apple"},
	 "findings": [
	   {"code": "reference_match", "severity": "high", "confidence": 0.97, "message": "m", "reference": "ref.jpg", "distance": 12, "transform": "identity"},
	   {"code": "localized_edit", "severity": "high", "confidence": 0.9, "message": "m", "reference": "ref.jpg",
	    "regions": [{"x": 120, "y": 80, "w": 300, "h": 140}], "changed_fraction": 0.04}],
	 "risk": 87}`
	var r EvidenceReport
	if err := json.Unmarshal([]byte(doc), &r); err != nil {
		t.Fatal(err)
	}
	e := SummarizeEvidence([]EvidenceReport{r})
	if e.MinReferenceDistance != 12 || e.MaxChangedFraction != 0.04 || e.MaxRisk != 87 || e.CodeCounts["localized_edit"] != 1 {
		t.Errorf("summary %+v", e)
	}
}
