//go:build !cgo

package store

// classifySQLite has nothing to classify without cgo: the SQLite driver is a stub that
// refuses to open, so only PostgreSQL works in such a build.
func classifySQLite(error) errKind { return errOther }
