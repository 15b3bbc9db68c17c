package agent

import (
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// onThread runs fn on a fresh OS thread that is thrown away afterwards:
// the goroutine locks itself to its thread and exits without unlocking, so
// the Go runtime ends the thread, and with it whatever fn changed that is
// per thread (namespaces, filesystem credentials, capabilities, root, cwd,
// umask). Nothing fn does can leak into the agent's other goroutines, nor
// into the main thread.
func onThread(fn func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if unix.Gettid() == unix.Getpid() {
			// The main thread is never thrown away: the runtime parks it
			// for good, and /proc/self (the agent's own view of its mounts)
			// would follow it into the container. Hold it, so that the
			// work runs on another thread, then give it back unchanged.
			done <- onThread(fn)
			runtime.UnlockOSThread()
			return
		}
		done <- fn()
	}()
	return <-done
}

// becomeCaller, on a thrown-away thread: a private fs_struct (so umask,
// root, cwd and a mount namespace can change for this thread alone), then
// the caller's umask, groups and filesystem ids, so that permission checks
// on the paths the agent resolves and the owner of what it creates are
// the caller's, as if the kernel had done the syscall for it. Setting a
// non-zero fsuid drops the filesystem capabilities (CAP_DAC_OVERRIDE and
// co.) from the thread; keepMknod raises CAP_MKNOD again, the privilege
// being granted.
func becomeCaller(cr creds, keepMknod bool) error {
	if err := unix.Unshare(unix.CLONE_FS); err != nil {
		return fmt.Errorf("unshare(CLONE_FS): %w", err)
	}
	unix.Umask(cr.umask)
	groups := make([]uint32, len(cr.groups))
	for i, g := range cr.groups {
		groups[i] = uint32(g)
	}
	var gp unsafe.Pointer
	if len(groups) > 0 {
		gp = unsafe.Pointer(&groups[0])
	}
	// Raw syscalls: these must change this thread only (the syscall
	// package's Setgroups changes every thread of the process).
	if _, _, e := unix.RawSyscall(unix.SYS_SETGROUPS, uintptr(len(groups)), uintptr(gp), 0); e != 0 {
		return fmt.Errorf("setgroups: %w", e)
	}
	unix.RawSyscall(unix.SYS_SETFSGID, uintptr(cr.fsgid), 0, 0)
	unix.RawSyscall(unix.SYS_SETFSUID, uintptr(cr.fsuid), 0, 0)
	// set*fsid return the previous id and no error: ask again to check.
	if got, _, _ := unix.RawSyscall(unix.SYS_SETFSUID, ^uintptr(0), 0, 0); int(got) != cr.fsuid {
		return fmt.Errorf("setfsuid(%d) did not take", cr.fsuid)
	}
	if got, _, _ := unix.RawSyscall(unix.SYS_SETFSGID, ^uintptr(0), 0, 0); int(got) != cr.fsgid {
		return fmt.Errorf("setfsgid(%d) did not take", cr.fsgid)
	}
	if !keepMknod || cr.fsuid == 0 {
		return nil
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capget: %w", err)
	}
	data[0].Effective |= data[0].Permitted & (1 << unix.CAP_MKNOD)
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capset: %w", err)
	}
	return nil
}

// resolveIn opens p (absolute, clean) inside the directory root without
// following any symlink and without leaving root: the container's root as
// the caller sees it (/proc/PID/root). A symlink anywhere in p fails with
// ELOOP: targets are matched on the path the caller gave, and a symlink
// would make the path that is acted on a different one.
func resolveIn(root int, p string, flags uint64) (int, error) {
	rel := "."
	if p != "/" {
		rel = p[1:]
	}
	return unix.Openat2(root, rel, &unix.OpenHow{
		Flags:   flags | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	})
}

// mountID is the unique id (never reused) of the mount fd is on, and
// whether fd is that mount's root.
func mountID(fd int, name string) (id uint64, root bool, err error) {
	var stx unix.Statx_t
	flags := unix.AT_SYMLINK_NOFOLLOW
	if name == "" {
		flags |= unix.AT_EMPTY_PATH
	}
	if err := unix.Statx(fd, name, flags, unix.STATX_MNT_ID_UNIQUE, &stx); err != nil {
		return 0, false, err
	}
	if stx.Mask&unix.STATX_MNT_ID_UNIQUE == 0 {
		return 0, false, fmt.Errorf("statx: no STATX_MNT_ID_UNIQUE (kernel older than 6.8)")
	}
	return stx.Mnt_id, stx.Attributes&unix.STATX_ATTR_MOUNT_ROOT != 0, nil
}
