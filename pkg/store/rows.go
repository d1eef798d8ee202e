package store

import (
	"encoding/json"
	"time"

	"github.com/refundguard/refundguard/pkg/claim"
)

// Row structs are the database's shape; they never leave this package. Converters turn them
// into pkg/claim values and back. Times are stored in UTC at microsecond precision (what
// PostgreSQL keeps), so a value reads back exactly as written in either dialect; in SQLite
// the driver's UTC text form sorts in time order, so comparisons in SQL hold there too.
//
// Tables whose rows are listed in creation order (claims, evidence) have an integer Seq
// primary key for stable ordering and cursors, and the public string ID as a unique key.

type keyRow struct {
	ID        string     `gorm:"primaryKey;size:64"`
	Role      string     `gorm:"size:16;not null"`
	Subject   string     `gorm:"size:200;not null;index"`
	Hash      string     `gorm:"size:64;not null;uniqueIndex"`
	CreatedAt time.Time  `gorm:"not null"`
	RevokedAt *time.Time ``
}

func (keyRow) TableName() string { return "api_keys" }

type orderRow struct {
	ID          string     `gorm:"primaryKey;size:64"`
	MerchantID  string     `gorm:"size:200;not null;uniqueIndex:orders_merchant_external,priority:1"`
	ExternalID  string     `gorm:"size:200;not null;uniqueIndex:orders_merchant_external,priority:2"`
	BuyerID     string     `gorm:"size:200;not null;index"`
	AmountValue int64      `gorm:"not null"`
	Currency    string     `gorm:"size:3;not null"`
	Items       string     `gorm:"type:text;not null"` // JSON array of claim.Item
	PlacedAt    time.Time  `gorm:"not null"`
	ShippedAt   *time.Time ``
	DeliveredAt *time.Time ``
	CreatedAt   time.Time  `gorm:"not null"`
	UpdatedAt   time.Time  `gorm:"not null"`
}

func (orderRow) TableName() string { return "orders" }

type referenceImageRow struct {
	ID           string    `gorm:"primaryKey;size:64"`
	MerchantID   string    `gorm:"size:200;not null;index:reference_images_merchant_sku,priority:1"`
	SKU          string    `gorm:"size:200;not null;index:reference_images_merchant_sku,priority:2"`
	OrderID      *string   `gorm:"size:64;index"`
	Order        *orderRow `gorm:"foreignKey:OrderID;references:ID;constraint:OnDelete:RESTRICT"`
	Kind         string    `gorm:"size:16;not null"`
	PhotoColumns `gorm:"embedded"`
	CreatedAt    time.Time `gorm:"not null"`
}

// PhotoColumns are what Fingerprint computes once when a photo is stored, shared by reference
// images and evidence. (Exported only because GORM embeds exported structs alone; it is not
// part of the package's API.)
type PhotoColumns struct {
	SHA256     string `gorm:"size:64;not null;index"`
	Format     string `gorm:"size:16;not null"`
	Width      int    `gorm:"not null"`
	Height     int    `gorm:"not null"`
	Size       int64  `gorm:"not null"`
	PDQ        string `gorm:"size:64;not null"`
	PDQQuality int    `gorm:"not null"`
	PHash      string `gorm:"size:16;not null"`
	DHash      string `gorm:"size:16;not null"`
}

func photoToCols(sha, format string, w, h int, size int64, hs claim.Hashes) PhotoColumns {
	return PhotoColumns{SHA256: sha, Format: format, Width: w, Height: h, Size: size,
		PDQ: hs.PDQ, PDQQuality: hs.PDQQuality, PHash: hs.PHash, DHash: hs.DHash}
}

func (p PhotoColumns) hashes() claim.Hashes {
	return claim.Hashes{PDQ: p.PDQ, PDQQuality: p.PDQQuality, PHash: p.PHash, DHash: p.DHash}
}

func (referenceImageRow) TableName() string { return "reference_images" }

