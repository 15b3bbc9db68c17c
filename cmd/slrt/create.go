package main

import (
	"flag"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/slrt/slrt/runtime/container"
)

// createFlags are the options create and run share.
type createFlags struct {
	bundle        string
	pidFile       string
	consoleSocket string
	noPivot       bool
	noNewKeyring  bool
	preserveFDs   int
}

func (f *createFlags) register(fs *flag.FlagSet) {
	stringFlag(fs, &f.bundle, "bundle,b", "", "path to the root of the bundle directory, defaults to the current directory")
	stringFlag(fs, &f.consoleSocket, "console-socket", "", "path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal")
	stringFlag(fs, &f.pidFile, "pid-file", "", "specify the file to write the process id to")
	boolFlag(fs, &f.noPivot, "no-pivot", "do not use pivot root to jail process inside rootfs.  This should be used whenever the rootfs is on top of a ramdisk")
	// The engine never creates a session keyring, so the flag is already
	// what slrt does; it is accepted because containerd and podman pass it.
	boolFlag(fs, &f.noNewKeyring, "no-new-keyring", "do not create a new session keyring for the container (slrt never does)")
	intFlag(fs, &f.preserveFDs, "preserve-fds", "Pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total)")
}

// preservedFiles are the caller's fds 3 .. 3+n-1, which the workload gets
// at the same numbers (runc's --preserve-fds).
func preservedFiles(n int) ([]*os.File, error) {
	if n < 0 {
		return nil, fmt.Errorf("--preserve-fds: %d is negative", n)
	}
	files := make([]*os.File, 0, n)
	for i := 0; i < n; i++ {
		fd := 3 + i
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil {
			return nil, fmt.Errorf("--preserve-fds %d: fd %d is not open", n, fd)
		}
		files = append(files, os.NewFile(uintptr(fd), fmt.Sprintf("preserved-%d", fd)))
	}
	return files, nil
}

func (f *createFlags) opts(g *globals, id string, detached bool) (container.CreateOpts, error) {
	extra, err := preservedFiles(f.preserveFDs)
	if err != nil {
		return container.CreateOpts{}, err
	}
	bundle := f.bundle
	if bundle == "" {
		bundle = "."
	}
	spec, err := fgacSpec(bundle) // nil unless the spec asks for an FGAC profile
	if err != nil {
		return container.CreateOpts{}, err
	}
	return container.CreateOpts{
		ID:            id,
		Bundle:        bundle,
		Spec:          spec,
		ConsoleSocket: f.consoleSocket,
		NoPivot:       f.noPivot,
		SystemdCgroup: g.systemdCgroup,
		Detached:      detached,
		ExtraFiles:    extra,
	}, nil
}

var createCommand = &command{
	name:  "create",
	args:  "<container-id>",
	short: "create a container",
	nargs: 1,
	setup: func(fs *flag.FlagSet, g *globals) func([]string) error {
		var f createFlags
		f.register(fs)
		return func(args []string) error {
			opts, err := f.opts(g, args[0], true)
			if err != nil {
				return err
			}
			c, err := container.Create(g.root, opts)
			if err != nil {
				return fmt.Errorf("slrt create failed: %w", describe(err))
			}
			return writeInitPid(c, f.pidFile)
		}
	},
}

// writeInitPid writes the init's pid to the --pid-file; if that fails the
// container is removed again, so a caller that sees the error has nothing
// to clean up (runc does the same).
func writeInitPid(c *container.Container, path string) error {
	if path == "" {
		return nil
	}
	st, err := c.State()
	if err == nil {
		err = writePidFile(path, st.Pid)
	}
	if err != nil {
		c.Delete(true)
		return err
	}
	return nil
}
