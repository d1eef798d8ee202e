package blob

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func openStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPutThenOpenStreamsTheSameBytes(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"small", []byte("hello")},
		{"one megabyte", bytes.Repeat([]byte{0xAB, 0x01}, 1<<19)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key, err := s.Put(ctx, tc.data)
			if err != nil {
				t.Fatal(err)
			}
			if key != Key(tc.data) {
				t.Fatalf("key %s, want the sha256 %s", key, Key(tc.data))
			}
			r, size, err := s.Open(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			got, _ := io.ReadAll(r)
			if size != int64(len(tc.data)) || !bytes.Equal(got, tc.data) {
				t.Fatalf("read %d bytes (size %d), want %d", len(got), size, len(tc.data))
			}
			again, err := s.Get(ctx, key)
			if err != nil || !bytes.Equal(again, tc.data) {
				t.Fatalf("Get: %v", err)
			}
		})
	}
}

func TestPutTwiceStoresOnceAndLeavesNoTemporaryFiles(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	data := []byte("same photo")
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.Put(ctx, data); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	var files []string
	filepath.WalkDir(s.root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if len(files) != 1 {
		t.Fatalf("files after 8 identical puts: %v", files)
	}
}

func TestOpenRefusesKeysThatAreNotHashes(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	for _, key := range []string{
		"",
		"../../etc/passwd",
		"ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789", // upper case
		"0123",
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde/",
	} {
		t.Run(key, func(t *testing.T) {
			if _, _, err := s.Open(ctx, key); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("Open(%q) = %v, want not-exist", key, err)
			}
		})
	}
}

func TestMissingBlobIsNotExist(t *testing.T) {
	s := openStore(t)
	_, err := s.Get(context.Background(), Key([]byte("never stored")))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("got %v, want fs.ErrNotExist", err)
	}
}

func TestGetReportsCorruptionOnDisk(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	key, err := s.Put(ctx, []byte("original bytes"))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := s.path(key)
	if err := os.WriteFile(p, []byte("flipped bytes!"), 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, key); err == nil {
		t.Fatal("Get returned bytes that no longer hash to their key")
	}
}

func TestOpenRemovesStaleTemporaryFilesOnly(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(s.tmp(), "stale.tmp")
	fresh := filepath.Join(s.tmp(), "fresh.tmp")
	for _, p := range []string{stale, fresh} {
		if err := os.WriteFile(p, []byte("x"), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * staleTemp)
	os.Chtimes(stale, old, old)
	if _, err := Open(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("stale temporary file kept: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("a Put in flight could own %s, but it was removed: %v", fresh, err)
	}
}

func TestCheckFailsWhenTheStoreCannotWrite(t *testing.T) {
	s := openStore(t)
	if err := s.Check(context.Background()); err != nil {
		t.Fatalf("writable store: %v", err)
	}
	// A file where the temporary directory should be fails writes even for root, which
	// permission bits would not.
	if err := os.RemoveAll(s.tmp()); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.tmp(), nil, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := s.Check(context.Background()); err == nil {
		t.Fatal("Check passed on a store that cannot write")
	}
	if _, err := s.Put(context.Background(), []byte("x")); err == nil {
		t.Fatal("Put passed on a store that cannot write")
	}
}
