package container

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/slrt/slrt/runtime/cgroups"
	"github.com/slrt/slrt/runtime/channel"
	"github.com/slrt/slrt/runtime/hooks"
	"github.com/slrt/slrt/runtime/namespaces"
	"github.com/slrt/slrt/runtime/spec"
)

// Warnf receives warnings the engine does not fail on (a poststop hook
// that failed, a skipped cgroup in rootless mode). Callers route it to
// their log.
var Warnf = func(format string, args ...any) {}

// Container is one container under a state root.
type Container struct {
	root  string
	dir   string
	state State
	// spec is the container's OCI spec. A container from Load has only
	// specRaw (its saved config.json) and hooks until spec is needed:
	// decoding the whole spec type tree with encoding/json cost a measured
	// ~90 page faults (over 1 ms) in every CLI start, kill, state and
	// delete, which need at most the hooks. See fullSpec.
	spec    *specs.Spec
	specRaw []byte
	hooks   *specs.Hooks
	cgMgr   *cgroups.Manager
	// init and sync are set only in the process that created the
	// container: it can wait for the init and start it over the sync
	// socket.
	init *Process
	kid  *child
	sync int
}

// Create validates the bundle, creates the container's namespaces, cgroup
// and root filesystem, and leaves its init parked until Start. When it
// fails nothing is left behind: no process, cgroup, mount or state.
func Create(root string, opts CreateOpts) (_ *Container, retErr error) {
	if err := checkID(opts.ID); err != nil {
		return nil, err
	}
	bundle, err := filepath.Abs(opts.Bundle)
	if err != nil {
		return nil, fmt.Errorf("bundle %q: %w", opts.Bundle, err)
	}
	s := opts.Spec
	if s == nil {
		if s, err = spec.Load(bundle); err != nil {
			return nil, err
		}
	}
	if s.Linux == nil {
		return nil, fmt.Errorf("linux: missing from config.json")
	}
	ns, err := namespaces.Parse(s.Linux.Namespaces)
	if err != nil {
		return nil, err
	}
	if s, err = joinedUserNS(s, ns); err != nil {
		return nil, err
	}
	rootless := os.Geteuid() != 0
	plan, err := buildPlan(s, bundle, ns, &opts, rootless)
	if err != nil {
		return nil, err
	}
	seccompProg, err := seccompPlan(s, &plan.Proc)
	if err != nil {
		return nil, err
	}
	if opts.Shell != nil {
		if err := opts.Shell.fits(ns, s); err != nil {
			return nil, fmt.Errorf("fast-start shell does not fit: %w", err)
		}
		// Create owns a shell that fits: a failure ends it (before
		// c.destroy removes the cgroup it may be in: defers run last
		// first, and this one comes after c.destroy's).
		defer func() {
			if retErr != nil {
				opts.Shell.Destroy()
			}
		}()
	}

	if err := os.MkdirAll(root, 0o711); err != nil {
		return nil, fmt.Errorf("create state root %s: %w", root, err)
	}
	dir := filepath.Join(root, opts.ID)
	if err := os.Mkdir(dir, 0o711); err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("container %q: %w", opts.ID, ErrExist)
		}
		return nil, fmt.Errorf("create state dir %s: %w", dir, err)
	}
	c := &Container{root: root, dir: dir, spec: s, sync: -1}
	c.state = State{
		State: specs.State{
			Version: specs.Version, ID: opts.ID, Status: Creating,
			Bundle: bundle, Annotations: s.Annotations,
		},
		Rootfs:  plan.Rootfs.Path,
		Systemd: opts.SystemdCgroup,
		Owner:   os.Geteuid(),
	}
	defer func() {
		if retErr != nil {
			c.destroy()
		}
	}()

	if err := c.makeCgroup(s, rootless, opts.Shell); err != nil {
		return nil, err
	}
	req := &spawnReq{
		cloneFlags: ns.CloneFlags(c.cgMgr == nil || c.cgMgr.Unified()),
		uidMaps:    idMaps(s.Linux.UIDMappings),
		gidMaps:    idMaps(s.Linux.GIDMappings),
		setgroups:  !rootless,
		cg:         c.cgMgr,
		stdin:      opts.Stdin, stdout: opts.Stdout, stderr: opts.Stderr,
		// made just now by makeCgroup, so it cannot be frozen
		bornInCgroup: true,
	}
	if opts.Shell != nil {
		// The shell made its namespaces already, without the cgroup one:
		// the init unshares that once it is in the cgroup (below).
		req.cloneFlags = shellCloneFlags(ns)
	}
	plan.UnshareCgroupNS = ns.New[specs.CgroupNamespace] && req.cloneFlags&unix.CLONE_NEWCGROUP == 0
	for _, k := range []namespaces.Kind{specs.IPCNamespace, specs.UTSNamespace, specs.NetworkNamespace, specs.PIDNamespace, specs.CgroupNamespace, specs.TimeNamespace} {
		if p := ns.Join[k]; p != "" && !namespaces.Same(k, p) {
			req.join = append(req.join, namespaces.Target{Kind: k, Path: p})
		}
	}
	var closeAfter []*os.File
	defer func() {
		for _, f := range closeAfter {
			f.Close()
		}
	}()
	usernsPath := ns.Join[specs.UserNamespace]
	// A shell joined it at spawn (fits checked it is this one): only a
	// fresh init is cloned into it here.
	if usernsPath != "" && opts.Shell == nil {
		// Opened once: the namespace checked is the one joined.
		if req.userns, err = os.Open(usernsPath); err != nil {
			return nil, fmt.Errorf("linux.namespaces: open user namespace %s: %w", usernsPath, err)
		}
		closeAfter = append(closeAfter, req.userns)
		req.uidMaps, req.gidMaps = nil, nil // fixed already: nothing to write
	}
	if opts.Detached {
		l, err := listen(filepath.Join(dir, listenFile))
		if err != nil {
			return nil, err
		}
		closeAfter = append(closeAfter, l)
		plan.ListenFD = req.pass(l)
	}
	if plan.Console {
		sock, err := consoleSocket(opts.ConsoleSocket, opts.ConsoleFD)
		if err != nil {
			return nil, err
		}
		closeAfter = append(closeAfter, sock)
		plan.ConsoleFD = req.pass(sock)
	}

	if sock, err := seccompListener(s, seccompProg, &plan.Proc, req); err != nil {
		return nil, err
	} else if sock != nil {
		closeAfter = append(closeAfter, sock)
	}
	idmapped, err := idmapMounts(s, plan, req)
	if err != nil {
		return nil, err
	}
	closeAfter = append(closeAfter, idmapped...)
	sources, err := bindSources(plan, req)
	if err != nil {
		return nil, err
	}
	closeAfter = append(closeAfter, sources...)
	for _, f := range opts.ExtraFiles {
		plan.PreserveFDs = append(plan.PreserveFDs, req.pass(f))
	}
	var kid *child
	if opts.Shell != nil {
		kid, err = opts.Shell.take(req)
	} else {
		kid, err = spawn(req)
	}
	if err != nil {
		return nil, err
	}
	c.kid, c.sync = kid, kid.sync
	c.state.Pid = kid.cmd.Process.Pid
	if usernsPath != "" {
		if err := checkJoinedMaps(c.state.Pid, s, usernsPath); err != nil {
			return nil, err
		}
	}
	if c.state.InitStart, _, err = procStat(c.state.Pid); err != nil {
		return nil, fmt.Errorf("read init start time: %w", err)
	}
	if err := c.seccompState(&plan.Proc, c.state.Pid, Creating); err != nil {
		return nil, err
	}
	if err := c.runInit(plan); err != nil {
		return nil, fmt.Errorf("create container %q: %w", opts.ID, err)
	}
	c.state.Created = time.Now().UTC()
	c.state.Status = Created
	if err := writeJSON(dir, specFile, s); err != nil {
		return nil, err
	}
	if err := writeJSON(dir, stateFile, &c.state); err != nil {
		return nil, err
	}
	c.init = &Process{Pid: c.state.Pid, wait: kid.wait}
	return c, nil
}

