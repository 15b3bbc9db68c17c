// Package apparmor tells whether the host enforces AppArmor. Applying a
// profile is one write of "exec <profile>" to the init's procfs attr file
// (runtime/process, right before execve), so nothing here is linked into
// the init.
package apparmor

import "os"

// Paths read by Enabled; tests point them elsewhere.
var (
	securityDir  = "/sys/kernel/security/apparmor"
	enabledParam = "/sys/module/apparmor/parameters/enabled"
)

// Enabled reports whether AppArmor is active on this host, with runc's
// test (libcontainer/apparmor): its securityfs directory exists and the
// module says "Y". On a host where it is not, a process.apparmorProfile
// cannot be applied: the kernel refuses the attr write with EINVAL.
func Enabled() bool {
	if _, err := os.Stat(securityDir); err != nil {
		return false
	}
	b, err := os.ReadFile(enabledParam)
	return err == nil && len(b) > 0 && b[0] == 'Y'
}
