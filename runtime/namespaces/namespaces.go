// Package namespaces turns linux.namespaces into clone flags and joins
// existing namespaces for the spawn of a container's init.
//
// New namespaces come from the clone flags of the one fork. Existing ones
// (a pod's containers share the sandbox's net, ipc and uts, sometimes pid)
// are joined with setns on a locked OS thread right before that fork, so the
// child inherits them and the rest of the (multi-threaded) Go process never
// changes namespace: the thread is thrown away afterwards.
package namespaces

import (
	"fmt"
	"os"
	"runtime"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Kind is a namespace type as the runtime-spec names it.
type Kind = specs.LinuxNamespaceType

type info struct {
	flag  uintptr
	proc  string // name under /proc/PID/ns
	order int    // setns order: see Join
}

var kinds = map[Kind]info{
	specs.UserNamespace:    {unix.CLONE_NEWUSER, "user", 0},
	specs.IPCNamespace:     {unix.CLONE_NEWIPC, "ipc", 1},
	specs.UTSNamespace:     {unix.CLONE_NEWUTS, "uts", 2},
	specs.NetworkNamespace: {unix.CLONE_NEWNET, "net", 3},
	specs.PIDNamespace:     {unix.CLONE_NEWPID, "pid", 4},
	specs.CgroupNamespace:  {unix.CLONE_NEWCGROUP, "cgroup", 5},
	specs.TimeNamespace:    {unix.CLONE_NEWTIME, "time", 6},
	specs.MountNamespace:   {unix.CLONE_NEWNS, "mnt", 7},
}

// Config is linux.namespaces, checked and sorted out.
type Config struct {
	// New holds the namespaces the container gets of its own.
	New map[Kind]bool
	// Join maps a namespace kind to the path of an existing one.
	Join map[Kind]string
}

// Has reports whether the container has its own or a joined namespace of k
// (as opposed to sharing the runtime's).
func (c *Config) Has(k Kind) bool { return c.New[k] || c.Join[k] != "" }

// Parse checks linux.namespaces: known types, no duplicates, paths that
// exist and are namespaces of the right type.
func Parse(list []specs.LinuxNamespace) (*Config, error) {
	c := &Config{New: map[Kind]bool{}, Join: map[Kind]string{}}
	for i, ns := range list {
		in, ok := kinds[ns.Type]
		if !ok {
			return nil, fmt.Errorf("linux.namespaces[%d].type: unknown namespace type %q", i, ns.Type)
		}
		if c.Has(ns.Type) {
			return nil, fmt.Errorf("linux.namespaces[%d]: namespace %q is listed twice", i, ns.Type)
		}
		if ns.Path == "" {
			c.New[ns.Type] = true
			continue
		}
		if err := checkPath(ns.Path, in.flag); err != nil {
			return nil, fmt.Errorf("linux.namespaces[%d].path: %w", i, err)
		}
		c.Join[ns.Type] = ns.Path
	}
	return c, nil
}

// checkPath opens path and asks the kernel which namespace type it is.
func checkPath(path string, flag uintptr) error {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open namespace %s: %w", path, err)
	}
	defer unix.Close(fd)
	// NS_GET_NSTYPE returns the CLONE_NEW* flag of the namespace.
	t, err := unix.IoctlRetInt(fd, unix.NS_GET_NSTYPE)
	if err != nil {
		return fmt.Errorf("%s is not a namespace: %w", path, err)
	}
	if uintptr(t) != flag {
		return fmt.Errorf("%s is a namespace of another type", path)
	}
	return nil
}

// CloneFlags are the flags for the namespaces created at clone. The time
// namespace is excluded (it can only be unshared, for the children of the
// caller) and so is cgroup when cgroupAtClone is false: on cgroup v1 the
// init is placed in its cgroups after clone, and a cgroup namespace made
// before that would have the wrong root, so the init unshares it later.
func (c *Config) CloneFlags(cgroupAtClone bool) uintptr {
	var f uintptr
	for k := range c.New {
		switch k {
		case specs.TimeNamespace:
			continue
		case specs.CgroupNamespace:
			if !cgroupAtClone {
				continue
			}
		}
		f |= kinds[k].flag
	}
	return f
}

// ProcPath is where the namespace of kind k of process pid is.
func ProcPath(pid int, k Kind) string {
	return fmt.Sprintf("/proc/%d/ns/%s", pid, kinds[k].proc)
}

// Target is one namespace to enter before the spawn.
type Target struct {
	Kind Kind
	Path string
}

// Spawn runs start on an OS thread that first entered the given namespaces,
// so the process start forks inherits them. The thread is never given back
// to the Go scheduler: its goroutine ends locked, and the runtime then
// terminates the thread. User and mount namespaces cannot be entered here
// (a multi-threaded process cannot join a user namespace, and a mount
// namespace change would need unshare(CLONE_FS)); callers pass those to the
// init instead.
func Spawn(targets []Target, start func() error) error {
	if len(targets) == 0 {
		return start()
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// No UnlockOSThread: this thread's namespaces are tainted.
		errc <- enterAndStart(targets, start)
	}()
	return <-errc
}

func enterAndStart(targets []Target, start func() error) error {
	// Open every path first: once a pid or net namespace is entered, the
	// paths still resolve in our mount namespace, but keep it simple and
	// order-independent.
	fds := make([]int, len(targets))
	for i := range fds {
		fds[i] = -1
	}
	defer func() {
		for _, fd := range fds {
			if fd >= 0 {
				unix.Close(fd)
			}
		}
	}()
	for i, t := range targets {
		in, ok := kinds[t.Kind]
		if !ok || t.Kind == specs.UserNamespace || t.Kind == specs.MountNamespace {
			return fmt.Errorf("join %s namespace %s: not possible from the runtime process", t.Kind, t.Path)
		}
		fd, err := unix.Open(t.Path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("open %s namespace %s: %w", t.Kind, t.Path, err)
		}
		fds[i] = fd
		_ = in
	}
	for i, t := range targets {
		if err := unix.Setns(fds[i], int(kinds[t.Kind].flag)); err != nil {
			return fmt.Errorf("join %s namespace %s: %w", t.Kind, t.Path, err)
		}
	}
	return start()
}

// Same reports whether path is the namespace of kind k the runtime itself
// is in (joining it would change nothing).
func Same(k Kind, path string) bool {
	a, err1 := os.Stat(path)
	b, err2 := os.Stat(fmt.Sprintf("/proc/self/ns/%s", kinds[k].proc))
	return err1 == nil && err2 == nil && os.SameFile(a, b)
}
