package main

import (
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
)

// TestUploadDirsOfLiveTrainersSurviveAStart: two trainers on one
// TRAINER_TMP_DIR (flocks of two open files conflict within one process
// as between two), and the leftovers of gone ones.
func TestUploadDirsOfLiveTrainersSurviveAStart(t *testing.T) {
	tmp := t.TempDir()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	root := filepath.Join(tmp, uploadsRoot)
	write := func(path string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte("a,b\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	exists := func(path string) bool {
		_, err := os.Stat(path)
		return !errors.Is(err, os.ErrNotExist)
	}

	first, err := claimUploadDir(tmp, logger)
	if err != nil {
		t.Fatal(err)
	}
	inFlight := filepath.Join(first.path, "upload-1.csv")
	write(inFlight)
	// A trainer killed with its lock file in place (the kernel dropped its
	// lock), one killed between a sweep's two removals, and a file of the
	// old shared layout.
	dead := filepath.Join(root, "trainer-123")
	write(dead + ".lock")
	write(filepath.Join(dead, "upload-2.csv"))
	unlocked := filepath.Join(root, "trainer-456")
	write(filepath.Join(unlocked, "upload-3.csv"))
	legacy := filepath.Join(root, "upload-4.csv")
	write(legacy)

	second, err := claimUploadDir(tmp, logger)
	if err != nil {
		t.Fatal(err)
	}
	if second.path == first.path {
		t.Fatalf("both trainers got %s", first.path)
	}
	for path, want := range map[string]bool{
		inFlight: true, first.lock.Name(): true, second.path: true,
		dead: false, dead + ".lock": false, unlocked: false,
		legacy: true,
	} {
		if exists(path) != want {
			t.Errorf("%s: exists %v, want %v", path, !want, want)
		}
	}

	if err := first.release(); err != nil {
		t.Fatal(err)
	}
	if exists(first.path) || exists(first.lock.Name()) {
		t.Error("release left the directory or its lock")
	}
	if !exists(second.path) {
		t.Error("a release removed another trainer's directory")
	}
	if err := second.release(); err != nil {
		t.Fatal(err)
	}
}
