package store

import (
	"errors"
	"fmt"
	"hash/fnv"
	"net/url"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// dialect is the one seam for everything that differs between SQLite and PostgreSQL:
// connection set-up, how writers are serialised, row locks and error classification. The
// rest of the package is written once, against GORM.
type dialect interface {
	name() string
	// connect opens the writer and the reader pools (the same pool where the database
	// handles concurrent writers itself).
	connect(dsn string, cfg *gorm.Config) (writer, reader *gorm.DB, err error)
	// serialize makes concurrent transactions that call it with the same name run one after
	// another until they commit (the audit chain, migrations).
	serialize(tx *gorm.DB, name string) error
	// forUpdate locks the rows a query reads until the transaction ends.
	forUpdate(q *gorm.DB) *gorm.DB
	// skipLocked is forUpdate that passes over rows another transaction holds (job leasing).
	skipLocked(q *gorm.DB) *gorm.DB
	classify(err error) errKind
}

type errKind int

const (
	errOther errKind = iota
	errUnique
	errForeignKey
	errBusy
)

// dialectFor picks the dialect from the DSN: a postgres:// URL or a key=value string with a
// host is PostgreSQL; anything else is a SQLite file path.
func dialectFor(dsn string) dialect {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") ||
		strings.Contains(dsn, "host=") || strings.Contains(dsn, "dbname=") {
		return postgresDialect{}
	}
	return sqliteDialect{}
}

// IsPostgres reports whether dsn names a PostgreSQL database (else it is a SQLite file).
func IsPostgres(dsn string) bool { return dialectFor(dsn).name() == "postgres" }

// sqliteDialect: WAL so readers never block the writer; synchronous=FULL because a 201 for a
// claim promises the row survives a power cut (NORMAL in WAL mode can lose the last commits);
// one writer connection whose transactions start with BEGIN IMMEDIATE, so writes queue in
// database/sql instead of failing with SQLITE_BUSY; busy_timeout for other processes (the
// keys and audit commands) sharing the file.
type sqliteDialect struct{}

func (sqliteDialect) name() string { return "sqlite" }

func (sqliteDialect) connect(path string, cfg *gorm.Config) (*gorm.DB, *gorm.DB, error) {
	if path == "" || strings.ContainsAny(path, "?#") || strings.HasPrefix(path, "file:") {
		return nil, nil, fmt.Errorf("store: %q is not a usable SQLite file path", path)
	}
	common := url.Values{
		"_journal_mode": {"WAL"},
		"_busy_timeout": {"10000"},
		"_foreign_keys": {"on"},
		"_synchronous":  {"FULL"},
	}
	wq, rq := url.Values{}, url.Values{}
	for k, v := range common {
		wq[k], rq[k] = v, v
	}
	wq.Set("_txlock", "immediate")
	rq.Set("_query_only", "true")

	writer, err := gorm.Open(sqlite.Open(path+"?"+wq.Encode()), cfg)
	if err != nil {
		return nil, nil, err
	}
	wdb, err := writer.DB()
	if err != nil {
		return nil, nil, err
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxLifetime(0)
	// The first connection creates the file and switches it to WAL before readers open it.
	if err := wdb.Ping(); err != nil {
		wdb.Close()
		return nil, nil, err
	}

	reader, err := gorm.Open(sqlite.Open(path+"?"+rq.Encode()), cfg)
	if err != nil {
		wdb.Close()
		return nil, nil, err
	}
	rdb, err := reader.DB()
	if err != nil {
		wdb.Close()
		return nil, nil, err
	}
	n := max(4, runtime.NumCPU())
	rdb.SetMaxOpenConns(n)
	rdb.SetMaxIdleConns(n)
	rdb.SetConnMaxIdleTime(5 * time.Minute)
	return writer, reader, nil
}

// serialize is a no-op: there is one writer connection and every write transaction holds
// SQLite's write lock from BEGIN IMMEDIATE to COMMIT.
func (sqliteDialect) serialize(*gorm.DB, string) error { return nil }
func (sqliteDialect) forUpdate(q *gorm.DB) *gorm.DB    { return q }
func (sqliteDialect) skipLocked(q *gorm.DB) *gorm.DB   { return q }

func (sqliteDialect) classify(err error) errKind { return classifySQLite(err) }

// postgresDialect: several instances may share the database, so transactions that must not
// interleave take a transaction-scoped advisory lock, and rows are locked with FOR UPDATE.
type postgresDialect struct{}

func (postgresDialect) name() string { return "postgres" }

func (postgresDialect) connect(dsn string, cfg *gorm.Config) (*gorm.DB, *gorm.DB, error) {
	db, err := gorm.Open(postgres.Open(dsn), cfg)
	if err != nil {
		return nil, nil, err
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, nil, err
	}
	sqlDB.SetMaxOpenConns(20)
	sqlDB.SetMaxIdleConns(10)
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	return db, db, nil
}

func (postgresDialect) serialize(tx *gorm.DB, name string) error {
	h := fnv.New64a()
	h.Write([]byte("refundguard:" + name))
	return tx.Exec("SELECT pg_advisory_xact_lock(?)", int64(h.Sum64())).Error
}

func (postgresDialect) forUpdate(q *gorm.DB) *gorm.DB {
	return q.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate})
}

func (postgresDialect) skipLocked(q *gorm.DB) *gorm.DB {
	return q.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate, Options: clause.LockingOptionsSkipLocked})
}

func (postgresDialect) classify(err error) errKind {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return errOther
	}
	switch pe.Code {
	case "23505":
		return errUnique
	case "23503":
		return errForeignKey
	case "40001", "40P01", "55P03": // serialization failure, deadlock, lock not available
		return errBusy
	}
	return errOther
}
