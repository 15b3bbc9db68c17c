package rootfs

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/slrt/slrt/runtime/channel"
)

// devSymlinks makes the links runtime-spec config-linux.md "Default
// Devices" and the /dev conventions of Linux expect: /dev/fd and the std
// streams through /proc/self/fd, /dev/core when a /proc is mounted and the kernel has one, and
// /dev/ptmx pointing at the container's own devpts instance (so a pty
// opened in the container comes from its own namespace, not the host's).
func (r *inRoot) devSymlinks(p *channel.RootfsPlan) error {
	dev, err := r.mkdirAll("/dev", 0o755)
	if err != nil {
		return err
	}
	defer unix.Close(dev)
	links := [][2]string{
		{"/proc/self/fd", "fd"},
		{"/proc/self/fd/0", "stdin"},
		{"/proc/self/fd/1", "stdout"},
		{"/proc/self/fd/2", "stderr"},
	}
	devpts := false
	for _, m := range p.Mounts {
		// Kernels without CONFIG_PROC_KCORE have no /proc/kcore; the
		// host's /proc (still visible before pivot) tells.
		if m.Target == "/proc" && m.Type == "proc" && unix.Access("/proc/kcore", unix.F_OK) == nil {
			links = append(links, [2]string{"/proc/kcore", "core"})
		}
		if m.Target == "/dev/pts" && m.Type == "devpts" {
			devpts = true
		}
	}
	for _, l := range links {
		if err := unix.Symlinkat(l[0], dev, l[1]); err != nil && err != unix.EEXIST {
			return fmt.Errorf("symlink %s -> %s: %w", r.where("/dev/"+l[1]), l[0], err)
		}
	}
	if devpts {
		if err := unix.Unlinkat(dev, "ptmx", 0); err != nil && err != unix.ENOENT {
			return fmt.Errorf("remove %s: %w", r.where("/dev/ptmx"), err)
		}
		if err := unix.Symlinkat("pts/ptmx", dev, "ptmx"); err != nil {
			return fmt.Errorf("symlink %s -> pts/ptmx: %w", r.where("/dev/ptmx"), err)
		}
	}
	return nil
}
