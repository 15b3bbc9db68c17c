package rootfs

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// inRoot resolves container paths inside one directory tree, the way the
// kernel would if that tree were "/" (openat2 RESOLVE_IN_ROOT): ".." stops
// at the root and absolute symlinks start from it, so a symlink in the image
// ("evil -> /etc", "x -> ../../../../tmp") lands inside the rootfs, never on
// the host. Magic links (/proc/*/fd, /proc/*/root) are refused outright.
type inRoot struct {
	fd   int    // O_PATH fd of the root directory
	path string // for error messages: the host path of the root
}

func openRoot(path string) (*inRoot, error) {
	fd, err := unix.Open(path, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open rootfs %s: %w", path, err)
	}
	return &inRoot{fd: fd, path: path}, nil
}

func (r *inRoot) close() { unix.Close(r.fd) }

// where names a container path for error messages: "/dev (in /b/rootfs)".
func (r *inRoot) where(path string) string {
	if r.path == "/" {
		return path
	}
	return path + " (in " + r.path + ")"
}

// open resolves path (a clean absolute container path) to an O_PATH fd.
func (r *inRoot) open(path string, flags uint64) (int, error) {
	rel := strings.TrimPrefix(path, "/")
	if rel == "" {
		rel = "."
	}
	how := unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_CLOEXEC | flags,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	}
	for {
		fd, err := unix.Openat2(r.fd, rel, &how)
		// EAGAIN: a rename raced the lookup; the kernel asks us to retry.
		if err == unix.EAGAIN || err == unix.EINTR {
			continue
		}
		return fd, err
	}
}

// mkdirAll returns an O_PATH fd of directory path, creating what is
// missing. Each component is resolved from the root again after it is
// created, so a component swapped for a symlink meanwhile still resolves
// inside the root. Directories are made with mkdirat relative to the
// resolved parent's fd, never by string path on the host.
func (r *inRoot) mkdirAll(path string, mode uint32) (int, error) {
	fd, err := r.open(path, unix.O_DIRECTORY)
	if err == nil || err != unix.ENOENT {
		if err != nil {
			return -1, fmt.Errorf("open %s: %w", r.where(path), err)
		}
		return fd, nil
	}
	parent, err := r.mkdirAll(filepath.Dir(path), 0o755)
	if err != nil {
		return -1, err
	}
	defer unix.Close(parent)
	name := filepath.Base(path)
	if err := unix.Mkdirat(parent, name, mode); err != nil && err != unix.EEXIST {
		return -1, fmt.Errorf("mkdir %s: %w", r.where(path), err)
	}
	fd, err = r.open(path, unix.O_DIRECTORY)
	if err == unix.ENOENT {
		// mkdirat saw EEXIST yet the path does not resolve: it is a
		// dangling symlink. Following it would mean creating its target
		// by hand; refuse as runc (filepath-securejoin) does.
		return -1, fmt.Errorf("mkdir %s: %s is a dangling symlink", r.where(path), name)
	}
	if err != nil {
		return -1, fmt.Errorf("open %s: %w", r.where(path), err)
	}
	return fd, nil
}

// create returns an O_PATH fd of path, creating it (and its parents) when
// missing: an empty file when file is set, else a directory.
func (r *inRoot) create(path string, file bool) (int, error) {
	fd, err := r.open(path, 0)
	if err == nil {
		return fd, nil
	}
	if err != unix.ENOENT {
		return -1, fmt.Errorf("open %s: %w", r.where(path), err)
	}
	parent, err := r.mkdirAll(filepath.Dir(path), 0o755)
	if err != nil {
		return -1, err
	}
	defer unix.Close(parent)
	name := filepath.Base(path)
	if file {
		// O_NOFOLLOW|O_EXCL: never create through a symlink.
		f, err := unix.Openat(parent, name, unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_WRONLY|unix.O_CLOEXEC, 0o644)
		if err == nil {
			unix.Close(f)
		} else if err != unix.EEXIST {
			return -1, fmt.Errorf("create %s: %w", r.where(path), err)
		}
	} else if err := unix.Mkdirat(parent, name, 0o755); err != nil && err != unix.EEXIST {
		return -1, fmt.Errorf("mkdir %s: %w", r.where(path), err)
	}
	fd, err = r.open(path, 0)
	if errors.Is(err, unix.ENOENT) {
		return -1, fmt.Errorf("create %s: %s is a dangling symlink", r.where(path), name)
	}
	if err != nil {
		return -1, fmt.Errorf("open %s: %w", r.where(path), err)
	}
	return fd, nil
}

// fdPath is the magic link through which mount(2) reaches exactly the
// inode fd holds, whatever happens to the path meanwhile.
func fdPath(fd int) string {
	return fmt.Sprintf("/proc/self/fd/%d", fd)
}

// mountID returns the id of the mount fd is on.
func mountID(fd int) (uint64, error) {
	var st unix.Statx_t
	if err := unix.Statx(fd, "", unix.AT_EMPTY_PATH, unix.STATX_MNT_ID, &st); err != nil {
		return 0, err
	}
	return st.Mnt_id, nil
}
