// Package caps turns the capability names of a runtime-spec into the bit
// masks of a channel.Caps (parent side), and applies those masks to the
// calling thread (init side).
package caps

import (
	"fmt"
	"math/bits"
	"strings"

	"golang.org/x/sys/unix"
)

// Last is the highest capability this package knows by name. The kernel may
// know fewer (older kernels) or more (newer ones): the init checks the masks
// against /proc/sys/kernel/cap_last_cap (cmd/slrt-init/caps.c).
const Last = unix.CAP_CHECKPOINT_RESTORE

// names is indexed by capability number; the spec spells them with the
// "CAP_" prefix, as the kernel headers do.
var names = [Last + 1]string{
	unix.CAP_CHOWN:              "CAP_CHOWN",
	unix.CAP_DAC_OVERRIDE:       "CAP_DAC_OVERRIDE",
	unix.CAP_DAC_READ_SEARCH:    "CAP_DAC_READ_SEARCH",
	unix.CAP_FOWNER:             "CAP_FOWNER",
	unix.CAP_FSETID:             "CAP_FSETID",
	unix.CAP_KILL:               "CAP_KILL",
	unix.CAP_SETGID:             "CAP_SETGID",
	unix.CAP_SETUID:             "CAP_SETUID",
	unix.CAP_SETPCAP:            "CAP_SETPCAP",
	unix.CAP_LINUX_IMMUTABLE:    "CAP_LINUX_IMMUTABLE",
	unix.CAP_NET_BIND_SERVICE:   "CAP_NET_BIND_SERVICE",
	unix.CAP_NET_BROADCAST:      "CAP_NET_BROADCAST",
	unix.CAP_NET_ADMIN:          "CAP_NET_ADMIN",
	unix.CAP_NET_RAW:            "CAP_NET_RAW",
	unix.CAP_IPC_LOCK:           "CAP_IPC_LOCK",
	unix.CAP_IPC_OWNER:          "CAP_IPC_OWNER",
	unix.CAP_SYS_MODULE:         "CAP_SYS_MODULE",
	unix.CAP_SYS_RAWIO:          "CAP_SYS_RAWIO",
	unix.CAP_SYS_CHROOT:         "CAP_SYS_CHROOT",
	unix.CAP_SYS_PTRACE:         "CAP_SYS_PTRACE",
	unix.CAP_SYS_PACCT:          "CAP_SYS_PACCT",
	unix.CAP_SYS_ADMIN:          "CAP_SYS_ADMIN",
	unix.CAP_SYS_BOOT:           "CAP_SYS_BOOT",
	unix.CAP_SYS_NICE:           "CAP_SYS_NICE",
	unix.CAP_SYS_RESOURCE:       "CAP_SYS_RESOURCE",
	unix.CAP_SYS_TIME:           "CAP_SYS_TIME",
	unix.CAP_SYS_TTY_CONFIG:     "CAP_SYS_TTY_CONFIG",
	unix.CAP_MKNOD:              "CAP_MKNOD",
	unix.CAP_LEASE:              "CAP_LEASE",
	unix.CAP_AUDIT_WRITE:        "CAP_AUDIT_WRITE",
	unix.CAP_AUDIT_CONTROL:      "CAP_AUDIT_CONTROL",
	unix.CAP_SETFCAP:            "CAP_SETFCAP",
	unix.CAP_MAC_OVERRIDE:       "CAP_MAC_OVERRIDE",
	unix.CAP_MAC_ADMIN:          "CAP_MAC_ADMIN",
	unix.CAP_SYSLOG:             "CAP_SYSLOG",
	unix.CAP_WAKE_ALARM:         "CAP_WAKE_ALARM",
	unix.CAP_BLOCK_SUSPEND:      "CAP_BLOCK_SUSPEND",
	unix.CAP_AUDIT_READ:         "CAP_AUDIT_READ",
	unix.CAP_PERFMON:            "CAP_PERFMON",
	unix.CAP_BPF:                "CAP_BPF",
	unix.CAP_CHECKPOINT_RESTORE: "CAP_CHECKPOINT_RESTORE",
}

// Names returns every known capability name in number order (what the
// runtime-spec features document lists).
func Names() []string {
	out := make([]string, len(names))
	copy(out, names[:])
	return out
}

// Name returns the name of capability n, or "CAP_<n>" for a number this
// package does not know.
func Name(n int) string {
	if n >= 0 && n <= Last {
		return names[n]
	}
	return fmt.Sprintf("CAP_%d", n)
}

// Number returns the number of a capability named as the spec names it
// ("CAP_SYS_ADMIN"). Names are matched exactly: the spec is case-sensitive
// and a typo should fail loudly rather than silently grant or drop.
func Number(name string) (int, bool) {
	if !strings.HasPrefix(name, "CAP_") {
		return 0, false
	}
	for n, s := range names {
		if s == name {
			return n, true
		}
	}
	return 0, false
}

// Mask turns a list of names into a bit mask (bit N = capability N). It
// returns the names it does not know, in order, so that the caller can
// report all of them at once.
func Mask(list []string) (mask uint64, unknown []string) {
	for _, name := range list {
		n, ok := Number(name)
		if !ok {
			unknown = append(unknown, name)
			continue
		}
		mask |= 1 << uint(n)
	}
	return mask, unknown
}

// List turns a bit mask back into names, in number order.
func List(mask uint64) []string {
	out := make([]string, 0, bits.OnesCount64(mask))
	for n := 0; n < 64; n++ {
		if mask&(1<<uint(n)) != 0 {
			out = append(out, Name(n))
		}
	}
	return out
}
