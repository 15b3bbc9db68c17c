package container

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/slrt/slrt/runtime/cgroups"
	"github.com/slrt/slrt/runtime/namespaces"
)

// A Shell is a slrt-init spawned ahead of need and parked before its plan:
// the fast-start primitive for callers that do not know the container yet
// (a pod's next container). Create given a Shell skips the fork, the exec
// of the init from its memfd and the Go start-up of the init, which is
// most of what a create costs; it sends the plan, with the stdio and extra
// files, to the parked init instead.
//
// Fixed at spawn (a spec must match, see Fits):
//   - the namespaces made at clone (user, mount, pid, net, ipc, uts) and
//     those joined (compared by identity, not path);
//   - the user namespace's uid and gid mappings.
//
// Given later, with the plan: everything else — rootfs and mounts,
// process, seccomp, hooks, stdio and extra files, the console, the
// cgroup. With a CgroupParent the init waits in a staging cgroup of its
// own there, and a container whose cgroup is a sibling of it (a pod's
// containers, under the pod's cgroup) gets it renamed to its own name on
// cgroup v1 (cgroups.Rename: moving a process waits for an RCU grace
// period, several ms on a loaded VM); otherwise Create makes the cgroup
// and moves the init in,
// so a shell fits any linux.cgroupsPath. The cgroup and time namespaces
// are unshared by the init once it has its plan (after the move, so the
// cgroup namespace is rooted at the container's cgroup).
type Shell struct {
	mu      sync.Mutex
	kid     *child // nil once taken by Create or destroyed
	pid     int
	cfg     shellKey
	staging *cgroups.Manager // the init's cgroup until Create; nil without CgroupParent
	adopted bool             // Create renamed staging into the container's cgroup
}

// ShellConfig is what a shell fixes at spawn.
type ShellConfig struct {
	// Namespaces is linux.namespaces of the containers the shell is for:
	// each new or joined by path. A user namespace may be joined (a pod's,
	// hostUsers: false); a mount namespace may not (as for Create). Cgroup
	// and time namespaces may be listed; they are made later, when the
	// shell becomes a container.
	Namespaces []specs.LinuxNamespace
	// UIDMappings and GIDMappings are a new user namespace's mappings
	// (none for a joined one: it has its own).
	UIDMappings, GIDMappings []specs.LinuxIDMapping
	// CgroupParent, an absolute cgroupfs path (the pod's cgroup), is
	// where the parked init waits in a staging cgroup of its own, so its
	// memory is charged there and a sibling container cgroup can be had
	// by a rename. Empty: it waits in the spawner's cgroup.
	CgroupParent string
}

// ShellConfigFor is the config of shells that fit containers like s.
func ShellConfigFor(s *specs.Spec) ShellConfig {
	if s == nil || s.Linux == nil {
		return ShellConfig{}
	}
	cfg := ShellConfig{Namespaces: s.Linux.Namespaces}
	// A joined user namespace brings its own mappings (Create checks the
	// spec's against them); only a new one takes the spec's.
	for _, n := range s.Linux.Namespaces {
		if n.Type == specs.UserNamespace && n.Path == "" {
			cfg.UIDMappings, cfg.GIDMappings = s.Linux.UIDMappings, s.Linux.GIDMappings
		}
	}
	return cfg
}

// nsMode is how a shell or spec has one namespace kind: none (the
// runtime's own), new, or joined (by the namespace's device and inode).
type nsMode struct {
	new      bool
	dev, ino uint64
	path     string // for messages
}

func (m nsMode) String() string {
	switch {
	case m.new:
		return "new"
	case m.path != "":
		return "joined from " + m.path
	}
	return "the runtime's own"
}

func (m nsMode) same(o nsMode) bool {
	return m.new == o.new && m.dev == o.dev && m.ino == o.ino
}

// shellKinds are the namespaces fixed at clone; cgroup and time are not.
var shellKinds = []namespaces.Kind{
	specs.UserNamespace, specs.MountNamespace, specs.PIDNamespace,
	specs.NetworkNamespace, specs.IPCNamespace, specs.UTSNamespace,
}

// shellKey is the part of a spec a shell must match.
type shellKey struct {
	ns       map[namespaces.Kind]nsMode
	uid, gid []specs.LinuxIDMapping
	rootless bool
}