type claimRow struct {
	// Listings filter by party and page by Seq, hence the (party, seq) indexes.
	Seq              int64      `gorm:"primaryKey;autoIncrement;index:claims_buyer_seq,priority:2;index:claims_merchant_seq,priority:2"`
	ID               string     `gorm:"size:64;not null;uniqueIndex"`
	OrderID          string     `gorm:"size:64;not null;index"`
	Order            *orderRow  `gorm:"foreignKey:OrderID;references:ID;constraint:OnDelete:RESTRICT"`
	BuyerID          string     `gorm:"size:200;not null;uniqueIndex:claims_buyer_idempotency,priority:1;index:claims_buyer_seq,priority:1"`
	IdempotencyKey   *string    `gorm:"size:255;uniqueIndex:claims_buyer_idempotency,priority:2"` // NULL when absent: NULLs never collide
	MerchantID       string     `gorm:"size:200;not null;index:claims_merchant_seq,priority:1"`
	Reason           string     `gorm:"size:32;not null"`
	Description      string     `gorm:"type:text;not null"`
	AmountValue      int64      `gorm:"not null"`
	Currency         string     `gorm:"size:3;not null"`
	RefundType       string     `gorm:"size:32;not null"`
	Status           string     `gorm:"size:32;not null;index"`
	Risk             int        `gorm:"not null"`
	MerchantDeadline *time.Time ``
	BuyerDeadline    *time.Time ``
	AppealDeadline   *time.Time ``
	ApprovedValue    *int64     ``
	RequestHash      string     `gorm:"size:64;not null"`
	CreatedAt        time.Time  `gorm:"not null"`
	UpdatedAt        time.Time  `gorm:"not null"`
	// The ruling in force (migration 2): the buyer's record reads these.
	Outcome    string     `gorm:"size:32;not null;default:''"`
	ReasonCode string     `gorm:"size:64;not null;default:''"`
	DecidedAt  *time.Time ``
}

func (claimRow) TableName() string { return "claims" }

type evidenceRow struct {
	Seq          int64     `gorm:"primaryKey;autoIncrement"`
	ID           string    `gorm:"size:64;not null;uniqueIndex"`
	ClaimID      string    `gorm:"size:64;not null;index"`
	Claim        *claimRow `gorm:"foreignKey:ClaimID;references:ID;constraint:OnDelete:RESTRICT"`
	Source       string    `gorm:"size:16;not null"`
	PhotoColumns `gorm:"embedded"`
	Report       string     `gorm:"type:text;not null"` // forensics JSON; empty until analysed
	HeatmapSHA   string     `gorm:"size:64;not null"`
	Risk         int        `gorm:"not null"`
	AnalyzedAt   *time.Time ``
	CreatedAt    time.Time  `gorm:"not null"`
}

func (evidenceRow) TableName() string { return "evidence" }

type responseRow struct {
	ID          string    `gorm:"primaryKey;size:64"`
	ClaimID     string    `gorm:"size:64;not null;index"`
	Claim       *claimRow `gorm:"foreignKey:ClaimID;references:ID;constraint:OnDelete:RESTRICT"`
	MerchantID  string    `gorm:"size:200;not null"`
	Statement   string    `gorm:"type:text;not null"`
	EvidenceIDs string    `gorm:"type:text;not null"` // JSON array
	CreatedAt   time.Time `gorm:"not null"`
}

func (responseRow) TableName() string { return "responses" }

type jobRow struct {
	ID             string     `gorm:"primaryKey;size:64"`
	ClaimID        string     `gorm:"size:64;not null;uniqueIndex"` // one job per claim covers all its pending evidence
	Claim          *claimRow  `gorm:"foreignKey:ClaimID;references:ID;constraint:OnDelete:RESTRICT"`
	Attempts       int        `gorm:"not null"`
	LeaseOwner     string     `gorm:"size:200;not null"`
	LeaseToken     string     `gorm:"size:64;not null"`
	LeaseExpiresAt *time.Time ``
	AvailableAt    time.Time  `gorm:"not null;index"`
	Failed         bool       `gorm:"not null"`
	LastError      string     `gorm:"type:text;not null"`
	CreatedAt      time.Time  `gorm:"not null"`
}

