package main

import (
	"context"
	"errors"
	"io"
)

// runAudit is being written; see the issue tracker.
func runAudit(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) error {
	return errors.New("audit: not implemented yet")
}
