package rootfs

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/slrt/slrt/runtime/channel"
)

// perMountFlags are the flags a bind remount can change: they live on the
// mount, not on the filesystem (mount(2) "Creating a bind mount").
const perMountFlags = unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC |
	unix.MS_NOATIME | unix.MS_NODIRATIME | unix.MS_RELATIME | unix.MS_STRICTATIME | unix.MS_NOSYMFOLLOW

const atimeFlags = unix.MS_NOATIME | unix.MS_RELATIME | unix.MS_STRICTATIME

// mountOne carries out one plan mount inside the rootfs: resolve the target
// in the root, mount onto the fd's magic link, then set flags and
// propagation on the new mount.
func (r *inRoot) mountOne(m *channel.Mount, newUserNS, cgroupNS bool) error {
	if !m.Bind && (m.Type == "cgroup" || m.Type == "cgroup2") {
		return r.mountCgroup(m, cgroupNS)
	}
	target, err := r.create(m.Target, m.Bind && m.SourceIsFile)
	if err != nil {
		return err
	}
	defer unix.Close(target)
	before, err := mountID(target)
	if err != nil {
		return fmt.Errorf("statx %s: %w", r.where(m.Target), err)
	}

	if m.Bind {
		return r.bind(m, target, before, newUserNS)
	}
	if err := unix.Mount(m.Source, fdPath(target), m.Type, uintptr(m.Flags), m.Data); err != nil {
		return fmt.Errorf("mount %s on %s: %w", m.Type, r.where(m.Target), err)
	}
	if m.RecAttrSet|m.RecAttrClr != 0 {
		mnt, err := r.reopen(m.Target, before)
		if err != nil {
			return err
		}
		defer unix.Close(mnt)
		if err := r.setRecursive(m, mnt); err != nil {
			return err
		}
		return r.propagate(m, mnt)
	}
	return r.propagateNew(m, before)
}

// setRecursive applies the recursive options (rro, rnosuid, ...) to the
// mount open at mnt and every mount below it, after its own flags.
func (r *inRoot) setRecursive(m *channel.Mount, mnt int) error {
	if m.RecAttrSet|m.RecAttrClr == 0 {
		return nil
	}
	attr := unix.MountAttr{Attr_set: m.RecAttrSet, Attr_clr: m.RecAttrClr}
	if err := unix.MountSetattr(mnt, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, &attr); err != nil {
		return fmt.Errorf("recursive options on %s (set %#x, clear %#x): %w", r.where(m.Target), m.RecAttrSet, m.RecAttrClr, err)
	}
	return nil
}

// bind makes a bind mount and then, since mount(2) ignores every other flag
// in the call that creates a bind mount, applies them with a remount.
func (r *inRoot) bind(m *channel.Mount, target int, before uint64, newUserNS bool) error {
	if m.IDMap && m.MountFD <= 0 {
		// A plain bind here would silently show the source's raw ids.
		return fmt.Errorf("idmapped mount on %s: the runtime did not prepare it", r.where(m.Target))
	}
	if m.MountFD > 0 {
		if err := r.moveMount(m, target); err != nil {
			return err
		}
	} else {
		src := m.Source
		if m.SourceFD > 0 {
			src = fdPath(m.SourceFD)
		}
		if err := unix.Mount(src, fdPath(target), "", uintptr(unix.MS_BIND|m.Flags&unix.MS_REC), ""); err != nil {
			return fmt.Errorf("bind %s on %s: %w", m.Source, r.where(m.Target), err)
		}
	}
	mnt, err := r.reopen(m.Target, before)
	if err != nil {
		return err
	}
	defer unix.Close(mnt)
	if flags := m.Flags & perMountFlags; flags != 0 {
		if newUserNS {
			// In a user namespace the flags a bind inherits from a
			// mount of a more privileged namespace are locked
			// (mount_namespaces(7) "Restrictions on mount
			// namespaces"): a remount that drops them fails with
			// EPERM, so keep them.
			kept, err := keptFlags(mnt, flags&atimeFlags == 0)
			if err != nil {
				return fmt.Errorf("statfs %s: %w", r.where(m.Target), err)
			}
			flags |= kept
		}
		if err := unix.Mount("", fdPath(mnt), "", uintptr(unix.MS_REMOUNT|unix.MS_BIND|flags), ""); err != nil {
			return fmt.Errorf("remount bind of %s on %s (%s): %w", m.Source, r.where(m.Target), flagNames(flags), err)
		}
	}
	if err := r.setRecursive(m, mnt); err != nil {
		return err
	}
	return r.propagate(m, mnt)
}

