package main

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Uploads are spooled under TRAINER_TMP_DIR/modelferry-uploads, which
// trainers on one host share: each process has its own directory there,
// <name>/, and holds an exclusive flock on <name>.lock while it lives. A
// start removes only the directories whose lock it can take: those of
// processes that are gone (the kernel drops a dead process's locks).

const uploadsRoot = "modelferry-uploads"

// uploadDir is this process's own upload directory and the lock that
// says it lives.
type uploadDir struct {
	path string
	lock *os.File
}

// claimUploadDir sweeps what gone processes left under tmp and makes this
// process's own locked directory: its lock file first, then the
// directory, so that a live process's directory always has its lock.
func claimUploadDir(tmp string, logger *slog.Logger) (*uploadDir, error) {
	root := filepath.Join(tmp, uploadsRoot)
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("upload directory: %w", err)
	}
	sweepUploads(root, logger)
	for {
		f, err := os.CreateTemp(root, "trainer-*.lock")
		if err != nil {
			return nil, fmt.Errorf("upload directory lock: %w", err)
		}
		held, err := lock(f)
		if err != nil {
			return nil, fmt.Errorf("upload directory lock: %w", err)
		}
		if held == nil {
			continue // a neighbour's sweep took the new file first: another
		}
		dir := strings.TrimSuffix(held.Name(), ".lock")
		if err := os.Mkdir(dir, 0o700); err != nil {
			_ = os.Remove(held.Name())
			_ = held.Close()
			return nil, fmt.Errorf("upload directory: %w", err)
		}
		return &uploadDir{path: dir, lock: held}, nil
	}
}

// release removes the directory and drops the lock.
func (u *uploadDir) release() error {
	err := os.RemoveAll(u.path)
	if rerr := os.Remove(u.lock.Name()); err == nil && !errors.Is(rerr, fs.ErrNotExist) {
		err = rerr
	}
	if cerr := u.lock.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("release upload directory %s: %w", u.path, err)
	}
	return nil
}

// lock takes an exclusive flock on f without waiting. It returns nil,
// nil (and closes f) when another process holds it, or when the file was
// removed or replaced between its open and the lock: the lock would then
// guard nothing.
func lock(f *os.File) (*os.File, error) {
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, nil
		}
		return nil, fmt.Errorf("flock %s: %w", f.Name(), err)
	}
	held, err1 := f.Stat()
	named, err2 := os.Stat(f.Name())
	if err1 != nil || err2 != nil || !os.SameFile(held, named) {
		_ = f.Close()
		return nil, nil
	}
	return f, nil
}

// sweepUploads removes the directories of processes that are gone: those
// whose lock file it can lock (the directory first, then the lock file,
// while it holds the lock), and those without a lock file (a sweep cut
// short). Files of the old shared layout are left alone: a trainer of an
// older release may be using them.
func sweepUploads(root string, logger *slog.Logger) {
	entries, err := os.ReadDir(root)
	if err != nil {
		logger.Warn("listing the upload directory", "dir", root, "err", err)
		return
	}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, "trainer-") {
			continue
		}
		if base, ok := strings.CutSuffix(name, ".lock"); ok {
			f, err := os.OpenFile(filepath.Join(root, name), os.O_RDWR, 0)
			if err != nil {
				continue // gone meanwhile
			}
			held, err := lock(f)
			if err != nil || held == nil {
				continue // its process lives
			}
			dir := filepath.Join(root, base)
			err = errors.Join(os.RemoveAll(dir), os.Remove(held.Name()))
			_ = held.Close()
			logSwept(logger, dir, err)
			continue
		}
		dir := filepath.Join(root, name)
		if _, err := os.Stat(dir + ".lock"); e.IsDir() && errors.Is(err, fs.ErrNotExist) {
			logSwept(logger, dir, os.RemoveAll(dir))
		}
	}
}

func logSwept(logger *slog.Logger, dir string, err error) {
	if err != nil {
		logger.Warn("removing the uploads of a trainer that is gone", "dir", dir, "err", err)
		return
	}
	logger.Info("removed the uploads of a trainer that is gone", "dir", dir)
}
