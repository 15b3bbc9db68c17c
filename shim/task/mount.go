package task

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/slrt/slrt/shim/internal/pb/types"
)

// mountFlags are the fstab-style options that are mount(2) flags; every
// other option is passed to the filesystem as data (overlay's lowerdir=…).
var mountFlags = map[string]struct {
	clear bool
	flag  uintptr
}{
	"async": {true, unix.MS_SYNCHRONOUS}, "atime": {true, unix.MS_NOATIME},
	"bind": {false, unix.MS_BIND}, "defaults": {false, 0}, "dev": {true, unix.MS_NODEV},
	"diratime": {true, unix.MS_NODIRATIME}, "dirsync": {false, unix.MS_DIRSYNC},
	"exec": {true, unix.MS_NOEXEC}, "mand": {false, unix.MS_MANDLOCK},
	"noatime": {false, unix.MS_NOATIME}, "nodev": {false, unix.MS_NODEV},
	"nodiratime": {false, unix.MS_NODIRATIME}, "noexec": {false, unix.MS_NOEXEC},
	"nomand": {true, unix.MS_MANDLOCK}, "norelatime": {true, unix.MS_RELATIME},
	"nostrictatime": {true, unix.MS_STRICTATIME}, "nosuid": {false, unix.MS_NOSUID},
	"rbind": {false, unix.MS_BIND | unix.MS_REC}, "relatime": {false, unix.MS_RELATIME},
	"remount": {false, unix.MS_REMOUNT}, "ro": {false, unix.MS_RDONLY},
	"rw": {true, unix.MS_RDONLY}, "strictatime": {false, unix.MS_STRICTATIME},
	"suid": {true, unix.MS_NOSUID}, "sync": {false, unix.MS_SYNCHRONOUS},
}

// parseMountOptions splits containerd mount options into flags and data.
func parseMountOptions(opts []string) (uintptr, string) {
	var flags uintptr
	var data []string
	for _, o := range opts {
		if f, ok := mountFlags[o]; ok {
			if f.clear {
				flags &^= f.flag
			} else {
				flags |= f.flag
			}
			continue
		}
		data = append(data, o)
	}
	return flags, strings.Join(data, ",")
}

// mountRootfs mounts the request's rootfs mounts, in order, on
// bundle/rootfs (containerd's snapshotter gives one overlay or bind mount;
// the shim performs it, as runc's does). On error nothing stays mounted.
func mountRootfs(bundle string, mounts []*types.Mount) (string, error) {
	if len(mounts) == 0 {
		return "", nil
	}
	target := filepath.Join(bundle, "rootfs")
	if err := os.MkdirAll(target, 0o711); err != nil {
		return "", fmt.Errorf("create rootfs %s: %w", target, err)
	}
	for i, m := range mounts {
		if err := mountOne(bundle, target, m); err != nil {
			unmountRootfs(target)
			return "", fmt.Errorf("mount rootfs %d (%s %s) on %s: %w", i, m.Type, m.Source, target, err)
		}
		flags, _ := parseMountOptions(m.Options)
		// A read-only bind needs a remount: MS_BIND ignores MS_RDONLY.
		if flags&unix.MS_BIND != 0 && flags&unix.MS_RDONLY != 0 {
			if err := unix.Mount("", target, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY, ""); err != nil {
				unmountRootfs(target)
				return "", fmt.Errorf("remount rootfs %s read-only: %w", target, err)
			}
		}
	}
	return target, nil
}

// mountOne performs one rootfs mount on target; uidmap=/gidmap= options
// (a user-namespaced pod's snapshot) make it idmapped (mount_idmap.go).
func mountOne(bundle, target string, m *types.Mount) error {
	opts, uids, gids, err := idmapOptions(m.Options)
	if err != nil {
		return err
	}
	flags, data := parseMountOptions(opts)
	var idm *idmapper
	if uids != nil {
		if idm, err = newIDMapper(uids, gids); err != nil {
			return err
		}
		defer idm.close()
		if m.Type == "overlay" {
			if data, err = idm.overlayLowers(data, bundle); err != nil {
				return err
			}
		}
	}
	if len(data) >= unix.Getpagesize() {
		return fmt.Errorf("options longer than a page (%d bytes): %w", len(data), errInvalid)
	}
	if idm != nil && flags&unix.MS_BIND != 0 {
		return idm.bind(m.Source, target, flags&unix.MS_REC != 0)
	}
	typ := m.Type
	if flags&unix.MS_BIND != 0 {
		typ = ""
	}
	if err := unix.Mount(m.Source, target, typ, flags&^unix.MS_RDONLY|bindRO(flags), data); err != nil {
		return requestFault(err)
	}
	return nil
}

// requestFault marks the mount errors that mean the request itself is
// wrong (a source or lowerdir that is not there, options the filesystem
// refuses) as invalid arguments, so containerd reports ErrInvalidArgument;
// anything else (EPERM, ENOMEM, EBUSY) stays a plain error of the node.
func requestFault(err error) error {
	switch {
	case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ENOTDIR), errors.Is(err, unix.EINVAL), errors.Is(err, unix.ENODEV):
		return fmt.Errorf("%w: %w", err, errInvalid)
	}
	return err
}

func bindRO(flags uintptr) uintptr {
	if flags&unix.MS_BIND != 0 {
		return 0
	}
	return flags & unix.MS_RDONLY
}

// unmountRootfs removes every mount stacked on target.
func unmountRootfs(target string) error {
	if target == "" {
		return nil
	}
	for i := 0; i < 16; i++ {
		err := unix.Unmount(target, 0)
		if errors.Is(err, unix.EBUSY) {
			err = unix.Unmount(target, unix.MNT_DETACH)
		}
		if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOENT) {
			return nil // not (or no longer) a mount point
		}
		if err != nil {
			return fmt.Errorf("unmount rootfs %s: %w", target, err)
		}
	}
	return fmt.Errorf("unmount rootfs %s: still mounted after 16 unmounts", target)
}

// UnmountRootfs is for the shim's delete command: it unmounts what a lost
// shim mounted on a bundle's rootfs.
func UnmountRootfs(target string) error { return unmountRootfs(target) }
