package rootfs

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/slrt/slrt/runtime/channel"
)

// Finish applies what must come last, after Pivot (and after the init has
// written hostname and sysctls, which need /proc/sys writable): read-only
// paths, masked paths, then the read-only root (runtime-spec config.md
// "root.readonly", config-linux.md "Masked Paths", "Readonly Paths").
func Finish(p *channel.RootfsPlan) error {
	r, err := openRoot("/")
	if err != nil {
		return err
	}
	defer r.close()
	for _, path := range p.ReadonlyPaths {
		if err := r.readonlyPath(path); err != nil {
			return err
		}
	}
	for _, path := range p.MaskedPaths {
		if err := r.maskPath(path); err != nil {
			return err
		}
	}
	if p.Readonly {
		return readonlyRoot()
	}
	return nil
}

// readonlyRoot remounts the container's / read-only, repeating the flags
// it has (nosuid, nodev, atime mode...), which may be locked in a user
// namespace and would otherwise be cleared by the remount.
func readonlyRoot() error {
	var st unix.Statfs_t
	if err := unix.Statfs("/", &st); err != nil {
		return fmt.Errorf("statfs /: %w", err)
	}
	flags := unix.MS_BIND | unix.MS_REMOUNT | unix.MS_RDONLY | statfsFlags(uint64(st.Flags), true)
	if err := unix.Mount("", "/", "", uintptr(flags), ""); err != nil {
		return fmt.Errorf("remount / read-only: %w", err)
	}
	return nil
}
