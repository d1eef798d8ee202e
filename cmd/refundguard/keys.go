package main

import (
	"context"
	"errors"
	"io"
)

// runKeys is being written; see the issue tracker.
func runKeys(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) error {
	return errors.New("keys: not implemented yet")
}
