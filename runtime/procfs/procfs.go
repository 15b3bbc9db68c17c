// Package procfs writes the procfs files the init must write (sysctls,
// oom_score_adj, time namespace offsets) only through a verified procfs.
//
// The container controls its root filesystem and, through hooks and
// mounts, what is mounted where: a /proc that is a symlink, a tmpfs instead
// of procfs, or a file bind-mounted over /proc/sys/kernel/x can redirect a
// runtime's write to a file of the attacker's choice (CVE-2019-16884,
// CVE-2019-19921, CVE-2025-52881). So every write goes through an fd of
// the procfs root checked to be the root of a real proc mount, resolved
// with openat2 refusing symlinks and mount crossings, and checked again to
// be on procfs before a byte is written.
package procfs

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// procRootIno is the inode number of the root of every proc mount.
const procRootIno = 1

// ErrNotProcfs means something other than a real procfs was found where
// one was expected.
var ErrNotProcfs = errors.New("not a procfs")

// Root is an open, verified procfs root.
type Root struct {
	fd   int
	path string
}

// Open opens and verifies the proc mount at path (normally "/proc").
func Open(path string) (*Root, error) {
	fd, err := unix.Openat2(unix.AT_FDCWD, path, &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	})
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("stat %s: %w", path, err)
	}
	if err := isProc(fd); err != nil || st.Ino != procRootIno {
		unix.Close(fd)
		return nil, fmt.Errorf("%s is not the root of a proc mount: %w", path, ErrNotProcfs)
	}
	return &Root{fd: fd, path: path}, nil
}

// Close releases the root.
func (r *Root) Close() error { return unix.Close(r.fd) }

func isProc(fd int) error {
	var fs unix.Statfs_t
	if err := unix.Fstatfs(fd, &fs); err != nil {
		return err
	}
	if fs.Type != unix.PROC_SUPER_MAGIC {
		return ErrNotProcfs
	}
	return nil
}

// WriteFile writes data to rel (e.g. "sys/kernel/shmmni", "1/oom_score_adj")
// below the root. Symlinks (including procfs's own "self") and mount points
// on the way are refused: a bind mount over the target is exactly the
// attack, so it is an error, not a detour.
func (r *Root) WriteFile(rel string, data []byte) error {
	rel = strings.TrimPrefix(rel, "/")
	name := r.path + "/" + rel
	fd, err := unix.Openat2(r.fd, rel, &unix.OpenHow{
		Flags:   unix.O_WRONLY | unix.O_CLOEXEC | unix.O_NOFOLLOW,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_XDEV,
	})
	if err != nil {
		if errors.Is(err, unix.EXDEV) {
			return fmt.Errorf("open %s: something is mounted over it: %w", name, ErrNotProcfs)
		}
		return fmt.Errorf("open %s: %w", name, err)
	}
	defer unix.Close(fd)
	if err := isProc(fd); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	for len(data) > 0 {
		n, err := unix.Write(fd, data)
		if err != nil {
			if err == unix.EINTR {
				continue
			}
			return fmt.Errorf("write %s: %w", name, err)
		}
		data = data[n:]
	}
	return nil
}

// Self is the name of the calling process's directory below the root,
// without the "self" symlink: its pid as the proc mount's pid namespace
// sees it (the init's own pid namespace, whose /proc it mounted).
func Self() string { return fmt.Sprint(unix.Getpid()) }
