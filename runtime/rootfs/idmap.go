package rootfs

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/slrt/slrt/runtime/channel"
)

// ErrIDMapUnsupported is wrapped when the source's filesystem cannot be
// idmapped (its type lacks FS_ALLOW_IDMAP, or the kernel predates 5.12).
var ErrIDMapUnsupported = errors.New("filesystem does not support idmapped mounts")

// OpenIDMapped runs in the parent, before the init exists: it makes a
// detached copy of m's source (open_tree OPEN_TREE_CLONE, recursive for
// rbind) and applies the mapping of the user namespace usernsFD to it
// (mount_setattr MOUNT_ATTR_IDMAP, recursive for "ridmap"). The kernel
// allows that only to a caller privileged over the source's filesystem and
// only on a mount not yet attached anywhere: the parent, not an init inside
// its own user namespace. The init then moves the tree onto the target
// resolved inside the rootfs (move_mount, cmd/slrt-init's mount.c).
func OpenIDMapped(m *channel.Mount, usernsFD int) (*os.File, error) {
	flags := uint(unix.OPEN_TREE_CLONE | unix.OPEN_TREE_CLOEXEC)
	if m.Flags&unix.MS_REC != 0 {
		flags |= unix.AT_RECURSIVE
	}
	fd, err := unix.OpenTree(unix.AT_FDCWD, m.Source, flags)
	if err != nil {
		if errors.Is(err, unix.ENOSYS) {
			err = fmt.Errorf("%w (open_tree needs Linux 5.2, idmapped mounts 5.12)", ErrIDMapUnsupported)
		}
		return nil, fmt.Errorf("idmapped mount on %s: clone %s: %w", m.Target, m.Source, err)
	}
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_IDMAP, Userns_fd: uint64(usernsFD)}
	setFlags := uint(unix.AT_EMPTY_PATH)
	if m.IDMapRecursive {
		setFlags |= unix.AT_RECURSIVE
	}
	if err := unix.MountSetattr(fd, "", setFlags, &attr); err != nil {
		unix.Close(fd)
		switch {
		case errors.Is(err, unix.EINVAL), errors.Is(err, unix.ENOSYS):
			err = fmt.Errorf("%w (%s is on %s)", ErrIDMapUnsupported, m.Source, fsTypeName(m.Source))
		case errors.Is(err, unix.EPERM):
			err = fmt.Errorf("%w (setting an idmapping needs CAP_SYS_ADMIN over the source's filesystem)", err)
		}
		return nil, fmt.Errorf("idmapped mount on %s: %w", m.Target, err)
	}
	return os.NewFile(uintptr(fd), "idmapped:"+m.Source), nil
}

// fsTypeName names path's filesystem for error messages ("ext4",
// "tmpfs"), or its magic number when the name is not known here.
func fsTypeName(path string) string {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return "an unknown filesystem"
	}
	if name, ok := fsMagicNames[int64(st.Type)]; ok {
		return name
	}
	return fmt.Sprintf("filesystem type %#x", st.Type)
}

var fsMagicNames = map[int64]string{
	unix.EXT4_SUPER_MAGIC: "ext4", unix.XFS_SUPER_MAGIC: "xfs", unix.BTRFS_SUPER_MAGIC: "btrfs",
	unix.TMPFS_MAGIC: "tmpfs", unix.OVERLAYFS_SUPER_MAGIC: "overlayfs", unix.NFS_SUPER_MAGIC: "nfs",
	unix.PROC_SUPER_MAGIC: "proc", unix.SYSFS_MAGIC: "sysfs", unix.FUSE_SUPER_MAGIC: "fuse",
	unix.SQUASHFS_MAGIC: "squashfs", unix.MSDOS_SUPER_MAGIC: "vfat", unix.F2FS_SUPER_MAGIC: "f2fs",
	unix.CGROUP_SUPER_MAGIC: "cgroup", unix.CGROUP2_SUPER_MAGIC: "cgroup2", unix.RAMFS_MAGIC: "ramfs",
}
