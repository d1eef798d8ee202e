// Package storetest gives tests real databases: a SQLite file in a temporary directory, and
// a fresh schema in the PostgreSQL that CI starts (tests skip, saying why, when it is not
// reachable). No mocks: the store's behaviour is the database's.
package storetest

import (
	"crypto/rand"
	"encoding/hex"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// PostgresBase is the CI database (.ci/setup starts it: trust auth, user postgres).
const PostgresBase = "host=127.0.0.1 port=5432 user=postgres dbname=test sslmode=disable"

// SQLite returns the path of a new SQLite database file in a temporary directory.
func SQLite(t testing.TB) string {
	return filepath.Join(t.TempDir(), "refundguard.db")
}

// Postgres creates a schema of the test's own and returns a DSN whose search_path points at
// it; the schema is dropped when the test ends. It skips the test when PostgreSQL is not
// reachable at 127.0.0.1:5432.
func Postgres(t testing.TB) string {
	t.Helper()
	conn, err := net.DialTimeout("tcp", "127.0.0.1:5432", time.Second)
	if err != nil {
		t.Skipf("PostgreSQL not reachable at 127.0.0.1:5432 (%v); CI starts it with .ci/setup", err)
	}
	conn.Close()
	admin, err := gorm.Open(postgres.Open(PostgresBase), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		t.Skipf("PostgreSQL not usable: %v", err)
	}
	var b [8]byte
	rand.Read(b[:])
	schema := "rg_test_" + hex.EncodeToString(b[:])
	if err := admin.Exec("CREATE SCHEMA " + schema).Error; err != nil {
		t.Skipf("cannot create a test schema: %v", err)
	}
	t.Cleanup(func() {
		admin.Exec("DROP SCHEMA " + schema + " CASCADE")
		if db, err := admin.DB(); err == nil {
			db.Close()
		}
	})
	return PostgresBase + " search_path=" + schema
}

// Clock is a settable clock for a test and the code under test to share.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a Clock reading t.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}
