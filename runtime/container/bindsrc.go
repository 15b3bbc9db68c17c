package container

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/slrt/slrt/runtime/channel"
)

// bindSources makes the plain bind mounts in the parent when the
// container gets its own user namespace: a detached copy of each source
// (open_tree OPEN_TREE_CLONE, recursive for rbind) that the init moves onto
// the target, as it does for idmapped mounts. The init resolves paths as
// the namespace's root, a uid the host knows nothing of: a source below a
// directory only the host's root may search (containerd's sandbox state,
// 0700, holds the pod's /dev/shm, hostname, hosts and resolv.conf) would
// fail with EACCES; and an fd of the source itself would not do, since a
// bind from a mount of another mount namespace fails with EINVAL. It
// returns the files for the caller to close once the init has them.
func bindSources(plan *channel.Plan, req *spawnReq) (_ []*os.File, retErr error) {
	if !plan.NewUserNS || os.Geteuid() != 0 {
		// A rootless parent may not clone mounts (open_tree needs
		// CAP_SYS_ADMIN), and its init reaches what its user can.
		return nil, nil
	}
	var files []*os.File
	defer func() {
		if retErr != nil {
			for _, f := range files {
				f.Close()
			}
		}
	}()
	for i := range plan.Rootfs.Mounts {
		pm := &plan.Rootfs.Mounts[i]
		if !pm.Bind || pm.IDMap || pm.MountFD > 0 {
			continue
		}
		flags := uint(unix.OPEN_TREE_CLONE | unix.OPEN_TREE_CLOEXEC)
		if pm.Flags&unix.MS_REC != 0 {
			flags |= unix.AT_RECURSIVE
		}
		fd, err := unix.OpenTree(unix.AT_FDCWD, pm.Source, flags)
		if err != nil {
			return nil, fmt.Errorf("mounts[%d] (%s): clone bind source %s: %w", i, pm.Target, pm.Source, err)
		}
		f := os.NewFile(uintptr(fd), "bind:"+pm.Source)
		files = append(files, f)
		pm.MountFD = req.pass(f)
	}
	return files, nil
}