func (jobRow) TableName() string { return "analysis_jobs" }

type auditRow struct {
	Seq      int64     `gorm:"primaryKey;autoIncrement:false"` // assigned under the chain lock: previous + 1
	Time     time.Time `gorm:"not null"`
	Actor    string    `gorm:"size:200;not null"`
	Action   string    `gorm:"size:64;not null"`
	Entity   string    `gorm:"size:32;not null;index:audit_events_entity,priority:1"`
	EntityID string    `gorm:"size:255;not null;index:audit_events_entity,priority:2"`
	Before   string    `gorm:"type:text;not null"`
	After    string    `gorm:"type:text;not null"`
	PrevHash string    `gorm:"size:64;not null"`
	Hash     string    `gorm:"size:64;not null"`
}

func (auditRow) TableName() string { return "audit_events" }

// stamp normalises a time for storage: UTC, microseconds.
func stamp(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func stampPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := stamp(*t)
	return &v
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := t.UTC()
	return &v
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func rawJSON(s string) json.RawMessage {
	if s == "" {
		return nil
	}
	return json.RawMessage(s)
}

func keyFromRow(r keyRow) claim.APIKey {
	return claim.APIKey{ID: r.ID, Role: claim.Role(r.Role), Subject: r.Subject, Hash: r.Hash,
		CreatedAt: r.CreatedAt.UTC(), RevokedAt: utcPtr(r.RevokedAt)}
}

func keyToRow(k claim.APIKey) keyRow {
	return keyRow{ID: k.ID, Role: string(k.Role), Subject: k.Subject, Hash: k.Hash,
		CreatedAt: stamp(k.CreatedAt), RevokedAt: stampPtr(k.RevokedAt)}
}

func orderFromRow(r orderRow) (claim.Order, error) {
	o := claim.Order{ID: r.ID, ExternalID: r.ExternalID, MerchantID: r.MerchantID, BuyerID: r.BuyerID,
		Amount:   claim.Money{Value: r.AmountValue, Currency: r.Currency},
		PlacedAt: r.PlacedAt.UTC(), ShippedAt: utcPtr(r.ShippedAt), DeliveredAt: utcPtr(r.DeliveredAt),
		CreatedAt: r.CreatedAt.UTC()}
	if err := json.Unmarshal([]byte(r.Items), &o.Items); err != nil {
		return claim.Order{}, internal(err, "order %s has unreadable items", r.ID)
	}
	return o, nil
}

func orderToRow(o claim.Order) (orderRow, error) {
	items := o.Items
	if items == nil {
		items = []claim.Item{}
	}
	b, err := json.Marshal(items)
	if err != nil {
		return orderRow{}, internal(err, "encoding order items")
	}
	return orderRow{ID: o.ID, MerchantID: o.MerchantID, ExternalID: o.ExternalID, BuyerID: o.BuyerID,
		AmountValue: o.Amount.Value, Currency: o.Amount.Currency, Items: string(b),
		PlacedAt: stamp(o.PlacedAt), ShippedAt: stampPtr(o.ShippedAt), DeliveredAt: stampPtr(o.DeliveredAt),
		CreatedAt: stamp(o.CreatedAt)}, nil
}

func imageFromRow(r referenceImageRow) claim.ReferenceImage {
	return claim.ReferenceImage{ID: r.ID, MerchantID: r.MerchantID, OrderID: deref(r.OrderID), SKU: r.SKU,
		Kind: claim.ImageKind(r.Kind), SHA256: r.SHA256, Format: r.Format, Width: r.Width, Height: r.Height,
		Size: r.Size, Hashes: r.hashes(), CreatedAt: r.CreatedAt.UTC()}
}

func imageToRow(i claim.ReferenceImage) referenceImageRow {
	return referenceImageRow{ID: i.ID, MerchantID: i.MerchantID, OrderID: strPtr(i.OrderID), SKU: i.SKU,
		Kind:         string(i.Kind),
		PhotoColumns: photoToCols(i.SHA256, i.Format, i.Width, i.Height, i.Size, i.Hashes),
		CreatedAt:    stamp(i.CreatedAt)}
}

func claimFromRow(r claimRow) claim.Claim {
	c := claim.Claim{ID: r.ID, OrderID: r.OrderID, BuyerID: r.BuyerID, MerchantID: r.MerchantID,
		Reason: claim.Reason(r.Reason), Description: r.Description,
		Amount:     claim.Money{Value: r.AmountValue, Currency: r.Currency},
		RefundType: claim.RefundType(r.RefundType), Status: claim.Status(r.Status), Risk: r.Risk,
		MerchantDeadline: utcPtr(r.MerchantDeadline), BuyerDeadline: utcPtr(r.BuyerDeadline),
		AppealDeadline: utcPtr(r.AppealDeadline), IdempotencyKey: deref(r.IdempotencyKey),
		RequestHash: r.RequestHash, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
		Outcome: claim.Outcome(r.Outcome), ReasonCode: r.ReasonCode, DecidedAt: utcPtr(r.DecidedAt)}
	if r.ApprovedValue != nil {
		c.ApprovedAmount = &claim.Money{Value: *r.ApprovedValue, Currency: r.Currency}
	}
	return c
}

func claimToRow(c claim.Claim) claimRow {
	r := claimRow{ID: c.ID, OrderID: c.OrderID, BuyerID: c.BuyerID, MerchantID: c.MerchantID,
		Reason: string(c.Reason), Description: c.Description, AmountValue: c.Amount.Value,
		Currency: c.Amount.Currency, RefundType: string(c.RefundType), Status: string(c.Status), Risk: c.Risk,
		MerchantDeadline: stampPtr(c.MerchantDeadline), BuyerDeadline: stampPtr(c.BuyerDeadline),
		AppealDeadline: stampPtr(c.AppealDeadline), IdempotencyKey: strPtr(c.IdempotencyKey),
		RequestHash: c.RequestHash, CreatedAt: stamp(c.CreatedAt), UpdatedAt: stamp(c.UpdatedAt),
		Outcome: string(c.Outcome), ReasonCode: c.ReasonCode, DecidedAt: stampPtr(c.DecidedAt)}
	if c.ApprovedAmount != nil {
		v := c.ApprovedAmount.Value
		r.ApprovedValue = &v
	}
	return r
}

func evidenceFromRow(r evidenceRow) claim.Evidence {
	return claim.Evidence{ID: r.ID, ClaimID: r.ClaimID, Source: claim.EvidenceSource(r.Source), SHA256: r.SHA256,
		Format: r.Format, Width: r.Width, Height: r.Height, Size: r.Size, Hashes: r.hashes(),
		Report: rawJSON(r.Report), HeatmapSHA: r.HeatmapSHA, Risk: r.Risk, CreatedAt: r.CreatedAt.UTC()}
}

func evidenceToRow(e claim.Evidence) evidenceRow {
	return evidenceRow{ID: e.ID, ClaimID: e.ClaimID, Source: string(e.Source),
		PhotoColumns: photoToCols(e.SHA256, e.Format, e.Width, e.Height, e.Size, e.Hashes),
		Report:       string(e.Report), HeatmapSHA: e.HeatmapSHA, Risk: e.Risk, CreatedAt: stamp(e.CreatedAt)}
}

func responseFromRow(r responseRow) (claim.Response, error) {
	out := claim.Response{ID: r.ID, ClaimID: r.ClaimID, MerchantID: r.MerchantID, Statement: r.Statement,
		CreatedAt: r.CreatedAt.UTC()}
	if err := json.Unmarshal([]byte(r.EvidenceIDs), &out.EvidenceIDs); err != nil {
		return claim.Response{}, internal(err, "response %s has unreadable evidence ids", r.ID)
	}
	return out, nil
}

func responseToRow(r claim.Response) (responseRow, error) {
	ids := r.EvidenceIDs
	if ids == nil {
		ids = []string{}
	}
	b, err := json.Marshal(ids)
	if err != nil {
		return responseRow{}, internal(err, "encoding response evidence ids")
	}
	return responseRow{ID: r.ID, ClaimID: r.ClaimID, MerchantID: r.MerchantID, Statement: r.Statement,
		EvidenceIDs: string(b), CreatedAt: stamp(r.CreatedAt)}, nil
}

func jobFromRow(r jobRow) claim.AnalysisJob {
	return claim.AnalysisJob{ID: r.ID, ClaimID: r.ClaimID, Attempts: r.Attempts, LeaseOwner: r.LeaseOwner,
		LeaseToken: r.LeaseToken, LeaseExpiresAt: utcPtr(r.LeaseExpiresAt), AvailableAt: r.AvailableAt.UTC(),
		Failed: r.Failed, LastError: r.LastError, CreatedAt: r.CreatedAt.UTC()}
}

func auditFromRow(r auditRow) claim.AuditEvent {
	return claim.AuditEvent{Seq: r.Seq, Time: r.Time.UTC(), Actor: r.Actor, Action: r.Action, Entity: r.Entity,
		EntityID: r.EntityID, Before: rawJSON(r.Before), After: rawJSON(r.After), PrevHash: r.PrevHash, Hash: r.Hash}
}

func auditToRow(e claim.AuditEvent) auditRow {
	return auditRow{Seq: e.Seq, Time: stamp(e.Time), Actor: e.Actor, Action: e.Action, Entity: e.Entity,
		EntityID: e.EntityID, Before: string(e.Before), After: string(e.After), PrevHash: e.PrevHash, Hash: e.Hash}
}

// ---- review (migration 2): decisions, review tasks, rule sets, buyer flags, appeals ----

type decisionRow struct {
	Seq            int64     `gorm:"primaryKey;autoIncrement"`
	ID             string    `gorm:"size:64;not null;uniqueIndex"`
	ClaimID        string    `gorm:"size:64;not null;index"`
	Claim          *claimRow `gorm:"foreignKey:ClaimID;references:ID;constraint:OnDelete:RESTRICT"`
	Route          string    `gorm:"size:32;not null"`
	Outcome        string    `gorm:"size:32;not null"`
	AmountValue    *int64    ``
	Currency       string    `gorm:"size:3;not null"`
	ReasonCode     string    `gorm:"size:64;not null"`
	Note           string    `gorm:"type:text;not null"`
	RuleSetVersion string    `gorm:"size:80;not null"`
	Rules          string    `gorm:"type:text;not null"` // JSON array of claim.RuleHit
	Facts          string    `gorm:"type:text;not null"` // JSON rules.Facts, for backtests
	Score          int       `gorm:"not null"`
	DecidedBy      string    `gorm:"size:200;not null"`
	TaskID         string    `gorm:"size:64;not null"`
	Pending        bool      `gorm:"not null"`
	CreatedAt      time.Time `gorm:"not null"`
}

func (decisionRow) TableName() string { return "decisions" }

// taskRow is a review task. The queue reads open (or lease-expired) tasks in priority order,
// hence the (state, priority) index.
//
// ExcludeReviewer is the column through which schema version 2 barred one reviewer. The bars
// are review_task_exclusions rows now (migration 3 copied the column there). The column is
// still written, with the most recent barred reviewer, and the lease query still honours it,
// so that during a rolling upgrade an instance of the previous release sharing the database
// and this one each keep the bars of tasks the other made.
type taskRow struct {
	Seq             int64      `gorm:"primaryKey;autoIncrement"`
	ID              string     `gorm:"size:64;not null;uniqueIndex"`
	ClaimID         string     `gorm:"size:64;not null;index"`
	Claim           *claimRow  `gorm:"foreignKey:ClaimID;references:ID;constraint:OnDelete:RESTRICT"`
	Kind            string     `gorm:"size:32;not null"`
	State           string     `gorm:"size:16;not null;index:review_tasks_queue,priority:1"`
	Priority        int        `gorm:"not null;index:review_tasks_queue,priority:2"`
	Route           string     `gorm:"size:32;not null"`
	Risk            int        `gorm:"not null"`
	LeasedBy        string     `gorm:"size:200;not null"`
	LeaseExpiresAt  *time.Time ``
	ExcludeReviewer string     `gorm:"size:200;not null"` // legacy: see above
	Deadline        *time.Time ``
	DecisionID      string     `gorm:"size:64;not null"`
	CreatedAt       time.Time  `gorm:"not null"`
	CompletedAt     *time.Time ``
}

func (taskRow) TableName() string { return "review_tasks" }

// taskExclusionRow bars one reviewer from one review task (four eyes, appeals). The lease
// query skips a task with a row for the asking reviewer; the primary key (task, reviewer)
// is the index it probes. Ordinal keeps the order the reviewers were barred in.
type taskExclusionRow struct {
	TaskID   string   `gorm:"primaryKey;size:64"`
	Task     *taskRow `gorm:"foreignKey:TaskID;references:ID;constraint:OnDelete:CASCADE"`
	Reviewer string   `gorm:"primaryKey;size:200"`
	Ordinal  int64    `gorm:"not null"`
}

func (taskExclusionRow) TableName() string { return "review_task_exclusions" }

type ruleSetRow struct {
	ID        string    `gorm:"primaryKey;size:64"`
	Version   string    `gorm:"size:80;not null;uniqueIndex"`
	Name      string    `gorm:"size:200;not null"`
	Revision  string    `gorm:"size:200;not null"`
	YAML      string    `gorm:"column:yaml;type:text;not null"`
	CreatedBy string    `gorm:"size:200;not null"`
	CreatedAt time.Time `gorm:"not null"`
	Active    bool      `gorm:"not null;index"`
}

func (ruleSetRow) TableName() string { return "rule_sets" }

type buyerFlagRow struct {
	Seq       int64     `gorm:"primaryKey;autoIncrement"`
	ID        string    `gorm:"size:64;not null;uniqueIndex"`
	BuyerID   string    `gorm:"size:200;not null;index"`
	Reason    string    `gorm:"type:text;not null"`
	By        string    `gorm:"column:flagged_by;size:200;not null"`
	CreatedAt time.Time `gorm:"not null"`
}

func (buyerFlagRow) TableName() string { return "buyer_flags" }

type appealRow struct {
	Seq         int64     `gorm:"primaryKey;autoIncrement"`
	ID          string    `gorm:"size:64;not null;uniqueIndex"`
	ClaimID     string    `gorm:"size:64;not null;index"`
	Claim       *claimRow `gorm:"foreignKey:ClaimID;references:ID;constraint:OnDelete:RESTRICT"`
	By          string    `gorm:"column:appealed_by;size:200;not null"`
	Role        string    `gorm:"size:16;not null"`
	Statement   string    `gorm:"type:text;not null"`
	EvidenceIDs string    `gorm:"type:text;not null"` // JSON array
	CreatedAt   time.Time `gorm:"not null"`
}

func (appealRow) TableName() string { return "appeals" }

func decisionToRow(d claim.Decision) (decisionRow, error) {
	hits := d.Rules
	if hits == nil {
		hits = []claim.RuleHit{}
	}
	rules, err := json.Marshal(hits)
	if err != nil {
		return decisionRow{}, internal(err, "encoding the rule trace")
	}
	r := decisionRow{ID: d.ID, ClaimID: d.ClaimID, Route: string(d.Route), Outcome: string(d.Outcome),
		ReasonCode: d.ReasonCode, Note: d.Note, RuleSetVersion: d.RuleSetVersion, Rules: string(rules),
		Facts: string(d.Facts), Score: d.Score, DecidedBy: d.DecidedBy, TaskID: d.TaskID, Pending: d.Pending,
		CreatedAt: stamp(d.CreatedAt)}
	if d.Amount != nil {
		v := d.Amount.Value
		r.AmountValue, r.Currency = &v, d.Amount.Currency
	}
	return r, nil
}

func decisionFromRow(r decisionRow) (claim.Decision, error) {
	d := claim.Decision{ID: r.ID, ClaimID: r.ClaimID, Route: claim.Route(r.Route), Outcome: claim.Outcome(r.Outcome),
		ReasonCode: r.ReasonCode, Note: r.Note, RuleSetVersion: r.RuleSetVersion, Facts: rawJSON(r.Facts),
		Score: r.Score, DecidedBy: r.DecidedBy, TaskID: r.TaskID, Pending: r.Pending, CreatedAt: r.CreatedAt.UTC()}
	if r.AmountValue != nil {
		d.Amount = &claim.Money{Value: *r.AmountValue, Currency: r.Currency}
	}
	if err := json.Unmarshal([]byte(r.Rules), &d.Rules); err != nil {
		return claim.Decision{}, internal(err, "decision %s has an unreadable rule trace", r.ID)
	}
	return d, nil
}

func taskToRow(t claim.ReviewTask) taskRow {
	row := taskRow{ID: t.ID, ClaimID: t.ClaimID, Kind: string(t.Kind), State: string(t.State), Priority: t.Priority,
		Route: string(t.Route), Risk: t.Risk, LeasedBy: t.LeasedBy, LeaseExpiresAt: stampPtr(t.LeaseExpiresAt),
		Deadline: stampPtr(t.Deadline), DecisionID: t.DecisionID,
		CreatedAt: stamp(t.CreatedAt), CompletedAt: stampPtr(t.CompletedAt)}
	if n := len(t.ExcludeReviewers); n > 0 {
		row.ExcludeReviewer = t.ExcludeReviewers[n-1]
	}
	return row
}

// taskFromRow converts a task row without its barred reviewers (see Store.tasksFromRows).
func taskFromRow(r taskRow) claim.ReviewTask {
	return claim.ReviewTask{ID: r.ID, ClaimID: r.ClaimID, Kind: claim.TaskKind(r.Kind), State: claim.TaskState(r.State),
		Priority: r.Priority, Route: claim.Route(r.Route), Risk: r.Risk, LeasedBy: r.LeasedBy,
		LeaseExpiresAt: utcPtr(r.LeaseExpiresAt), Deadline: utcPtr(r.Deadline),
		DecisionID: r.DecisionID, CreatedAt: r.CreatedAt.UTC(), CompletedAt: utcPtr(r.CompletedAt)}
}

func ruleSetFromRow(r ruleSetRow) claim.RuleSetVersion {
	return claim.RuleSetVersion{ID: r.ID, Version: r.Version, Name: r.Name, Revision: r.Revision, YAML: []byte(r.YAML),
		CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt.UTC(), Active: r.Active}
}

func flagFromRow(r buyerFlagRow) claim.BuyerFlag {
	return claim.BuyerFlag{ID: r.ID, BuyerID: r.BuyerID, Reason: r.Reason, By: r.By, CreatedAt: r.CreatedAt.UTC()}
}

func appealFromRow(r appealRow) (claim.Appeal, error) {
	a := claim.Appeal{ID: r.ID, ClaimID: r.ClaimID, By: r.By, Role: claim.Role(r.Role), Statement: r.Statement,
		CreatedAt: r.CreatedAt.UTC()}
	if err := json.Unmarshal([]byte(r.EvidenceIDs), &a.EvidenceIDs); err != nil {
		return claim.Appeal{}, internal(err, "appeal %s has unreadable evidence ids", r.ID)
	}
	return a, nil
}
