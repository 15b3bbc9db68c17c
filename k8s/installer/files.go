package installer

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// ErrReadOnly: a file the installer would change has no write permission
// bits. Root could write it anyway; the mode says someone (a config manager,
// an admin) wants it left alone, so the installer does.
var ErrReadOnly = errors.New("read-only")

// host maps the node's paths into the installer's view: the DaemonSet mounts
// what it touches under a host root (--host-root); run on the node itself
// the root is "/".
type host struct{ root string }

func (h host) path(p string) string { return filepath.Join(h.root, p) }

// read returns a host file's content; exists is false (and err nil) when the
// file is not there. Symlinks are refused: in a container they resolve
// against the wrong root, and rename would replace the link, not its target.
func (h host) read(p string) (data []byte, exists bool, err error) {
	fi, err := os.Lstat(h.path(p))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return nil, false, fmt.Errorf("%s is a symlink: pass the file it points to", p)
	}
	if !fi.Mode().IsRegular() {
		return nil, false, fmt.Errorf("%s is not a regular file", p)
	}
	data, err = os.ReadFile(h.path(p))
	return data, err == nil, err
}

func (h host) isDir(p string) bool {
	fi, err := os.Stat(h.path(p))
	return err == nil && fi.IsDir()
}

// A change is one file the installer writes or removes. old is the content
// it was planned against, so apply can refuse when the file changed under it
// and roll back to exactly old.
type change struct {
	path       string // host path
	old        []byte
	oldExists  bool
	new        []byte
	newExists  bool
	mkdir      string      // a directory to create first (install)
	rmdir      string      // a directory to remove afterwards when empty (uninstall)
	mode       fs.FileMode // of a new file; 0 means 0644
	why        string      // for the report
	restartFor bool        // the runtime only sees this after a restart
}

// apply makes the changes, all or none: every file is checked first (still
// as planned, writable), then each is written through a temp file and a
// rename; on a failure the ones already made are undone.
func (h host) apply(changes []change) error {
	for _, c := range changes {
		data, exists, err := h.read(c.path)
		if err != nil {
			return err
		}
		if exists != c.oldExists || !bytes.Equal(data, c.old) {
			return fmt.Errorf("%s changed while slrt install was working: nothing written, run it again", c.path)
		}
		if exists {
			fi, err := os.Stat(h.path(c.path))
			if err != nil {
				return err
			}
			if fi.Mode().Perm()&0o222 == 0 {
				return fmt.Errorf("%s (mode %#o): %w: nothing written", c.path, fi.Mode().Perm(), ErrReadOnly)
			}
		}
	}
	for i, c := range changes {
		if err := h.write(c); err != nil {
			for j := i - 1; j >= 0; j-- {
				h.undo(changes[j])
			}
			return fmt.Errorf("%w: nothing changed", err)
		}
	}
	return nil
}

func (c change) perm() fs.FileMode {
	if c.mode != 0 {
		return c.mode
	}
	return 0o644
}

func (h host) write(c change) error {
	if c.mkdir != "" {
		if err := os.Mkdir(h.path(c.mkdir), 0o755); err != nil {
			return fmt.Errorf("create %s: %w", c.mkdir, err)
		}
	}
	if !c.newExists {
		if err := os.Remove(h.path(c.path)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove %s: %w", c.path, err)
		}
		if c.rmdir != "" {
			os.Remove(h.path(c.rmdir)) // only when empty: fine to fail
		}
		return nil
	}
	if err := writeAtomic(h.path(c.path), c.new, c.perm()); err != nil {
		if c.mkdir != "" {
			os.Remove(h.path(c.mkdir))
		}
		return err
	}
	return nil
}

// undo restores what write changed (best effort: it runs on a failure path).
func (h host) undo(c change) {
	if c.oldExists {
		writeAtomic(h.path(c.path), c.old, c.perm())
	} else {
		os.Remove(h.path(c.path))
	}
	if c.mkdir != "" {
		os.Remove(h.path(c.mkdir))
	}
}

// writeAtomic replaces path with data through a temp file in the same
// directory and a rename, so a reader (containerd starting, a shim being
// exec'd) sees the old file or the new one, never half of one. An existing
// file's mode and owner are kept; perm is for a new file.
func writeAtomic(path string, data []byte, perm fs.FileMode) error {
	uid, gid := -1, -1
	if fi, err := os.Stat(path); err == nil {
		perm = fi.Mode().Perm()
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			uid, gid = int(st.Uid), int(st.Gid)
		}
	}
	dir, base := filepath.Split(path)
	f, err := os.CreateTemp(dir, "."+base+".slrt-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	err = func() error {
		if _, err := f.Write(data); err != nil {
			return err
		}
		if err := f.Chmod(perm); err != nil {
			return err
		}
		if uid >= 0 {
			if err := f.Chown(uid, gid); err != nil {
				return err
			}
		}
		return f.Sync()
	}()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
