package agent

import (
	"errors"
	"fmt"
	"path"

	"golang.org/x/sys/unix"

	"github.com/slrt/slrt/fgac/policy"
)

// The syscalls the agent performs for a caller, each from what the policy
// decided on the one copy of the arguments. Errors from the kernel come
// back as they are (the caller gets that errno); ELOOP from a symlinked
// path becomes a policy refusal.

// target is where an emulated syscall acts: the caller's root, and the
// namespace it acts in.
type target struct {
	root  int    // /proc/PID/root, O_PATH
	ns    int    // /proc/PID/ns/mnt or ns/uts (-1: none needed)
	mntns uint64 // inode of the caller's mount namespace
}

// mount mounts plan in the caller's mount namespace and returns the new
// mount's unique id. The filesystem (or the bind's detached copy) is made
// in the agent's own context; only attaching it needs the caller's mount
// namespace, entered on a thrown-away thread.
func mount(c *caller, t target, plan policy.MountPlan, source string, cr creds) (uint64, error) {
	var mfd int
	var err error
	if plan.Bind != "" {
		mfd, err = bindTree(plan)
	} else {
		mfd, err = newFS(c, plan, source, cr)
	}
	if err != nil {
		return 0, err
	}
	defer unix.Close(mfd)
	id, _, err := mountID(mfd, "")
	if err != nil {
		return 0, err
	}
	err = onThread(func() error {
		if err := becomeCaller(cr, false); err != nil {
			return err
		}
		tfd, err := resolveIn(t.root, plan.Target, unix.O_PATH|unix.O_DIRECTORY)
		if err != nil {
			return pathErr(plan.Target, err)
		}
		defer unix.Close(tfd)
		if err := unix.Setns(t.ns, unix.CLONE_NEWNS); err != nil {
			return fmt.Errorf("setns(mnt): %w", err)
		}
		return unix.MoveMount(mfd, "", tfd, "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH)
	})
	return id, err
}

// attrs maps MS_ restrict flags to MOUNT_ATTR_ ones.
func attrs(ms uint64) uint64 {
	var a uint64
	for _, m := range [][2]uint64{
		{unix.MS_RDONLY, unix.MOUNT_ATTR_RDONLY}, {unix.MS_NOSUID, unix.MOUNT_ATTR_NOSUID},
		{unix.MS_NODEV, unix.MOUNT_ATTR_NODEV}, {unix.MS_NOEXEC, unix.MOUNT_ATTR_NOEXEC},
		{unix.MS_NODIRATIME, unix.MOUNT_ATTR_NODIRATIME},
	} {
		if ms&m[0] != 0 {
			a |= m[1]
		}
	}
	switch {
	case ms&unix.MS_NOATIME != 0:
		a |= unix.MOUNT_ATTR_NOATIME
	case ms&unix.MS_STRICTATIME != 0:
		a |= unix.MOUNT_ATTR_STRICTATIME
	}
	return a
}

// newFS makes a detached mount of a new filesystem (tmpfs). Its root
// belongs to the caller (uid=/gid= in its ids, mapped to the host's, or
// else its own fsuid/fsgid), as a tmpfs it mounted itself would.
func newFS(c *caller, plan policy.MountPlan, source string, cr creds) (int, error) {
	uid, gid := cr.fsuid, cr.fsgid
	var err error
	if plan.UID >= 0 {
		if uid, err = c.mapID("uid_map", plan.UID); err != nil {
			return -1, unix.EINVAL
		}
	}
	if plan.GID >= 0 {
		if gid, err = c.mapID("gid_map", plan.GID); err != nil {
			return -1, unix.EINVAL
		}
	}
	fsfd, err := unix.Fsopen(plan.FSType, unix.FSOPEN_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("fsopen %s: %w", plan.FSType, err)
	}
	defer unix.Close(fsfd)
	if source == "" {
		source = plan.FSType
	}
	opts := append([][2]string{{"source", source}}, plan.Options...)
	opts = append(opts, [2]string{"uid", fmt.Sprint(uid)}, [2]string{"gid", fmt.Sprint(gid)})
	for _, o := range opts {
		if err := unix.FsconfigSetString(fsfd, o[0], o[1]); err != nil {
			return -1, fmt.Errorf("fsconfig %s=%s: %w", o[0], o[1], err)
		}
	}
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return -1, fmt.Errorf("fsconfig create: %w", err)
	}
	mfd, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, int(attrs(plan.Flags)))
	if err != nil {
		return -1, fmt.Errorf("fsmount: %w", err)
	}
	return mfd, nil
}