// runInit drives the init through creation: plan, runtime hooks, parked.
func (c *Container) runInit(plan *channel.Plan) error {
	if err := c.kid.send(&channel.Message{Kind: channel.KindPlan, Plan: plan}); err != nil {
		return err
	}
	if _, err := channel.Expect(c.sync, channel.KindMountsReady); err != nil {
		return initErr(err)
	}
	state := c.ociState(Creating)
	if h := c.spec.Hooks; h != nil {
		for _, set := range []struct {
			name string
			list []specs.Hook
		}{{"prestart", h.Prestart}, {"createRuntime", h.CreateRuntime}} { //nolint:staticcheck // prestart is deprecated but still run
			hs, err := hooks.FromSpec(set.name, set.list)
			if err != nil {
				return err
			}
			if err := hooks.Run(set.name, hs, state); err != nil {
				return err
			}
		}
	}
	if err := c.kid.send(&channel.Message{Kind: channel.KindContinue, State: state}); err != nil {
		return err
	}
	if _, err := channel.Expect(c.sync, channel.KindCreated); err != nil {
		return initErr(err)
	}
	return nil
}

// initErr turns "the init went away" into something a user can act on.
func initErr(err error) error {
	if errors.Is(err, errEOF) {
		return errors.New("init exited during setup (see its stderr)")
	}
	return err
}

