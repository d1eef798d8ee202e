package main

import (
	"context"
	"errors"
	"io"
)

// runRules is being written; see the issue tracker.
func runRules(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) error {
	return errors.New("rules: not implemented yet")
}