// bindTree makes a detached copy of the allow-listed host path.
func bindTree(plan policy.MountPlan) (int, error) {
	flags := uint(unix.OPEN_TREE_CLONE | unix.OPEN_TREE_CLOEXEC)
	if plan.Recursive {
		flags |= unix.AT_RECURSIVE
	}
	mfd, err := unix.OpenTree(unix.AT_FDCWD, plan.Bind, flags)
	if err != nil {
		return -1, fmt.Errorf("open_tree %s: %w", plan.Bind, err)
	}
	set := flags & unix.AT_RECURSIVE
	attr := &unix.MountAttr{Attr_set: attrs(plan.Flags)}
	if err := unix.MountSetattr(mfd, "", uint(unix.AT_EMPTY_PATH)|set, attr); err != nil {
		unix.Close(mfd)
		return -1, fmt.Errorf("mount_setattr %s: %w", plan.Bind, err)
	}
	return mfd, nil
}

// umount unmounts the mount on p, which must be one of mine (the mounts
// the agent made in this mount namespace, by unique id).
func umount(t target, p string, flags int, cr creds, mine func(uint64) bool) (uint64, error) {
	if p == "/" {
		return 0, unix.EINVAL
	}
	var id uint64
	err := onThread(func() error {
		if err := becomeCaller(cr, false); err != nil {
			return err
		}
		dir, err := resolveIn(t.root, path.Dir(p), unix.O_PATH|unix.O_DIRECTORY)
		if err != nil {
			return pathErr(p, err)
		}
		defer unix.Close(dir)
		base := path.Base(p)
		var root bool
		if id, root, err = mountID(dir, base); err != nil {
			return pathErr(p, err)
		}
		if !root || !mine(id) {
			return fmt.Errorf("%w: %s is not a mount the agent made", policy.ErrDenied, p)
		}
		if err := unix.Setns(t.ns, unix.CLONE_NEWNS); err != nil {
			return fmt.Errorf("setns(mnt): %w", err)
		}
		// After setns: it resets the thread's cwd to the namespace's root.
		if err := unix.Fchdir(dir); err != nil {
			return err
		}
		return unix.Unmount(base, flags|unix.UMOUNT_NOFOLLOW)
	})
	return id, err
}

// mknod creates the device node as the caller, with its umask, in its
// root.
func mknod(t target, p string, mode uint32, dev uint64, cr creds) error {
	if p == "/" {
		return unix.EEXIST
	}
	return onThread(func() error {
		if err := becomeCaller(cr, true); err != nil {
			return err
		}
		dir, err := resolveIn(t.root, path.Dir(p), unix.O_PATH|unix.O_DIRECTORY)
		if err != nil {
			return pathErr(p, err)
		}
		defer unix.Close(dir)
		return unix.Mknodat(dir, path.Base(p), mode, int(dev))
	})
}

// sethostname sets the hostname in the caller's UTS namespace.
func sethostname(t target, name string) error {
	return onThread(func() error {
		if err := unix.Setns(t.ns, unix.CLONE_NEWUTS); err != nil {
			return fmt.Errorf("setns(uts): %w", err)
		}
		return unix.Sethostname([]byte(name))
	})
}

// pathErr: a symlink on the way is the policy's refusal, anything else the
// kernel's answer.
func pathErr(p string, err error) error {
	if errors.Is(err, unix.ELOOP) {
		return fmt.Errorf("%w: %s: symlinks are not followed", policy.ErrDenied, p)
	}
	return err
}
