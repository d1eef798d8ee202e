package claim

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"
)

// auditHashVersion names the canonical encoding below; a different encoding gets a new name,
// so an old chain never verifies by accident under new rules.
const auditHashVersion = "refundguard-audit-v1"

// ComputeHash returns the event's chain hash: hex sha256 over a canonical encoding of every
// field except Hash itself, PrevHash included, so changing, inserting or removing any event
// breaks every later link. Each field is written as a netstring ("<len>:<bytes>,"), which
// keeps the encoding unambiguous whatever the fields contain. Time is taken in UTC at
// microsecond precision, the finest both SQLite and PostgreSQL keep.
func (e AuditEvent) ComputeHash() string {
	h := sha256.New()
	field := func(s string) {
		h.Write([]byte(strconv.Itoa(len(s))))
		h.Write([]byte{':'})
		h.Write([]byte(s))
		h.Write([]byte{','})
	}
	field(auditHashVersion)
	field(strconv.FormatInt(e.Seq, 10))
	field(e.Time.UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano))
	field(e.Actor)
	field(e.Action)
	field(e.Entity)
	field(e.EntityID)
	field(string(e.Before))
	field(string(e.After))
	field(e.PrevHash)
	return hex.EncodeToString(h.Sum(nil))
}
