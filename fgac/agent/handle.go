package agent

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/slrt/slrt/fgac/policy"
)

// handle answers one notification. Every path ends in exactly one answer:
// the emulated syscall's result, EPERM for a refusal, or (mknod of a
// non-device only) FLAG_CONTINUE.
func (c *conn) handle(n *notif) {
	val, err := c.decide(n)
	if err == errContinue {
		respondContinue(c.fd, n.ID)
		return
	}
	errno := toErrno(err)
	switch {
	case err == nil:
	case errors.Is(err, errGone):
		c.a.logf("%s: syscall %d: %v", c.name, n.Nr, err)
		return // nobody to answer
	default:
		c.a.logf("%s: %v (%s)", c.name, err, errno)
	}
	respond(c.fd, n.ID, val, errno)
}

// errContinue: let the kernel run the syscall (decided on registers only).
var errContinue = errors.New("continue")

func toErrno(err error) unix.Errno {
	var errno unix.Errno
	switch {
	case err == nil:
		return 0
	case errors.Is(err, policy.ErrDenied):
		return unix.EPERM
	case errors.As(err, &errno):
		return errno
	default:
		return unix.EPERM // the agent failed: refuse rather than guess
	}
}

func (c *conn) decide(n *notif) (int64, error) {
	if n.Arch != nativeArch {
		return 0, fmt.Errorf("%w: syscall %d of architecture %#x", policy.ErrDenied, n.Nr, n.Arch)
	}
	// Decisions on registers alone come first: they need no memory.
	var modeArg int
	switch n.Nr {
	case unix.SYS_MKNODAT:
		modeArg = 2
	case sysMknod:
		modeArg = 1
	}
	if modeArg > 0 {
		if t := uint32(n.Args[modeArg]) & unix.S_IFMT; t != unix.S_IFCHR && t != unix.S_IFBLK {
			return 0, errContinue // FIFO, socket, regular file: unprivileged, the kernel decides
		}
	}
	pr, err := c.a.policy.Load().Select(c.state.Metadata, c.state.State.Annotations)
	if err != nil {
		return 0, err
	}
	switch n.Nr {
	case unix.SYS_MOUNT, unix.SYS_UMOUNT2, unix.SYS_MKNODAT, sysMknod, unix.SYS_SETHOSTNAME:
	default:
		return 0, fmt.Errorf("%w: syscall %d is not emulated", policy.ErrDenied, n.Nr)
	}

	if testHookBeforeOpen != nil {
		testHookBeforeOpen(int(n.Pid))
	}
	cl, err := openCaller(c.fd, n)
	if err != nil {
		return 0, err
	}
	defer cl.close()
	r := request{conn: c, n: n, caller: cl, profile: pr}
	switch n.Nr {
	case unix.SYS_MOUNT:
		return 0, r.mount()
	case unix.SYS_UMOUNT2:
		return 0, r.umount()
	case unix.SYS_SETHOSTNAME:
		return 0, r.sethostname()
	case unix.SYS_MKNODAT:
		return 0, r.mknod(int32(n.Args[0]), n.Args[1], uint32(n.Args[2]), n.Args[3])
	default:
		return 0, r.mknod(unix.AT_FDCWD, n.Args[0], uint32(n.Args[1]), n.Args[2])
	}
}

// request is one notification being decided.
type request struct {
	*conn
	n       *notif
	caller  *caller
	profile *policy.Profile
}

// prepare opens what acting needs, as the caller's (the /proc/PID dir fd
// pins the process), refuses the agent's own namespace, and checks
// ID_VALID once more: after it, the agent acts.
func (r *request) prepare(nsKind string) (target, creds, error) {
	t := target{root: -1, ns: -1}
	cr, err := r.caller.creds()
	if err != nil {
		return t, cr, err
	}
	if t.root, err = r.caller.open("root", unix.O_PATH|unix.O_DIRECTORY); err != nil {
		return t, cr, err
	}
	if t.mntns, err = r.caller.nsIno("mnt"); err != nil {
		return t, cr, err
	}
	if nsKind != "" {
		ino, err := r.caller.nsIno(nsKind)
		if err != nil {
			return t, cr, err
		}
		if own, err := ownNsIno(nsKind); err != nil || own == ino {
			return t, cr, fmt.Errorf("%w: the caller shares the agent's %s namespace", policy.ErrDenied, nsKind)
		}
		if t.ns, err = r.caller.open("ns/"+nsKind, unix.O_RDONLY); err != nil {
			return t, cr, err
		}
	}
	if testHookBeforeAct != nil {
		testHookBeforeAct(r.caller.pid, r.fd)
	}
	if !idValid(r.fd, r.n.ID) {
		return t, cr, errGone
	}
	return t, cr, nil
}