// reopen resolves path again after a mount: the fd used for mounting still
// names the directory underneath, and remounts and propagation changes must
// reach the new mount. A path that still leads to the old mount means it
// was swapped meanwhile.
func (r *inRoot) reopen(path string, before uint64) (int, error) {
	fd, err := r.open(path, 0)
	if err != nil {
		return -1, fmt.Errorf("reopen %s after mount: %w", r.where(path), err)
	}
	id, err := mountID(fd)
	if err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("statx %s: %w", r.where(path), err)
	}
	if id == before {
		unix.Close(fd)
		return -1, fmt.Errorf("reopen %s after mount: path no longer leads to the new mount", r.where(path))
	}
	return fd, nil
}

// propagate applies the mount's propagation options, in order.
// propagateNew applies the mount's propagation changes to the mount just
// made on its target (before is the target's mount id before it).
func (r *inRoot) propagateNew(m *channel.Mount, before uint64) error {
	if len(m.PropFlags) == 0 {
		return nil
	}
	mnt, err := r.reopen(m.Target, before)
	if err != nil {
		return err
	}
	defer unix.Close(mnt)
	return r.propagate(m, mnt)
}

func (r *inRoot) propagate(m *channel.Mount, mnt int) error {
	for _, pf := range m.PropFlags {
		if err := unix.Mount("", fdPath(mnt), "", uintptr(pf), ""); err != nil {
			return fmt.Errorf("make %s %s: %w", r.where(m.Target), flagNames(pf), err)
		}
	}
	return nil
}

// keptFlags returns the per-mount flags set on fd's mount that a remount
// must repeat: ro, nosuid, nodev, noexec and, when atime is set (the caller
// asks for no atime mode of its own), the atime mode.
func keptFlags(fd int, atime bool) (uint64, error) {
	var st unix.Statfs_t
	if err := unix.Fstatfs(fd, &st); err != nil {
		return 0, err
	}
	return statfsFlags(uint64(st.Flags), atime), nil
}

func statfsFlags(st uint64, atime bool) uint64 {
	var f uint64
	for stf, ms := range map[uint64]uint64{
		unix.ST_RDONLY: unix.MS_RDONLY,
		unix.ST_NOSUID: unix.MS_NOSUID,
		unix.ST_NODEV:  unix.MS_NODEV,
		unix.ST_NOEXEC: unix.MS_NOEXEC,
	} {
		if st&stf != 0 {
			f |= ms
		}
	}
	if !atime {
		return f
	}
	if st&unix.ST_NODIRATIME != 0 {
		f |= unix.MS_NODIRATIME
	}
	switch {
	case st&unix.ST_NOATIME != 0:
		f |= unix.MS_NOATIME
	case st&unix.ST_RELATIME != 0:
		f |= unix.MS_RELATIME
	default:
		// A remount without an atime flag means relatime; strictatime
		// must be asked for to be kept.
		f |= unix.MS_STRICTATIME
	}
	return f
}

// flagNames spells mount flags for error messages ("ro,nosuid").
func flagNames(flags uint64) string {
	var names []string
	for _, n := range []struct {
		f    uint64
		name string
	}{
		{unix.MS_RDONLY, "ro"}, {unix.MS_NOSUID, "nosuid"}, {unix.MS_NODEV, "nodev"},
		{unix.MS_NOEXEC, "noexec"}, {unix.MS_NOATIME, "noatime"}, {unix.MS_NODIRATIME, "nodiratime"},
		{unix.MS_RELATIME, "relatime"}, {unix.MS_STRICTATIME, "strictatime"},
		{unix.MS_NOSYMFOLLOW, "nosymfollow"}, {unix.MS_BIND, "bind"}, {unix.MS_REMOUNT, "remount"},
		{unix.MS_SHARED, "shared"}, {unix.MS_SLAVE, "slave"}, {unix.MS_PRIVATE, "private"},
		{unix.MS_UNBINDABLE, "unbindable"}, {unix.MS_REC, "recursive"},
	} {
		if flags&n.f != 0 {
			names = append(names, n.name)
		}
	}
	return strings.Join(names, ",")
}