// keyOf derives the key from parsed namespaces; joined paths are stat'ed
// so two paths to one namespace compare equal.
func keyOf(ns *namespaces.Config, uid, gid []specs.LinuxIDMapping) (shellKey, error) {
	k := shellKey{ns: map[namespaces.Kind]nsMode{}, rootless: os.Geteuid() != 0}
	for _, kind := range shellKinds {
		var m nsMode
		switch p := ns.Join[kind]; {
		case ns.New[kind]:
			m.new = true
		case p != "" && !namespaces.Same(kind, p):
			var st unix.Stat_t
			if err := unix.Stat(p, &st); err != nil {
				return k, fmt.Errorf("%s namespace %s: %w", kind, p, err)
			}
			m.dev, m.ino, m.path = st.Dev, st.Ino, p
		}
		k.ns[kind] = m
	}
	if ns.New[specs.UserNamespace] {
		k.uid, k.gid = uid, gid
	}
	return k, nil
}

// NewShell spawns a parked init with cfg's namespaces. It does nothing
// more until Create gives it a plan; Destroy ends it.
func NewShell(cfg ShellConfig) (*Shell, error) {
	ns, err := namespaces.Parse(cfg.Namespaces)
	if err != nil {
		return nil, err
	}
	if !ns.New[specs.MountNamespace] {
		return nil, fmt.Errorf("shell: a new mount namespace is required")
	}
	joinUser := ns.Join[specs.UserNamespace]
	if joinUser != "" && namespaces.Same(specs.UserNamespace, joinUser) {
		joinUser = "" // our own: nothing to join
	}
	if joinUser != "" && (len(cfg.UIDMappings) > 0 || len(cfg.GIDMappings) > 0) {
		return nil, fmt.Errorf("shell: uid/gid mappings given for the joined user namespace %s (its own are used)", joinUser)
	}
	userNS := ns.New[specs.UserNamespace]
	if userNS && (len(cfg.UIDMappings) == 0 || len(cfg.GIDMappings) == 0) {
		return nil, fmt.Errorf("shell: uid and gid mappings are required with a new user namespace")
	}
	if !userNS && (len(cfg.UIDMappings) > 0 || len(cfg.GIDMappings) > 0) {
		return nil, fmt.Errorf("shell: uid/gid mappings given without a user namespace")
	}
	key, err := keyOf(ns, cfg.UIDMappings, cfg.GIDMappings)
	if err != nil {
		return nil, fmt.Errorf("shell: %w", err)
	}
	// The shell's stdio until it has a container: /dev/null, so a parked
	// init holds no pipe or terminal of whoever spawned it.
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("shell: %w", err)
	}
	defer null.Close()
	req := &spawnReq{
		cloneFlags: shellCloneFlags(ns),
		uidMaps:    idMaps(cfg.UIDMappings),
		gidMaps:    idMaps(cfg.GIDMappings),
		setgroups:  !key.rootless,
		stdin:      null, stdout: null, stderr: null,
	}
	for _, k := range []namespaces.Kind{specs.IPCNamespace, specs.UTSNamespace, specs.NetworkNamespace, specs.PIDNamespace} {
		if p := ns.Join[k]; p != "" && !namespaces.Same(k, p) {
			req.join = append(req.join, namespaces.Target{Kind: k, Path: p})
		}
	}
	if joinUser != "" {
		// A pod with hostUsers: false: as for Create, slrt-nsenter joins
		// the pod's user namespace and clones the init with the new
		// namespaces, so that namespace owns them and its root may mount
		// in the container's mount namespace.
		f, err := os.Open(joinUser)
		if err != nil {
			return nil, fmt.Errorf("shell: open user namespace %s: %w", joinUser, err)
		}
		defer f.Close()
		req.userns = f
	}
	if cfg.CgroupParent != "" && !key.rootless {
		if !filepath.IsAbs(cfg.CgroupParent) {
			return nil, fmt.Errorf("shell: cgroup parent %q is not an absolute path", cfg.CgroupParent)
		}
		var rnd [6]byte
		if _, err := rand.Read(rnd[:]); err != nil {
			return nil, fmt.Errorf("shell: %w", err)
		}
		name := filepath.Join(cfg.CgroupParent, "slrt-shell-"+hex.EncodeToString(rnd[:]))
		if req.cg, err = cgroups.New(name, false, "", nil); err != nil {
			return nil, fmt.Errorf("shell: %w", err)
		}
	}
	kid, err := spawn(req)
	if err != nil {
		if req.cg != nil {
			_ = req.cg.Delete()
		}
		return nil, fmt.Errorf("shell: %w", err)
	}
	return &Shell{kid: kid, pid: kid.cmd.Process.Pid, cfg: key, staging: req.cg}, nil
}

// shellCloneFlags are the namespaces a shell makes at clone: all new ones
// but cgroup (made by the init after it is moved into the container's
// cgroup) and time (always unshared by the init).
func shellCloneFlags(ns *namespaces.Config) uintptr {
	return ns.CloneFlags(false) &^ unix.CLONE_NEWCGROUP
}