// testHookBeforeAct runs right before the last ID_VALID check, and
// testHookBeforeOpen before /proc/PID is opened (tests: the caller dies
// there, and its pid may be given to another process).
var (
	testHookBeforeAct  func(pid, notifyFD int)
	testHookBeforeOpen func(pid int)
)

func (t target) close() {
	if t.root >= 0 {
		unix.Close(t.root)
	}
	if t.ns >= 0 {
		unix.Close(t.ns)
	}
}

func (r *request) mount() error {
	a := r.n.Args
	var req policy.MountRequest
	var err error
	if a[0] != 0 {
		if req.Source, err = r.caller.readString(a[0], pathMax); err != nil {
			return err
		}
	}
	if req.Target, err = r.caller.readString(a[1], pathMax); err != nil {
		return err
	}
	if a[2] != 0 {
		if req.FSType, err = r.caller.readString(a[2], 256); err != nil {
			return err
		}
	}
	req.Flags = a[3]
	if a[4] != 0 && req.FSType != "" {
		// The kernel copies one page of options.
		if req.Data, err = r.caller.readString(a[4], 4096); err != nil {
			return err
		}
	}
	plan, err := r.profile.Mount(req)
	if err != nil {
		return err
	}
	t, cr, err := r.prepare("mnt")
	defer t.close()
	if err != nil {
		return err
	}
	id, err := mount(r.caller, t, plan, req.Source, cr)
	if err != nil {
		return fmt.Errorf("mount %s on %s: %w", kindOf(plan), plan.Target, err)
	}
	r.a.recordMount(t.mntns, id, plan.Target)
	r.a.logf("%s: mounted %s on %s (profile %s)", r.name, kindOf(plan), plan.Target, r.profile.Name)
	return nil
}

func kindOf(plan policy.MountPlan) string {
	if plan.Bind != "" {
		return "bind " + plan.Bind
	}
	return plan.FSType
}

func (r *request) umount() error {
	p, err := r.caller.readString(r.n.Args[0], pathMax)
	if err != nil {
		return err
	}
	flags := int(r.n.Args[1])
	if flags&^(unix.MNT_DETACH|unix.UMOUNT_NOFOLLOW) != 0 {
		return fmt.Errorf("%w: umount2 flags %#x", policy.ErrDenied, flags)
	}
	if p, err = r.profile.Umount(p); err != nil {
		return err
	}
	t, cr, err := r.prepare("mnt")
	defer t.close()
	if err != nil {
		return err
	}
	id, err := umount(t, p, flags&unix.MNT_DETACH, cr, func(id uint64) bool { return r.a.isMine(t.mntns, id) })
	if err != nil {
		return fmt.Errorf("umount %s: %w", p, err)
	}
	r.a.forgetMount(t.mntns, id)
	r.a.logf("%s: unmounted %s (profile %s)", r.name, p, r.profile.Name)
	return nil
}

func (r *request) mknod(dirfd int32, pathArg uint64, mode uint32, dev uint64) error {
	p, err := r.caller.readString(pathArg, pathMax)
	if err != nil {
		return err
	}
	if dirfd != unix.AT_FDCWD && (p == "" || p[0] != '/') {
		return fmt.Errorf("%w: mknodat relative to a directory fd", policy.ErrDenied)
	}
	major, minor := unix.Major(dev), unix.Minor(dev)
	block := mode&unix.S_IFMT == unix.S_IFBLK
	if p, err = r.profile.Mknod(p, block, mode&0o7777, major, minor); err != nil {
		return err
	}
	t, cr, err := r.prepare("")
	defer t.close()
	if err != nil {
		return err
	}
	if err := mknod(t, p, mode, unix.Mkdev(major, minor), cr); err != nil {
		return fmt.Errorf("mknod %s: %w", p, err)
	}
	r.a.logf("%s: made device %d:%d at %s (profile %s)", r.name, major, minor, p, r.profile.Name)
	return nil
}

func (r *request) sethostname() error {
	size := r.n.Args[1]
	if size > 64 { // __NEW_UTS_LEN
		return unix.EINVAL
	}
	buf := make([]byte, size)
	if size > 0 {
		if n, err := unix.Pread(r.caller.mem, buf, int64(r.n.Args[0])); err != nil || uint64(n) != size {
			return unix.EFAULT
		}
	}
	name := string(buf)
	if err := r.profile.Sethostname(name); err != nil {
		return err
	}
	t, _, err := r.prepare("uts")
	defer t.close()
	if err != nil {
		return err
	}
	if err := sethostname(t, name); err != nil {
		return fmt.Errorf("sethostname %q: %w", name, err)
	}
	r.a.logf("%s: hostname set to %q (profile %s)", r.name, name, r.profile.Name)
	return nil
}
