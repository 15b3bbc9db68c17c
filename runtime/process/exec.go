package process

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/slrt/slrt/runtime/channel"
)

// ErrNotFound is wrapped by Lookup when a name without a slash is in none
// of the PATH directories (the message is the one Go's os/exec uses).
var ErrNotFound = errors.New("executable file not found in $PATH")

// LoadSeccomp, when set, is called by Exec after every other step and right
// before execve: the filter must come last, since it may forbid the very
// syscalls the setup needs, and after no_new_privs, which lets an
// unprivileged process install it. slrt-init sets it to the seccomp loader
// (pp.Seccomp, pp.SeccompFlags, pp.SeccompListenerFD).
var LoadSeccomp func(pp *channel.ProcessPlan) error

// Exec replaces the init with the workload: chdir to cwd (the init has
// already pivoted, so cwd is a container path), find args[0], set the
// AppArmor profile or SELinux label for the execve, load the seccomp
// filter, execve. It returns only on failure.
func Exec(pp *channel.ProcessPlan) error {
	// Prepare entered cwd as root; entering it again as the workload's user
	// makes a cwd that is a symlink or was replaced resolve with that user's
	// rights. A user without search permission stays where root put it, but
	// only if root put it there: a start request may have changed cwd since.
	if err := unix.Chdir(pp.Cwd); err != nil {
		denied := errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM)
		if wd, werr := unix.Getwd(); !denied || werr != nil || wd != filepath.Clean(pp.Cwd) {
			return fmt.Errorf("chdir to process.cwd %q: %w", pp.Cwd, err)
		}
	}
	if err := checkCwdInside(pp.Cwd); err != nil {
		return err
	}
	prog, err := Lookup(pp.Args[0], pp.Env)
	if err != nil {
		return err
	}
	if err := applyLSM(pp); err != nil {
		return err
	}
	if LoadSeccomp != nil {
		if err := LoadSeccomp(pp); err != nil {
			return fmt.Errorf("load seccomp filter: %w", err)
		}
	}
	if err := unix.Exec(prog, pp.Args, pp.Env); err != nil {
		return fmt.Errorf("exec %q: %w", prog, err)
	}
	return nil
}

// checkCwdInside fails when the working directory is outside the root: a
// cwd reached through an fd of a host directory (/proc/self/fd/N,
// CVE-2024-21626) is, and getcwd(2) then answers "(unreachable)/...",
// which Getwd reports as an error.
func checkCwdInside(cwd string) error {
	if wd, err := unix.Getwd(); err != nil || !strings.HasPrefix(wd, "/") {
		return fmt.Errorf("process.cwd %q is outside the container's root filesystem", cwd)
	}
	return nil
}

// Lookup finds the program execve will run, as a shell would: a name with a
// slash is used as it is (relative to the cwd), any other is searched for in
// the PATH of env (the last PATH= entry wins, as when the variables are set
// in order; an empty PATH element means the cwd). The caller uses it to
// fail a start before reporting success.
func Lookup(args0 string, env []string) (string, error) {
	if args0 == "" {
		return "", errors.New(`exec: "": empty program name`)
	}
	if strings.Contains(args0, "/") {
		if err := executable(args0); err != nil {
			return "", fmt.Errorf("exec: %q: %w", args0, err)
		}
		return args0, nil
	}
	for _, dir := range filepath.SplitList(pathOf(env)) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, args0)
		if dir == "." {
			p = "./" + args0 // keep a slash so execve does not search again
		}
		if executable(p) == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("exec: %q: %w", args0, ErrNotFound)
}

func pathOf(env []string) string {
	p := ""
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "PATH="); ok {
			p = v
		}
	}
	return p
}

// executable checks that p is a regular file the caller may execute.
func executable(p string) error {
	st, err := os.Stat(p)
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		if st.IsDir() {
			return fmt.Errorf("%s: is a directory", p)
		}
		return fmt.Errorf("%s: not a regular file", p)
	}
	if err := unix.Faccessat(unix.AT_FDCWD, p, unix.X_OK, unix.AT_EACCESS); err != nil {
		return &fs.PathError{Op: "access", Path: p, Err: err}
	}
	return nil
}