func (c *Container) makeCgroup(s *specs.Spec, rootless bool, sh *Shell) error {
	if rootless {
		return c.rootlessCgroup(s)
	}
	// A shell parked in a staging cgroup beside the container's becomes
	// it by a rename, without the cost of moving the init (Shell).
	m, err := sh.adoptCgroup(s.Linux.CgroupsPath, c.state.Systemd, c.state.ID, cgroupResources(s))
	if err != nil {
		return err
	}
	if m == nil {
		if m, err = cgroups.New(s.Linux.CgroupsPath, c.state.Systemd, c.state.ID, cgroupResources(s)); err != nil {
			return err
		}
	}
	c.cgMgr = m
	c.state.CgroupPath = m.Path()
	return nil
}

// cg returns the cgroup manager, loading it for containers Loaded from
// their state; nil when the container has none (rootless).
func (c *Container) cg() *cgroups.Manager {
	if c.cgMgr == nil && c.state.CgroupPath != "" {
		if m, err := cgroups.Load(c.state.CgroupPath, c.state.Systemd); err == nil {
			c.cgMgr = m
		}
	}
	return c.cgMgr
}

// destroy undoes a failed Create: kill the init, remove cgroup and state.
func (c *Container) destroy() {
	if c.kid != nil {
		c.kid.kill()
		c.sync = -1
	}
	if c.cgMgr != nil {
		if err := c.cgMgr.Delete(); err != nil {
			Warnf("remove cgroup of failed container %s: %v", c.state.ID, err)
		}
	}
	os.RemoveAll(c.dir)
}

// listen makes the socket on which a detached container's init waits for
// `slrt start`. Only the owner may connect.
func listen(path string) (*os.File, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("create start socket: %w", err)
	}
	if len(path) >= 108 {
		unix.Close(fd)
		return nil, fmt.Errorf("start socket path %s is longer than 107 bytes: use a shorter --root", path)
	}
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("bind start socket %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("chmod start socket %s: %w", path, err)
	}
	if err := unix.Listen(fd, 4); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("listen on start socket %s: %w", path, err)
	}
	return os.NewFile(uintptr(fd), path), nil
}

// consoleSocket connects to --console-socket, or wraps a socket fd given
// in-process.
func consoleSocket(path string, fd int) (*os.File, error) {
	if path == "" {
		if fd <= 0 {
			return nil, fmt.Errorf("process.terminal is true but no console socket was given")
		}
		nfd, err := unix.Dup(fd)
		if err != nil {
			return nil, fmt.Errorf("dup console socket: %w", err)
		}
		return os.NewFile(uintptr(nfd), "console"), nil
	}
	sfd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("create console socket: %w", err)
	}
	if err := unix.Connect(sfd, &unix.SockaddrUnix{Name: path}); err != nil {
		unix.Close(sfd)
		return nil, fmt.Errorf("connect to console socket %s: %w", path, err)
	}
	return os.NewFile(uintptr(sfd), path), nil
}
