package console

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/refundguard/refundguard/forensics"
	"github.com/refundguard/refundguard/pkg/claim"
)

func TestBuildEvidence(t *testing.T) {
	dist := 4
	l := newLocale(langEN, time.UTC, time.Time{})
	report := func(r forensics.EvidenceReport) json.RawMessage {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	match := forensics.Finding{Code: "reference_match", Severity: "high", Reference: "ref-A", Distance: &dist, Transform: "mirror+crop"}
	edit := forensics.Finding{Code: "localized_edit", Severity: "high", Reference: "ref-B", Regions: []forensics.Region{{X: 1, Y: 2, W: 3, H: 4}}}
	tests := []struct {
		name  string
		ev    claim.Evidence
		check func(t *testing.T, v evidenceView)
	}{
		{"not analysed yet", claim.Evidence{ID: "e", Width: 10, Height: 20}, func(t *testing.T, v evidenceView) {
			if v.Analysed || v.ReportError != "" || v.Width != 10 {
				t.Errorf("%+v", v)
			}
		}},
		{"an unreadable report says so", claim.Evidence{ID: "e", Report: json.RawMessage(`{"findings": 7}`)}, func(t *testing.T, v evidenceView) {
			if v.ReportError != "The analysis report could not be read." {
				t.Errorf("ReportError %q", v.ReportError)
			}
		}},
		{"a file the engine could not analyse shows why", claim.Evidence{ID: "e", Report: report(forensics.EvidenceReport{Error: &forensics.Error{Code: "corrupt", Message: "truncated JPEG"}})}, func(t *testing.T, v evidenceView) {
			if !strings.Contains(v.ReportError, "truncated JPEG") {
				t.Errorf("ReportError %q", v.ReportError)
			}
		}},
		{"the report's oriented size wins over the stored one", claim.Evidence{ID: "e", Width: 4000, Height: 3000, Report: report(forensics.EvidenceReport{Width: 3000, Height: 4000})}, func(t *testing.T, v evidenceView) {
			if v.Width != 3000 || v.Height != 4000 {
				t.Errorf("size %dx%d", v.Width, v.Height)
			}
		}},
		{"the matched reference is shown with its transform", claim.Evidence{ID: "e", Report: report(forensics.EvidenceReport{Findings: []forensics.Finding{edit, match}})}, func(t *testing.T, v evidenceView) {
			if v.Reference == nil || v.Reference.ID != "ref-A" || v.Reference.Transform != "mirror+crop" || len(v.Regions) != 1 {
				t.Errorf("reference %+v regions %v", v.Reference, v.Regions)
			}
		}},
		{"an edit without a match still shows its reference", claim.Evidence{ID: "e", Report: report(forensics.EvidenceReport{Findings: []forensics.Finding{edit}})}, func(t *testing.T, v evidenceView) {
			if v.Reference == nil || v.Reference.ID != "ref-B" {
				t.Errorf("reference %+v", v.Reference)
			}
		}},
		{"error-level analysis regions are outlined, with no reference", claim.Evidence{ID: "e", Report: report(forensics.EvidenceReport{Findings: []forensics.Finding{
			{Code: "ela_anomaly", Severity: "medium", Regions: []forensics.Region{{X: 200, Y: 160, W: 160, H: 120}}}}})}, func(t *testing.T, v evidenceView) {
			if len(v.Regions) != 1 || v.Regions[0].X != 200 || v.Reference != nil {
				t.Errorf("regions %v reference %+v", v.Regions, v.Reference)
			}
		}},
		{"findings are ordered by severity", claim.Evidence{ID: "e", Report: report(forensics.EvidenceReport{Findings: []forensics.Finding{
			{Code: "recompressed", Severity: "low"}, {Code: "metadata_missing", Severity: "info"}, match}})}, func(t *testing.T, v evidenceView) {
			var got []string
			for _, f := range v.Findings {
				got = append(got, f.Severity)
			}
			if strings.Join(got, ",") != "high,low,info" {
				t.Errorf("order %v", got)
			}
		}},
		{"a finding code newer than the console shows the engine's message", claim.Evidence{ID: "e", Report: report(forensics.EvidenceReport{Findings: []forensics.Finding{
			{Code: "deepfake_face", Severity: "high", Message: "a face was swapped"}}})}, func(t *testing.T, v evidenceView) {
			if v.Findings[0].Title != "deepfake_face" || v.Findings[0].Text != "a face was swapped" {
				t.Errorf("%+v", v.Findings[0])
			}
		}},
		{"AI labels and C2PA claims reach the metadata table", claim.Evidence{ID: "e", Report: report(forensics.EvidenceReport{Metadata: &forensics.Metadata{
			AIGC: &forensics.AIGCLabel{Label: "1", ContentProducer: "Doubao"},
			C2PA: &forensics.C2PAManifest{ClaimGenerator: "ChatGPT", SoftwareAgents: []string{"GPT-4o"}, AIGenerated: true, Manifests: 1},
		}})}, func(t *testing.T, v evidenceView) {
			var rows []string
			for _, r := range v.Meta {
				rows = append(rows, r.Label+": "+r.Value)
			}
			all := strings.Join(rows, "\n")
			for _, want := range []string{"AI label (GB 45438-2025): AI-generated — made by Doubao", "C2PA manifest: written by ChatGPT; tools: GPT-4o; declares AI generation", "Camera: none recorded"} {
				if !strings.Contains(all, want) {
					t.Errorf("metadata lacks %q:\n%s", want, all)
				}
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check(t, buildEvidence(l, tt.ev, 1, claim.Order{}))
		})
	}
}

func TestExplainFindingInBothLanguages(t *testing.T) {
	frac := 0.042
	f := forensics.Finding{Code: "localized_edit", Severity: "high", Regions: make([]forensics.Region, 3), ChangedFraction: &frac}
	for lang, want := range map[string]string{
		langEN: "3 area(s) of the photo differ from the merchant's original (4.2% of the picture)",
		langZH: "照片中有 3 处与商家原图不同（占画面 4.2%）",
	} {
		got := explainFinding(newLocale(lang, time.UTC, time.Time{}), f, nil)
		if !strings.HasPrefix(got.Text, want) {
			t.Errorf("%s: %q", lang, got.Text)
		}
	}
	ela := forensics.Finding{Code: "ela_anomaly", Severity: "medium", Regions: make([]forensics.Region, 2)}
	for lang, want := range map[string]string{
		langEN: "2 area(s) were compressed differently",
		langZH: "画面中有 2 处区域的压缩痕迹",
	} {
		got := explainFinding(newLocale(lang, time.UTC, time.Time{}), ela, nil)
		if !strings.HasPrefix(got.Text, want) || strings.Contains(got.Text, "%!") {
			t.Errorf("%s: %q", lang, got.Text)
		}
	}
}

func TestRuleViews(t *testing.T) {
	got := ruleViews([]claim.RuleHit{
		{ID: "small_clean", Matched: false, Route: claim.RouteApprove, Inputs: map[string]any{"claim.amount": 459900.0}},
		{ID: "stolen_photo", Matched: true, Route: claim.RouteReviewPriority, Inputs: map[string]any{"z": []any{"a", "b"}, "a": true}},
	})
	if got[0].ID != "stolen_photo" || !got[0].Matched {
		t.Errorf("matched rules do not come first: %+v", got)
	}
	if kv := got[0].Inputs; len(kv) != 2 || kv[0] != (keyValue{"a", "true"}) || kv[1] != (keyValue{"z", `["a","b"]`}) {
		t.Errorf("inputs %+v", kv)
	}
	if got[1].Inputs[0].Value != "459900" {
		t.Errorf("number shown as %q", got[1].Inputs[0].Value)
	}
}
