// Package selinux tells whether the host enforces SELinux and formats the
// mount option that labels a container's filesystems. Setting the
// process label is one write to the init's procfs attr file (runtime/
// process, right before execve), so nothing here is linked into the init.
package selinux

import (
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// Paths read by Enabled; tests point them elsewhere.
var (
	mountPoints = []string{"/sys/fs/selinux", "/selinux"}
	currentAttr = "/proc/self/attr/current"
)

// Enabled reports whether SELinux is active, as go-selinux decides it (and
// so runc): a writable selinuxfs is mounted and this process has a label
// other than "kernel". On a kernel built with SELinux but booted without
// it, /proc/self/attr/current cannot even be read.
func Enabled() bool {
	mounted := false
	for _, p := range mountPoints {
		var st unix.Statfs_t
		if unix.Statfs(p, &st) == nil && uint32(st.Type) == uint32(unix.SELINUX_MAGIC) && st.Flags&unix.ST_RDONLY == 0 {
			mounted = true
			break
		}
	}
	if !mounted {
		return false
	}
	b, err := os.ReadFile(currentAttr)
	return err == nil && strings.TrimRight(string(b), "\x00\n") != "kernel"
}

// MountOption is the option that labels every file of a new filesystem
// instance with label (mount(8) "context="), quoted as go-selinux does
// because labels contain commas ("s0:c1,c2").
func MountOption(label string) string { return fmt.Sprintf("context=%q", label) }

// WithMountLabel appends the context option for label to a mount's data
// string; "" leaves it alone.
func WithMountLabel(data, label string) string {
	switch {
	case label == "":
		return data
	case data == "":
		return MountOption(label)
	}
	return data + "," + MountOption(label)
}
