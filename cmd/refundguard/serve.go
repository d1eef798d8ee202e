package main

import (
	"context"
	"errors"
	"io"
)

// runServe is being written; see the issue tracker.
func runServe(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) error {
	return errors.New("serve: not implemented yet")
}
