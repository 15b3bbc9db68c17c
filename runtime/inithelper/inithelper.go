// Package inithelper holds the slrt-init binary and hands it out as a sealed
// memfd, created once per process.
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
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// The binary is built by `make` (see Makefile: build/slrt-init is copied to
// bin/slrt-init before the Go packages that embed it are built). "all:" also
// matches bin/.keep so the package compiles (and go vet runs) before that.
//
//go:embed all:bin
var bin embed.FS

const name = "bin/slrt-init"

// ErrNotEmbedded means the binary was built without `make`.
var ErrNotEmbedded = errors.New("slrt-init is not embedded in this binary: build with `make` (it compiles cmd/slrt-init first)")

var (
	once   sync.Once
	memfd  *os.File
	errMem error
)

// File returns the sealed memfd holding slrt-init. It stays open for the
// life of the process; exec it through Path.
func File() (*os.File, error) {
	once.Do(func() { memfd, errMem = seal() })
	return memfd, errMem
}

// Path returns a path that execs slrt-init: /proc/self/fd/N of the memfd.
// A child inherits the fd across fork (it is close-on-exec, so the workload
// never sees it) and the kernel resolves the path before closing it.
func Path() (string, error) {
	f, err := File()
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("/proc/self/fd/%d", f.Fd()), nil
}

func seal() (*os.File, error) {
	data, err := bin.ReadFile(name)
	if err != nil || len(data) == 0 {
		return nil, ErrNotEmbedded
	}
	fd, err := unix.MemfdCreate("slrt-init", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("memfd_create for slrt-init: %w", err)
	}
	f := os.NewFile(uintptr(fd), "slrt-init")
	if _, err := f.Write(data); err != nil {
		f.Close()
		return nil, fmt.Errorf("write slrt-init to memfd: %w", err)
	}
	const seals = unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, seals); err != nil {
		f.Close()
		return nil, fmt.Errorf("seal slrt-init memfd: %w", err)
	}
	return f, nil
}
