package blob

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// putAged stores data and sets its modification time age ago.
func putAged(t *testing.T, s *Store, data string, age time.Duration) string {
	t.Helper()
	key, err := s.Put(context.Background(), []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := s.path(key)
	when := time.Now().Add(-age)
	if err := os.Chtimes(p, when, when); err != nil {
		t.Fatal(err)
	}
	return key
}

func walkAll(t *testing.T, s *Store) []Info {
	t.Helper()
	var out []Info
	if err := s.Walk(context.Background(), func(i Info) error { out = append(out, i); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestWalkListsBlobsInKeyOrderAndSkipsStrayFiles(t *testing.T) {
	s := openStore(t)
	var keys []string
	for _, d := range []string{"one", "two!", "three"} {
		keys = append(keys, putAged(t, s, d, time.Hour))
	}
	slices.Sort(keys)
	// Not blobs: a name that is not a key, a key in the wrong fan-out directory, a directory,
	// a temporary file.
	other := Key([]byte("elsewhere"))
	wrong := "00"
	if other[:2] == wrong {
		wrong = "01"
	}
	for _, p := range []string{
		filepath.Join(s.objects(), "ab", "notes.txt"),
		filepath.Join(s.objects(), wrong, other),
		filepath.Join(s.tmp(), "x.tmp"),
	} {
		if err := os.WriteFile(p, []byte("x"), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(s.objects(), "cd", Key([]byte("dir"))), 0o750); err != nil {
		t.Fatal(err)
	}

	got := walkAll(t, s)
	var gotKeys []string
	for _, i := range got {
		gotKeys = append(gotKeys, i.Key)
		if d := time.Since(i.ModTime); d < 59*time.Minute || d > 2*time.Hour {
			t.Errorf("%s: modified %v ago, set to an hour", i.Key, d)
		}
	}
	if !slices.Equal(gotKeys, keys) {
		t.Fatalf("walked %v, want %v", gotKeys, keys)
	}
	sizes := map[string]int64{Key([]byte("one")): 3, Key([]byte("two!")): 4, Key([]byte("three")): 5}
	for _, i := range got {
		if i.Size != sizes[i.Key] {
			t.Errorf("%s: size %d, want %d", i.Key, i.Size, sizes[i.Key])
		}
	}

	stop := errors.New("stop")
	n := 0
	if err := s.Walk(context.Background(), func(Info) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Fatalf("Walk after fn failed: %v, %d calls", err, n)
	}
}

func TestPutRefreshesTheTimeOfABlobItAlreadyHas(t *testing.T) {
	s := openStore(t)
	key := putAged(t, s, "uploaded again two days later", 48*time.Hour)
	if _, err := s.Put(context.Background(), []byte("uploaded again two days later")); err != nil {
		t.Fatal(err)
	}
	p, _ := s.path(key)
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if time.Since(fi.ModTime()) > time.Hour {
		t.Fatalf("modified %v ago after a second Put; Remove would take it from under the new reference", time.Since(fi.ModTime()))
	}
}

func TestRemoveTakesOnlyBlobsStoredBeforeTheCutoff(t *testing.T) {
	ctx := context.Background()
	cutoff := time.Now().Add(-24 * time.Hour)
	for _, tc := range []struct {
		name         string
		age          time.Duration
		putMeanwhile bool // a Put of the same bytes between Remove's first look and its rename
		removed      bool
	}{
		{"stored two days ago", 48 * time.Hour, false, true},
		{"stored an hour ago", time.Hour, false, false},
		{"stored two days ago and again while Remove looked at it", 48 * time.Hour, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t)
			key := putAged(t, s, "photo", tc.age)
			if tc.putMeanwhile {
				s.beforeRename = func() {
					if _, err := s.Put(ctx, []byte("photo")); err != nil {
						t.Error(err)
					}
				}
			}
			info, removed, err := s.Remove(ctx, key, cutoff)
			if err != nil || removed != tc.removed {
				t.Fatalf("Remove = %v, %v; want removed %v", removed, err, tc.removed)
			}
			if info.Key != key || info.Size != int64(len("photo")) {
				t.Fatalf("info %+v", info)
			}
			_, err = s.Get(ctx, key)
			if tc.removed != errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("after Remove (removed %v), Get: %v", removed, err)
			}
			if entries, _ := os.ReadDir(s.tmp()); len(entries) != 0 {
				t.Fatalf("Remove left %d files in tmp/", len(entries))
			}
		})
	}
}

func TestRemoveRefusesWhatIsNotABlob(t *testing.T) {
	s := openStore(t)
	stray := filepath.Join(s.objects(), "ab", "notes.txt")
	if err := os.WriteFile(stray, []byte("x"), 0o640); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"", "../../../etc/passwd", "ab/notes.txt", Key([]byte("never stored"))} {
		if _, _, err := s.Remove(context.Background(), key, time.Now()); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Remove(%q) = %v, want not-exist", key, err)
		}
	}
	if _, err := os.Stat(stray); err != nil {
		t.Fatalf("a file that is not a blob was touched: %v", err)
	}
}

func TestVerifyChecksContentAgainstTheKey(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	good := putAged(t, s, "intact", 0)
	bad := putAged(t, s, "will rot", 0)
	p, _ := s.path(bad)
	if err := os.WriteFile(p, []byte("has rot!"), 0o640); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		key  string
		want error
	}{
		{good, nil},
		{bad, ErrCorrupt},
		{Key([]byte("never stored")), fs.ErrNotExist},
		{"not-a-key", fs.ErrNotExist},
	} {
		n, err := s.Verify(ctx, tc.key)
		if tc.want == nil && (err != nil || n != int64(len("intact"))) {
			t.Errorf("Verify(%s) = %d, %v", tc.key, n, err)
		}
		if tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("Verify(%s) = %v, want %v", tc.key, err, tc.want)
		}
	}
	if _, err := s.Get(ctx, bad); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Get of a corrupt blob: %v, want ErrCorrupt", err)
	}
}