// Pid is the parked init's pid (for callers that reap orphans themselves
// and must leave this one to the engine).
func (s *Shell) Pid() int { return s.pid }

// Fits tells whether a container with spec sp can be made from the shell;
// the error says why not, naming what differs.
func (s *Shell) Fits(sp *specs.Spec) error {
	if sp == nil || sp.Linux == nil {
		return errors.New("the spec has no linux section")
	}
	ns, err := namespaces.Parse(sp.Linux.Namespaces)
	if err != nil {
		return err
	}
	return s.fits(ns, sp)
}

func (s *Shell) fits(ns *namespaces.Config, sp *specs.Spec) error {
	key, err := keyOf(ns, sp.Linux.UIDMappings, sp.Linux.GIDMappings)
	if err != nil {
		return err
	}
	if key.rootless != s.cfg.rootless {
		return errors.New("the shell was spawned with other privileges than the caller has")
	}
	for _, k := range shellKinds {
		have, want := s.cfg.ns[k], key.ns[k]
		if !have.same(want) {
			return fmt.Errorf("%s namespace: the shell's is %s, the spec's is %s", k, have, want)
		}
	}
	if !slices.Equal(s.cfg.uid, key.uid) {
		return fmt.Errorf("linux.uidMappings %v differ from the shell's %v", key.uid, s.cfg.uid)
	}
	if !slices.Equal(s.cfg.gid, key.gid) {
		return fmt.Errorf("linux.gidMappings %v differ from the shell's %v", key.gid, s.cfg.gid)
	}
	return nil
}

// Alive reports whether the parked init still waits for a plan (it may
// have been killed, e.g. by an OOM in the spawner's cgroup).
func (s *Shell) Alive() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.kid != nil && s.kid.parked()
}

// Destroy kills and reaps the parked init; its namespaces and staging
// cgroup go with it. It does nothing to a shell Create has taken.
func (s *Shell) Destroy() {
	s.mu.Lock()
	kid, staging := s.kid, s.staging
	s.kid = nil
	if kid != nil && !s.adopted {
		s.staging = nil
	} else {
		staging = nil // the container's now
	}
	s.mu.Unlock()
	if kid != nil {
		kid.kill()
	}
	if staging != nil {
		if err := staging.Delete(); err != nil {
			Warnf("shell %d: %v", s.pid, err)
		}
	}
}

// adoptCgroup renames the shell's staging cgroup into the container's
// (path, systemd, id as cgroups.New takes them) and applies res. It
// returns nil, nil when there is nothing to rename or it cannot be done
// there (another parent, a unified host): Create then makes the cgroup and
// take moves the init. nil s is a container without a shell.
func (s *Shell) adoptCgroup(path string, systemd bool, id string, res *specs.LinuxResources) (*cgroups.Manager, error) {
	if s == nil {
		return nil, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.kid == nil || s.staging == nil {
		return nil, nil // take reports a used shell
	}
	m, err := s.staging.Rename(path, systemd, id, res)
	if errors.Is(err, cgroups.ErrNotRenamable) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	s.adopted = true
	return m, nil
}

// take hands the parked init to Create: the files the plan carries are
// recorded on it, and it is moved into the container's cgroup. On error the
// shell is destroyed.
func (s *Shell) take(r *spawnReq) (*child, error) {
	s.mu.Lock()
	kid, adopted := s.kid, s.adopted
	s.kid = nil
	staging := s.staging
	s.staging = nil
	s.mu.Unlock()
	if kid == nil {
		return nil, errors.New("fast-start shell: already used or destroyed")
	}
	if adopted {
		staging = nil // renamed: it is r.cg now
	}
	// The staging cgroup is empty once the init has left it (moved, or
	// killed on failure).
	defer func() {
		if staging != nil {
			if err := staging.Delete(); err != nil {
				Warnf("shell %d: %v", s.pid, err)
			}
		}
	}()
	if !kid.parked() {
		kid.kill()
		return nil, errors.New("fast-start shell: its init has exited")
	}
	kid.planFiles = append([]*os.File{orDefault(r.stdin, os.Stdin), orDefault(r.stdout, os.Stdout), orDefault(r.stderr, os.Stderr)}, r.extra...)
	if r.cg != nil && !adopted {
		if err := r.cg.Add(kid.cmd.Process.Pid); err != nil {
			kid.kill()
			return nil, err
		}
	}
	return kid, nil
}

// parked is true while the init is alive and has not sent anything: a
// parked init only reads, so a readable or hung-up socket means it exited.
func (c *child) parked() bool {
	if c.sync < 0 {
		return false
	}
	pfd := []unix.PollFd{{Fd: int32(c.sync), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(pfd, 0)
		if err == unix.EINTR {
			continue
		}
		return err == nil && n == 0
	}
}
