// Package forensics analyses refund-claim evidence photos against a merchant's reference
// photos: decoding with EXIF orientation, perceptual hashes (PDQ, pHash, dHash), reference
// matching under re-saves, crops, flips and rotations, localised edits after alignment, and
// metadata (EXIF, XMP, PNG text, C2PA, JPEG quantisation). It imports no project package.
//
// The JSON produced here is a public contract (DESIGN.md §2): field names and finding codes
// are stable; add new ones, never rename.
//
// Metadata: ReadMetadata reads a file's EXIF, XMP, PNG text chunks, C2PA manifests and JPEG
// quantisation tables without decoding pixels (microseconds per file), tolerating damaged
// blocks; MetadataFindings turns the result, the decoded Raster (for the EXIF thumbnail
// comparison) and the order's Times into findings. C2PA signatures and hash bindings are not
// verified: a manifest reports what its writer claims. Orientation reads just the EXIF
// orientation for the decoder.
//
// Decoding and hashes: Decode (or a Decoder with its Limits) sniffs JPEG, PNG, WebP or GIF
// from the content, refuses files over the byte or pixel limit from their header, applies
// the EXIF orientation and returns a Decoded: format, displayed size and Work, a Raster of
// the displayed picture with luma and chroma whose long side is at most WorkSide, built
// straight from the decoder's planes. Every pixel stage works on Work. ComputeHashes(d) is
// the one path to PDQ (with quality and the eight dihedral variants), pHash and dHash for
// stored and query photos alike; HashSet.Report gives the report's hex form, PDQHash.Distance,
// NearestDihedral and Hamming64 compare them. HEIC/HEIF and AVIF are refused with
// unsupported_format asking for a JPEG. With cgo, JPEGs decode through libjpeg-turbo with
// DCT-domain scaling (jpeg_turbo.go); CGO_ENABLED=0 or -tags nolibjpeg use image/jpeg only.
package forensics

import "time"

// ReportVersion is the version of the JSON report format.
const ReportVersion = 1

// Report is the document `refundguard analyze --json` prints.
type Report struct {
	Version  int              `json:"version"`
	Evidence []EvidenceReport `json:"evidence"`
	Risk     int              `json:"risk"`
}

// EvidenceReport is the analysis of one evidence photo. When the file could not be
// analysed, Error is set and the other fields hold whatever was learnt before the failure.
type EvidenceReport struct {
	File     string    `json:"file"`
	SHA256   string    `json:"sha256,omitempty"`
	Format   string    `json:"format,omitempty"`
	Width    int       `json:"width,omitempty"`
	Height   int       `json:"height,omitempty"`
	Hashes   *Hashes   `json:"hashes,omitempty"`
	Metadata *Metadata `json:"metadata,omitempty"`
	Findings []Finding `json:"findings"`
	Risk     int       `json:"risk"`
	Error    *Error    `json:"error,omitempty"`
}

// Hashes are an image's perceptual hashes in hex.
type Hashes struct {
	PDQ        string `json:"pdq"`
	PDQQuality int    `json:"pdq_quality"`
	PHash      string `json:"phash"`
	DHash      string `json:"dhash"`
}

// GPS is a position in decimal degrees (south and west negative).
type GPS struct {
	Lat float64 `json:"lat"`
	Lon float64 `json:"lon"`
}

// Metadata is what the file says about itself. Absent facts are omitted.
type Metadata struct {
	Make         string     `json:"make,omitempty"`
	Model        string     `json:"model,omitempty"`
	Software     string     `json:"software,omitempty"`
	CapturedAt   *time.Time `json:"captured_at,omitempty"` // with the EXIF offset when the file gives one
	Orientation  int        `json:"orientation,omitempty"`
	HasThumbnail bool       `json:"has_thumbnail,omitempty"`
	GPS          *GPS       `json:"gps,omitempty"`
	JPEGQuality  int        `json:"jpeg_quality,omitempty"` // estimated from the quantisation tables
	// Fields beyond the DESIGN.md example; all optional.
	CreatorTool       string            `json:"creator_tool,omitempty"`
	DigitalSourceType string            `json:"digital_source_type,omitempty"`
	EditHistory       []string          `json:"edit_history,omitempty"`
	AIGC              *AIGCLabel        `json:"aigc,omitempty"`
	C2PA              *C2PAManifest     `json:"c2pa,omitempty"`
	Generator         map[string]string `json:"generator,omitempty"` // e.g. PNG "parameters", "prompt", "workflow" (truncated)
	// CapturedAtNoOffset is true when the file gives no UTC offset for the capture time:
	// captured_at is then the camera's wall-clock time written as if it were UTC.
	CapturedAtNoOffset bool `json:"captured_at_no_offset,omitempty"`
	Progressive        bool `json:"progressive,omitempty"` // progressive JPEG
	// Warnings are structural problems met while reading the metadata (bad offsets, loops,
	// CRC errors); the facts above are what could still be read.
	Warnings []string `json:"warnings,omitempty"`
}

