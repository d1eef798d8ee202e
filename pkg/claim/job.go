package claim

import "time"

// AnalysisJob is a queued forensic analysis of a claim's unanalysed evidence. It is created
// in the transaction that stores the evidence, so an acknowledged claim always has one, and
// deleted in the transaction that stores the results. A worker holds it under a lease: if the
// worker dies, the lease expires and another takes the job.
type AnalysisJob struct {
	ID             string
	ClaimID        string
	Attempts       int        // failed runs so far (a run cut short by shutdown does not count)
	LeaseOwner     string     // the worker instance holding the lease, empty when queued
	LeaseToken     string     // changes with every lease; completing or releasing needs it
	LeaseExpiresAt *time.Time // nil when queued
	AvailableAt    time.Time  // not leased before this (backoff after a failure)
	Failed         bool       // gave up after too many attempts; kept for operators
	LastError      string
	CreatedAt      time.Time
}

// ClaimQuery selects claims for a listing. Empty fields do not filter. The service fills
// BuyerID or MerchantID from the principal, so a listing never shows another party's claims.
type ClaimQuery struct {
	BuyerID    string
	MerchantID string
	Status     Status
	Cursor     string // opaque; from the previous page
	Limit      int
}

// TaskQuery selects review tasks for a queue view. Empty fields do not filter; no States
// means open and leased.
type TaskQuery struct {
	ClaimID string
	Kind    TaskKind
	Route   Route
	States  []TaskState
	Limit   int
}
