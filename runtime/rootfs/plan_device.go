package rootfs

import (
	"fmt"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/slrt/slrt/runtime/channel"
)

// defaultDevices are the nodes every container gets (runtime-spec
// config-linux.md "Default Devices").
var defaultDevices = []channel.Device{
	{Path: "/dev/null", Type: unix.S_IFCHR, Major: 1, Minor: 3, Mode: 0o666},
	{Path: "/dev/zero", Type: unix.S_IFCHR, Major: 1, Minor: 5, Mode: 0o666},
	{Path: "/dev/full", Type: unix.S_IFCHR, Major: 1, Minor: 7, Mode: 0o666},
	{Path: "/dev/random", Type: unix.S_IFCHR, Major: 1, Minor: 8, Mode: 0o666},
	{Path: "/dev/urandom", Type: unix.S_IFCHR, Major: 1, Minor: 9, Mode: 0o666},
	{Path: "/dev/tty", Type: unix.S_IFCHR, Major: 5, Minor: 0, Mode: 0o666},
}

// deviceTypes maps linux.devices[].type to the node type; "u" (unbuffered
// character device) is a character device to mknod(2).
var deviceTypes = map[string]uint32{
	"c": unix.S_IFCHR,
	"u": unix.S_IFCHR,
	"b": unix.S_IFBLK,
	"p": unix.S_IFIFO,
}

// planDevices returns the default devices followed by linux.devices; a
// spec device with a default's path replaces it in place.
func planDevices(devs []specs.LinuxDevice) ([]channel.Device, error) {
	out := append([]channel.Device(nil), defaultDevices...)
	index := map[string]int{}
	for i, d := range out {
		index[d.Path] = i
	}
	for i, d := range devs {
		cd, err := planDevice(i, d)
		if err != nil {
			return nil, err
		}
		if j, ok := index[cd.Path]; ok {
			out[j] = cd
			continue
		}
		index[cd.Path] = len(out)
		out = append(out, cd)
	}
	return out, nil
}

func planDevice(i int, d specs.LinuxDevice) (channel.Device, error) {
	var cd channel.Device
	if !filepath.IsAbs(d.Path) {
		return cd, fmt.Errorf("linux.devices[%d].path %q must be absolute", i, d.Path)
	}
	cd.Path = filepath.Clean(d.Path)
	if !strings.HasPrefix(cd.Path, "/dev/") {
		return cd, fmt.Errorf("linux.devices[%d].path %q must be under /dev", i, d.Path)
	}
	typ, ok := deviceTypes[d.Type]
	if !ok {
		return cd, fmt.Errorf("linux.devices[%d].type %q (%s): must be c, b, u or p", i, d.Type, cd.Path)
	}
	cd.Type = typ
	if typ != unix.S_IFIFO {
		if d.Major < 0 || d.Minor < 0 || d.Major > 0xfff || d.Minor > 0xfffff {
			return cd, fmt.Errorf("linux.devices[%d] (%s): major %d / minor %d out of range", i, cd.Path, d.Major, d.Minor)
		}
		cd.Major, cd.Minor = d.Major, d.Minor
	}
	cd.Mode = 0o666
	if d.FileMode != nil {
		cd.Mode = uint32(d.FileMode.Perm())
	}
	if d.UID != nil {
		cd.UID = *d.UID
	}
	if d.GID != nil {
		cd.GID = *d.GID
	}
	return cd, nil
}