// AIGCLabel is the GB 45438-2025 implicit label (XMP TC260:AIGC).
type AIGCLabel struct {
	Label             string `json:"label"` // "1" generated, "2" possibly, "3" suspected
	ContentProducer   string `json:"content_producer,omitempty"`
	ProduceID         string `json:"produce_id,omitempty"`
	ContentPropagator string `json:"content_propagator,omitempty"`
	PropagateID       string `json:"propagate_id,omitempty"`
	ReservedCode1     string `json:"reserved_code1,omitempty"`
	ReservedCode2     string `json:"reserved_code2,omitempty"`
	Source            string `json:"source,omitempty"` // where it was found: "xmp", "png:AIGC", "exif:UserComment"...
}

// C2PAManifest summarises an embedded C2PA manifest store. Signatures are not verified.
type C2PAManifest struct {
	ClaimGenerator     string   `json:"claim_generator,omitempty"`
	SoftwareAgents     []string `json:"software_agents,omitempty"`
	Actions            []string `json:"actions,omitempty"`
	DigitalSourceTypes []string `json:"digital_source_types,omitempty"`
	AIGenerated        bool     `json:"ai_generated"`
	Manifests          int      `json:"manifests"`
	ActiveManifest     string   `json:"active_manifest,omitempty"` // label of the last (active) manifest
	// SignatureVerified is always false: manifests are read, their signatures and hashes
	// are not checked, so everything above is what the writer claims.
	SignatureVerified bool `json:"signature_verified"`
}

// Severity grades a finding.
type Severity string

const (
	SeverityInfo   Severity = "info"
	SeverityLow    Severity = "low"
	SeverityMedium Severity = "medium"
	SeverityHigh   Severity = "high"
)

// Finding codes (DESIGN.md §2). Stable: add new ones, never rename.
const (
	CodeReferenceMatch      = "reference_match"
	CodeLocalizedEdit       = "localized_edit"
	CodeDuplicateEvidence   = "duplicate_evidence"
	CodeEditingSoftware     = "editing_software"
	CodeAIGeneratedLabel    = "ai_generated_label"
	CodeContentCredentials  = "content_credentials"
	CodeCaptureTimeConflict = "capture_time_conflict"
	CodeThumbnailMismatch   = "thumbnail_mismatch"
	CodeMetadataMissing     = "metadata_missing"
	CodeRecompressed        = "recompressed"
	CodeELAAnomaly          = "ela_anomaly"
	CodeScreenshot          = "screenshot"
	CodeLowQuality          = "low_quality"
)

// Region is a rectangle in the evidence image's pixel coordinates, after EXIF orientation.
type Region struct {
	X int `json:"x"`
	Y int `json:"y"`
	W int `json:"w"`
	H int `json:"h"`
}

// Finding is one observation about an evidence photo.
type Finding struct {
	Code            string         `json:"code"`
	Severity        Severity       `json:"severity"`
	Confidence      float64        `json:"confidence"`
	Message         string         `json:"message"`
	Reference       string         `json:"reference,omitempty"`
	Distance        *int           `json:"distance,omitempty"`
	Transform       string         `json:"transform,omitempty"`
	Regions         []Region       `json:"regions,omitempty"`
	ChangedFraction *float64       `json:"changed_fraction,omitempty"`
	Details         map[string]any `json:"details,omitempty"`
}

// Times are the order's milestones a capture time is checked against. Zero means unknown.
type Times struct {
	PlacedAt    time.Time
	ShippedAt   time.Time
	DeliveredAt time.Time
}
