package blob

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// Info describes one stored blob.
type Info struct {
	Key  string
	Size int64
	// ModTime is when the blob was last stored: Put refreshes it when it finds the bytes
	// already there, so it is never older than the last Put that returned this key.
	ModTime time.Time
}

// Walk calls fn for every blob in the store, in key order, and stops at the first error fn
// returns. Names in the blob directories that are not keys, or sit in the wrong fan-out
// directory, are not blobs and are skipped. Blobs added or removed while Walk runs may or
// may not be seen.
func (s *Store) Walk(ctx context.Context, fn func(Info) error) error {
	for i := range 256 {
		if err := ctx.Err(); err != nil {
			return err
		}
		prefix := fmt.Sprintf("%02x", i)
		entries, err := os.ReadDir(filepath.Join(s.objects(), prefix))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("blob: %w", err)
		}
		for _, e := range entries {
			name := e.Name()
			if !e.Type().IsRegular() || !ValidKey(name) || name[:2] != prefix {
				continue
			}
			fi, err := e.Info()
			if errors.Is(err, fs.ErrNotExist) {
				continue // removed since the directory was read
			}
			if err != nil {
				return fmt.Errorf("blob: %w", err)
			}
			if err := fn(Info{Key: name, Size: fi.Size(), ModTime: fi.ModTime()}); err != nil {
				return err
			}
		}
	}
	return nil
}

// Remove deletes the blob under key if it was last stored before cutoff, and reports whether
// it did, with what the blob was. A blob stored at or after cutoff is kept. A missing blob
// gives an error wrapping fs.ErrNotExist.
//
// Remove never takes a blob from under a Put that returned its key after cutoff, even one
// racing with it: Remove first renames the file out of the key's name, then looks at its
// time again. A Put that found the file before the rename refreshed its time, which the
// second look sees, and the file goes back; a Put after the rename finds no file and writes
// a new one.
func (s *Store) Remove(ctx context.Context, key string, cutoff time.Time) (Info, bool, error) {
	if err := ctx.Err(); err != nil {
		return Info{}, false, err
	}
	p, err := s.path(key)
	if err != nil {
		return Info{}, false, err
	}
	fi, err := os.Stat(p)
	if err != nil {
		return Info{}, false, fmt.Errorf("blob: %w", err)
	}
	info := Info{Key: key, Size: fi.Size(), ModTime: fi.ModTime()}
	if !info.ModTime.Before(cutoff) {
		return info, false, nil
	}
	// The ".tmp" name means that if this process dies before removing it, Open clears it
	// away (its time is older than staleTemp).
	var rnd [12]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return info, false, fmt.Errorf("blob: %w", err)
	}
	moved := filepath.Join(s.tmp(), "rm-"+hex.EncodeToString(rnd[:])+".tmp")
	if s.beforeRename != nil {
		s.beforeRename()
	}
	if err := os.Rename(p, moved); err != nil {
		return info, false, fmt.Errorf("blob: %w", err)
	}
	again, err := os.Stat(moved)
	if err == nil && again.ModTime().Before(cutoff) {
		if err := os.Remove(moved); err != nil {
			return info, false, fmt.Errorf("blob: %w", err)
		}
		return info, true, syncDir(filepath.Dir(p))
	}
	// Stored again meanwhile (or unreadable: keep it then too): put it back, unless a Put has
	// already written it anew (the same bytes, since the name is their hash).
	if err == nil {
		info.ModTime = again.ModTime()
	}
	if _, err := os.Lstat(p); err == nil {
		os.Remove(moved)
	} else if err := os.Rename(moved, p); err != nil {
		return info, false, fmt.Errorf("blob: putting back %s, stored again while being removed: %w", key, err)
	}
	return info, false, syncDir(filepath.Dir(p))
}

// Verify reads the blob under key through and checks that its bytes still hash to the key,
// without holding them in memory. It returns the blob's size; a missing blob gives an error
// wrapping fs.ErrNotExist, one whose bytes changed an error wrapping ErrCorrupt.
func (s *Store) Verify(ctx context.Context, key string) (int64, error) {
	r, _, err := s.Open(ctx, key)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		return n, fmt.Errorf("blob: reading %s: %w", key, err)
	}
	if hex.EncodeToString(h.Sum(nil)) != key {
		return n, fmt.Errorf("blob: %s is %w", key, ErrCorrupt)
	}
	return n, nil
}
