//go:build cgo

package store

import (
	"errors"

	"github.com/mattn/go-sqlite3"
)

// classifySQLite reads the driver's result codes (its error type exists only in cgo builds).
func classifySQLite(err error) errKind {
	var se sqlite3.Error
	if !errors.As(err, &se) {
		return errOther
	}
	switch se.ExtendedCode {
	case sqlite3.ErrConstraintUnique, sqlite3.ErrConstraintPrimaryKey:
		return errUnique
	case sqlite3.ErrConstraintForeignKey:
		return errForeignKey
	}
	if se.Code == sqlite3.ErrBusy || se.Code == sqlite3.ErrLocked {
		return errBusy
	}
	return errOther
}
