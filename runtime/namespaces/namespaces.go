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
	// O_NONBLOCK|O_NOCTTY: a path naming a FIFO or a terminal must fail
	// the check below, not hang or acquire a terminal.
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NONBLOCK|unix.O_NOCTTY, 0)
	if err != nil {
		return fmt.Errorf("open namespace %s: %w", path, err)
	}
	defer unix.Close(fd)
	var fs unix.Statfs_t
	if err := unix.Fstatfs(fd, &fs); err != nil || fs.Type != unix.NSFS_MAGIC {
		return fmt.Errorf("%s is not a namespace", path)
	}
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
// so the process start forks inherits them. Afterwards the thread goes back
// to the namespaces it had and is handed back to the Go scheduler; if that
// fails, its goroutine ends locked and the runtime retires the thread (or,
// for the main thread, parks it forever), so no other goroutine ever runs in
// a container's namespace. Restoring matters: the main thread cannot be
// retired, and /proc/self/ns shows the main thread's namespaces.
//
// User and mount namespaces cannot be entered here (a multi-threaded process
// cannot join a user namespace, and a mount namespace change would need
// unshare(CLONE_FS)); callers pass those to the init instead.
func Spawn(targets []Target, start func() error) error {
	if len(targets) == 0 {
		return start()
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		err, clean := enterAndStart(targets, start)
		if clean {
			runtime.UnlockOSThread()
		}
		errc <- err
	}()
	return <-errc
}

// enterAndStart joins the targets, runs start, and goes back. clean tells
// whether the thread is in its original namespaces again.
func enterAndStart(targets []Target, start func() error) (err error, clean bool) {
	// Open every target, and the thread's own namespaces to come back to,
	// before changing anything.
	join := make([]int, 0, len(targets))
	back := make([]int, 0, len(targets))
	defer func() {
		for _, fd := range append(join, back...) {
			unix.Close(fd)
		}
	}()
	for _, t := range targets {
		in, ok := kinds[t.Kind]
		if !ok || t.Kind == specs.UserNamespace || t.Kind == specs.MountNamespace {
			return fmt.Errorf("join %s namespace %s: not possible from the runtime process", t.Kind, t.Path), true
		}
		fd, err := unix.Open(t.Path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("open %s namespace %s: %w", t.Kind, t.Path, err), true
		}
		join = append(join, fd)
		// pid: the thread's pid_for_children, which setns changes.
		own := "/proc/thread-self/ns/" + in.proc
		if t.Kind == specs.PIDNamespace || t.Kind == specs.TimeNamespace {
			own += "_for_children"
		}
		fd, err = unix.Open(own, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("open own %s namespace: %w", t.Kind, err), true
		}
		back = append(back, fd)
	}
	clean = true
	defer func() {
		for i, t := range targets {
			if e := unix.Setns(back[i], int(kinds[t.Kind].flag)); e != nil {
				clean = false
			}
		}
	}()
	for i, t := range targets {
		if err := unix.Setns(join[i], int(kinds[t.Kind].flag)); err != nil {
			return fmt.Errorf("join %s namespace %s: %w", t.Kind, t.Path, err), clean
		}
	}
	return start(), clean
}

// Same reports whether path is the namespace of kind k the runtime itself
// is in (joining it would change nothing).
func Same(k Kind, path string) bool {
	a, err1 := os.Stat(path)
	b, err2 := os.Stat(fmt.Sprintf("/proc/self/ns/%s", kinds[k].proc))
	return err1 == nil && err2 == nil && os.SameFile(a, b)
}
