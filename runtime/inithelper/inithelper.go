// Package inithelper holds the helper binaries the engine execs (slrt-init,
// and slrt-nsenter for joining a user namespace) and hands each out as a
// sealed memfd, created once per process.
//
// Every container's init is exec'd from that memfd, never from a path on
// disk: a container process that reaches /proc/PID/exe of its init finds a
// sealed, write-protected anonymous file, so it cannot overwrite the runtime
// binary (CVE-2019-5736). One memfd per process, not one copy per container
// as runc makes, keeps the cost to a single write at the first create.
package inithelper

import (
	"embed"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// The binaries are built by `make` (see Makefile: cmd/slrt-init and
// cmd/slrt-nsenter, both C, are compiled into bin/ before the Go packages
// that embed them are built). "all:" also matches bin/.keep so the package compiles
// (and go vet runs) before that.
//
//go:embed all:bin
var bin embed.FS

// ErrNotEmbedded means the binary was built without `make`.
var ErrNotEmbedded = errors.New("helper binaries are not embedded in this binary: build with `make` (it compiles cmd/slrt-init and cmd/slrt-nsenter first)")

// helper is one embedded binary and its memfd.
type helper struct {
	name string
	once sync.Once
	file *os.File
	err  error
}

var (
	initHelper    = &helper{name: "slrt-init"}
	nsenterHelper = &helper{name: "slrt-nsenter"}
)

// File returns the sealed memfd holding slrt-init. It stays open for the
// life of the process.
func File() (*os.File, error) { return initHelper.get() }

// Path returns a path that execs slrt-init: /proc/self/fd/N of the memfd.
// A child inherits the fd across fork (it is close-on-exec, so the workload
// never sees it) and the kernel resolves the path before closing it.
func Path() (string, error) { return initHelper.path() }

// NsenterPath returns a path that execs slrt-nsenter.
func NsenterPath() (string, error) { return nsenterHelper.path() }

func (h *helper) get() (*os.File, error) {
	h.once.Do(func() { h.file, h.err = seal(h.name) })
	return h.file, h.err
}

func (h *helper) path() (string, error) {
	f, err := h.get()
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("/proc/self/fd/%d", f.Fd()), nil
}

func seal(name string) (*os.File, error) {
	src, err := bin.Open("bin/" + name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, ErrNotEmbedded)
	}
	defer src.Close()
	if st, err := src.Stat(); err != nil || st.Size() == 0 {
		return nil, fmt.Errorf("%s: %w", name, ErrNotEmbedded)
	}
	fd, err := unix.MemfdCreate(name, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("memfd_create for %s: %w", name, err)
	}
	f := os.NewFile(uintptr(fd), name)
	// Streamed from the embedded bytes, not ReadFile: that would copy the
	// whole binary onto the heap first (a measured 13% of a CLI run's CPU).
	if _, err := io.Copy(f, src.(io.Reader)); err != nil {
		f.Close()
		return nil, fmt.Errorf("write %s to memfd: %w", name, err)
	}
	const seals = unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, seals); err != nil {
		f.Close()
		return nil, fmt.Errorf("seal %s memfd: %w", name, err)
	}
	return f, nil
}
