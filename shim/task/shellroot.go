package task

import (
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// shareRootfs makes the rootfs the shim mounted for a container visible at
// the same path in the mount namespace of the fast-start shell that is to
// become it. The shell's namespace is a copy made when the shell was
// spawned, before this rootfs existed; the mount reaches it by propagation
// only when / is a shared mount, and a private / (nested containers, some
// edge distributions, the e2e daemon here) would leave the shell an empty
// directory ("executable file not found"). Then a copy of the mount
// (open_tree) is attached there from a thread that entered the shell's
// mount namespace and is thrown away afterwards.
func shareRootfs(rootfs string, shellPid int) error {
	if rootfs == "" {
		return nil
	}
	inShell := fmt.Sprintf("/proc/%d/root%s", shellPid, rootfs)
	var ours, theirs unix.Stat_t
	if err := unix.Stat(rootfs, &ours); err != nil {
		return fmt.Errorf("rootfs %s: %w", rootfs, err)
	}
	if err := unix.Stat(inShell, &theirs); err != nil {
		return fmt.Errorf("rootfs %s in shell %d: %w", rootfs, shellPid, err)
	}
	if ours.Dev == theirs.Dev && ours.Ino == theirs.Ino {
		return nil // propagated
	}
	tree, err := unix.OpenTree(unix.AT_FDCWD, rootfs, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE)
	if err != nil {
		return fmt.Errorf("clone rootfs %s: %w", rootfs, err)
	}
	defer unix.Close(tree)
	ns, err := os.Open(fmt.Sprintf("/proc/%d/ns/mnt", shellPid))
	if err != nil {
		return fmt.Errorf("shell %d: %w", shellPid, err)
	}
	defer ns.Close()
	errc := make(chan error, 1)
	go func() {
		// The thread never returns to Go's pool: a goroutine that exits
		// locked ends its thread, and the other namespace with it.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_FS); err != nil {
			errc <- fmt.Errorf("unshare fs: %w", err)
			return
		}
		if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNS); err != nil {
			errc <- fmt.Errorf("enter shell %d's mount namespace: %w", shellPid, err)
			return
		}
		if err := unix.MoveMount(tree, "", unix.AT_FDCWD, rootfs, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
			errc <- fmt.Errorf("attach rootfs %s in shell %d: %w", rootfs, shellPid, err)
			return
		}
		errc <- nil
	}()
	return <-errc
}
