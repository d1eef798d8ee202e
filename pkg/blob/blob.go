// Package blob stores evidence photos, reference photos and heatmaps by content: a file's
// key is the hex sha256 of its bytes, so the same photo uploaded twice is stored once and a
// key names exactly one content forever.
//
// Put is durable when it returns: the bytes are written to a temporary file, fsynced,
// renamed into place and the directories holding the new entry are fsynced, so a power cut
// can leave a stray temporary file but never a torn or missing blob whose key was handed out.
// Keys are validated before they touch the file system; client file names never do.
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
	"strings"
	"time"
)

// staleTemp is how old a temporary file must be before Open removes it: old enough that no
// Put in flight can still own it.
const staleTemp = time.Hour

// ErrCorrupt is wrapped by errors about a blob whose bytes no longer hash to its key.
var ErrCorrupt = errors.New("corrupt on disk (content hash differs)")

// Store is a content-addressed store rooted at a directory:
//
//	root/sha256/ab/abcd...   the blobs, fanned out by the first byte of the key (as git does)
//	root/tmp/                files being written
//
// The 256 fan-out directories are created (and made durable) by Open, so a Put costs two
// fsyncs: the file, and the directory that gains its name.
//
// It is safe for concurrent use, also by several processes sharing the directory.
type Store struct {
	root string
	// beforeRename, when a test sets it, runs in Remove between its first look at the blob
	// and the rename, where a racing Put may refresh the blob.
	beforeRename func()
}

// Open creates (if needed) and opens the store rooted at dir, removing temporary files an
// interrupted Put left behind.
func Open(dir string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("blob: empty directory")
	}
	s := &Store{root: dir}
	for _, d := range []string{s.root, s.objects(), s.tmp()} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return nil, fmt.Errorf("blob: %w", err)
		}
	}
	for i := range 256 {
		if err := os.MkdirAll(filepath.Join(s.objects(), fmt.Sprintf("%02x", i)), 0o750); err != nil {
			return nil, fmt.Errorf("blob: %w", err)
		}
	}
	// Make the layout durable once, so that Put need only sync the directory it writes in.
	for _, d := range []string{s.objects(), s.root, filepath.Dir(s.root)} {
		if err := syncDir(d); err != nil {
			return nil, err
		}
	}
	s.removeStaleTemp()
	return s, nil
}

func (s *Store) objects() string { return filepath.Join(s.root, "sha256") }
func (s *Store) tmp() string     { return filepath.Join(s.root, "tmp") }

// path returns where key lives, or an error when key is not a lowercase hex sha256: keys come
// from the database and URLs, and nothing else may become a path.
func (s *Store) path(key string) (string, error) {
	if !ValidKey(key) {
		return "", fmt.Errorf("blob: invalid key %q: %w", truncate(key, 80), fs.ErrNotExist)
	}
	return filepath.Join(s.objects(), key[0:2], key), nil
}

// ValidKey reports whether key has the form of a blob key (64 lowercase hex digits).
func ValidKey(key string) bool {
	if len(key) != sha256.Size*2 {
		return false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// Key returns the key data is stored under.
func Key(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// Put stores data and returns its key once the bytes and the directory entries naming them
// are on stable storage.
func (s *Store) Put(ctx context.Context, data []byte) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	key := Key(data)
	final, _ := s.path(key)
	dir := filepath.Dir(final)

	if info, err := os.Stat(final); err == nil && info.Size() == int64(len(data)) {
		// Already stored. Mark it as stored now: Remove spares blobs stored after its cutoff,
		// and the caller is about to reference this one. If that fails (Remove took the file
		// away since the Stat, or it belongs to another user), store it afresh below.
		now := time.Now()
		if err := os.Chtimes(final, now, now); err == nil {
			// Another Put may have renamed it and not yet fsynced the directory, so sync it
			// before promising durability to this caller too.
			return key, syncDir(dir)
		}
	}
	tmp, err := s.writeTemp(data)
	if err != nil {
		return "", err
	}
	if err := os.Rename(tmp, final); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("blob: %w", err)
	}
	if err := syncDir(dir); err != nil {
		return "", err
	}
	return key, nil
}

// writeTemp writes data to a new temporary file, fsyncs and closes it.
func (s *Store) writeTemp(data []byte) (string, error) {
	var rnd [12]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return "", fmt.Errorf("blob: %w", err)
	}
	name := filepath.Join(s.tmp(), hex.EncodeToString(rnd[:])+".tmp")
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return "", fmt.Errorf("blob: %w", err)
	}
	_, werr := f.Write(data)
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		os.Remove(name)
		return "", fmt.Errorf("blob: writing %d bytes: %w", len(data), werr)
	}
	return name, nil
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("blob: %w", err)
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("blob: syncing %s: %w", dir, err)
	}
	return nil
}

// Open returns a reader over the blob and its size. The caller closes it. A missing blob
// gives an error wrapping fs.ErrNotExist.
func (s *Store) Open(ctx context.Context, key string) (io.ReadCloser, int64, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	p, err := s.path(key)
	if err != nil {
		return nil, 0, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, 0, fmt.Errorf("blob: %w", err)
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("blob: %w", err)
	}
	return f, info.Size(), nil
}

// Get reads a whole blob (photos are bounded by the upload limit) and checks it still hashes
// to its key, so silent corruption on disk is reported rather than analysed.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	r, _, err := s.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("blob: reading %s: %w", key, err)
	}
	if Key(data) != key {
		return nil, fmt.Errorf("blob: %s is %w", key, ErrCorrupt)
	}
	return data, nil
}

// Check reports whether the store is writable: it creates, fsyncs and removes a probe file.
func (s *Store) Check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	name, err := s.writeTemp([]byte("probe"))
	if err != nil {
		return err
	}
	return os.Remove(name)
}

func (s *Store) removeStaleTemp() {
	entries, err := os.ReadDir(s.tmp())
	if err != nil {
		return
	}
	for _, e := range entries {
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > staleTemp && strings.HasSuffix(e.Name(), ".tmp") {
			os.Remove(filepath.Join(s.tmp(), e.Name()))
		}
	}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
