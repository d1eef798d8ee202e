package main

import (
	"context"
	"errors"
	"io"
)

// runAnalyze is being written; see the issue tracker.
func runAnalyze(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) error {
	return errors.New("analyze: not implemented yet")
}
