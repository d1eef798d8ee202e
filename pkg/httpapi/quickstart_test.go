package httpapi

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/bridge-painted.jpg from testdata/bridge.jpg")

// TestPaintedFixture keeps testdata/bridge-painted.jpg, the forged photo the README's
// quickstart files a claim with, exactly what paintedCopy makes of bridge.jpg. Run with
// -update after changing paintedCopy (or when a Go release changes image/jpeg's output).
func TestPaintedFixture(t *testing.T) {
	painted, _ := paintedCopy(t, bridgePhoto(t))
	path := filepath.Join("testdata", "bridge-painted.jpg")
	if *update {
		if err := os.WriteFile(path, painted, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	stored, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(stored, painted) {
		t.Errorf("%s is not paintedCopy(bridge.jpg); run go test ./pkg/httpapi -run TestPaintedFixture -update", path)
	}
}
