package caps

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/slrt/slrt/runtime/channel"
)

// Capabilities are per thread. Everything below acts on the calling thread
// only, so the init must call it on its locked main thread and execve from
// that same thread: execve makes the calling thread's credentials the new
// program's.
//
// The kernel needs this order (capabilities(7)):
//  1. DropBounding while still uid 0 with CAP_SETPCAP in the effective set;
//  2. PR_SET_KEEPCAPS, then setgroups/setgid/setuid (owned by
//     runtime/process), which keeps the permitted set but clears the
//     effective one;
//  3. Apply: capset(effective, permitted, inheritable), then the ambient set,
//     which can only hold capabilities that are both permitted and
//     inheritable.

// LastCap returns the highest capability the running kernel knows. It reads
// /proc/sys/kernel/cap_last_cap and falls back to probing the bounding set
// when /proc is not there (yet) or masked.
func LastCap() (int, error) {
	if b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap"); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && n >= 0 && n < 64 {
			return n, nil
		}
	}
	// PR_CAPBSET_READ fails with EINVAL for a capability the kernel does not
	// know; the highest one that does not is the last.
	for n := 63; n >= 0; n-- {
		if _, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(n), 0, 0, 0); err == nil {
			return n, nil
		}
	}
	return 0, errors.New("find the last capability: /proc/sys/kernel/cap_last_cap unreadable and PR_CAPBSET_READ fails")
}

// validMask has a bit for every capability up to last.
func validMask(last int) uint64 {
	if last >= 63 {
		return ^uint64(0)
	}
	return 1<<uint(last+1) - 1
}

// DropBounding removes every capability not in c.Bounding from the calling
// thread's bounding set (inherited by children, kept across execve). It must
// run before the switch away from uid 0: dropping needs CAP_SETPCAP.
// Capabilities already absent are skipped, so a second call, or a call
// without CAP_SETPCAP that has nothing left to drop, succeeds.
func DropBounding(c *channel.Caps) error {
	if c == nil {
		return nil
	}
	last, err := LastCap()
	if err != nil {
		return err
	}
	for n := 0; n <= last; n++ {
		if c.Bounding&(1<<uint(n)) != 0 {
			continue
		}
		in, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(n), 0, 0, 0)
		if err != nil {
			return fmt.Errorf("read %s from the bounding set: %w", Name(n), err)
		}
		if in == 0 {
			continue
		}
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(n), 0, 0, 0); err != nil {
			return fmt.Errorf("drop %s from the bounding set: %w%s", Name(n), err, hint(err, " (needs CAP_SETPCAP)"))
		}
	}
	return nil
}

// Apply sets the calling thread's effective, permitted and inheritable sets
// with capset(2) and then its ambient set. Run it after setuid (with
// PR_SET_KEEPCAPS set before it) and after DropBounding.
//
// Capabilities above the kernel's last one are left out rather than failing
// the start: a spec written for a newer kernel (CAP_CHECKPOINT_RESTORE on
// 5.4) keeps working, as with runc. Ambient capabilities that are not both
// permitted and inheritable are left out too: the kernel refuses to raise
// them, and runc's own default spec asks for ambient capabilities without
// inheritable ones, so failing there would break the most common config.
func Apply(c *channel.Caps) error {
	if c == nil {
		return nil
	}
	last, err := LastCap()
	if err != nil {
		return err
	}
	valid := validMask(last)
	if err := Set(c.Effective&valid, c.Permitted&valid, c.Inheritable&valid); err != nil {
		return err
	}
	return SetAmbient(c.Ambient & c.Permitted & c.Inheritable & valid)
}

// Set calls capset(2) version 3 for the calling thread.
func Set(effective, permitted, inheritable uint64) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	for i := range data {
		shift := uint(32 * i)
		data[i].Effective = uint32(effective >> shift)
		data[i].Permitted = uint32(permitted >> shift)
		data[i].Inheritable = uint32(inheritable >> shift)
	}
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capset effective=%#x permitted=%#x inheritable=%#x: %w%s", effective, permitted, inheritable, err,
			hint(err, " (permitted must stay within the current permitted set, inheritable within the bounding set, effective within permitted)"))
	}
	return nil
}

// Get returns the calling thread's effective, permitted and inheritable sets.
func Get() (effective, permitted, inheritable uint64, err error) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return 0, 0, 0, fmt.Errorf("capget: %w", err)
	}
	for i := range data {
		shift := uint(32 * i)
		effective |= uint64(data[i].Effective) << shift
		permitted |= uint64(data[i].Permitted) << shift
		inheritable |= uint64(data[i].Inheritable) << shift
	}
	return effective, permitted, inheritable, nil
}

// SetAmbient replaces the calling thread's ambient set: clear it, then raise
// each capability in mask (each must be permitted and inheritable).
func SetAmbient(mask uint64) error {
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		if mask == 0 && errors.Is(err, unix.EINVAL) {
			return nil // kernel without ambient capabilities (< 4.3): nothing to do
		}
		return fmt.Errorf("clear the ambient set: %w", err)
	}
	for n := 0; n < 64; n++ {
		if mask&(1<<uint(n)) == 0 {
			continue
		}
		if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_RAISE, uintptr(n), 0, 0); err != nil {
			return fmt.Errorf("raise ambient %s: %w%s", Name(n), err, hint(err, " (it must be both permitted and inheritable)"))
		}
	}
	return nil
}

// hint adds an explanation to permission errors, whose bare errno tells the
// reader nothing about which rule was broken.
func hint(err error, text string) string {
	if errors.Is(err, unix.EPERM) {
		return text
	}
	return ""
}
