// Package spec adds an FGAC profile to an OCI spec: the seccomp rules that
// send the profile's syscalls to the agent (SCMP_ACT_NOTIFY) and the
// agent's socket (linux.seccomp.listenerPath, listenerMetadata = the
// profile's name), merged into whatever seccomp profile the spec already
// has (unconfined, or a RuntimeDefault-like allow-list).
//
// It is pure: the CLI and the shim call it on the spec before Create when a
// container's annotation slrt.io/fgac-profile asks for a profile.
package spec

import (
	"fmt"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/slrt/slrt/fgac/policy"
)

// DefaultSocket is where `slrt fgac serve` listens unless told otherwise.
const DefaultSocket = "/run/slrt/fgac.sock"

// DefaultPolicy is the policy file the agent and the runtime read unless
// told otherwise.
const DefaultPolicy = "/etc/slrt/fgac.json"

// Syscalls whose only job is to mount (the new mount API): with a mount
// rule they fail with ENOSYS, so that mount(8) falls back to mount(2), the
// call the agent emulates, rather than failing with EPERM in a
// user-namespaced container.
var newMountAPI = []string{"fsopen", "fspick", "open_tree"}

// FromAnnotations applies the profile that s's annotation
// slrt.io/fgac-profile names, after checking with pol that the container's
// namespace may use it (the agent checks again on every connection: the
// policy may change). It reports whether s asked for a profile.
func FromAnnotations(s *specs.Spec, pol *policy.Policy, socket string) (bool, error) {
	name := s.Annotations[policy.ProfileAnnotation]
	if name == "" {
		return false, nil
	}
	pr, err := pol.Select("", s.Annotations)
	if err != nil {
		return true, fmt.Errorf("annotation %s: %w", policy.ProfileAnnotation, err)
	}
	return true, Apply(s, pr.Name, pr.Syscalls(), socket)
}

// Apply makes s's seccomp filter notify socket of syscalls, with profile
// as listenerMetadata. Rules of an existing profile that name these
// syscalls lose them (a notified syscall has one action), except for
// mknod/mknodat: only device nodes are notified (the mode's S_IFMT is
// S_IFCHR or S_IFBLK), and FIFOs, sockets and regular files keep what the
// profile said. A spec without seccomp gets an allow-all filter plus the
// notifications.
func Apply(s *specs.Spec, profile string, syscalls []string, socket string) error {
	if s.Linux == nil {
		s.Linux = &specs.Linux{}
	}
	sc := s.Linux.Seccomp
	if sc == nil {
		sc = &specs.LinuxSeccomp{DefaultAction: specs.ActAllow}
	} else {
		cp := *sc
		sc = &cp
	}
	if sc.ListenerPath != "" && sc.ListenerPath != socket {
		return fmt.Errorf("linux.seccomp.listenerPath is %s already: one filter has one listener, not also %s", sc.ListenerPath, socket)
	}
	if sc.ListenerMetadata != "" && sc.ListenerMetadata != profile {
		return fmt.Errorf("linux.seccomp.listenerMetadata is %q already, not FGAC profile %q", sc.ListenerMetadata, profile)
	}
	sc.ListenerPath, sc.ListenerMetadata = socket, profile

	var drop, add []specs.LinuxSyscall
	replace := []string{}
	for _, name := range syscalls {
		switch name {
		case "mknod", "mknodat":
			idx := uint(1)
			if name == "mknodat" {
				idx = 2
			}
			byMode := func(r specs.LinuxSyscall, kinds ...uint64) {
				for _, kind := range kinds {
					r.Names = []string{name}
					r.Args = []specs.LinuxSeccompArg{{Index: idx, Value: unix.S_IFMT, ValueTwo: kind, Op: specs.OpMaskedEqual}}
					add = append(add, r)
				}
			}
			byMode(specs.LinuxSyscall{Action: specs.ActNotify}, unix.S_IFCHR, unix.S_IFBLK)
			// An unconditional rule wins over conditional ones
			// (runtime/seccomp, as libseccomp): the profile's own rule for
			// mknod is split by file type too, so FIFOs, sockets and
			// regular files keep its action.
			if r, ok := unconditional(sc.Syscalls, name); ok {
				byMode(r, 0, unix.S_IFREG, unix.S_IFIFO, unix.S_IFSOCK)
			}
			replace = append(replace, name)
		case "mount":
			replace = append(replace, name)
			add = append(add, specs.LinuxSyscall{Names: []string{name}, Action: specs.ActNotify})
			enosys := uint(unix.ENOSYS)
			drop = append(drop, specs.LinuxSyscall{Names: newMountAPI, Action: specs.ActErrno, ErrnoRet: &enosys})
			replace = append(replace, newMountAPI...)
		default:
			replace = append(replace, name)
			add = append(add, specs.LinuxSyscall{Names: []string{name}, Action: specs.ActNotify})
		}
	}
	rules := make([]specs.LinuxSyscall, 0, len(sc.Syscalls)+len(add)+len(drop))
	for _, r := range sc.Syscalls {
		names := slices.DeleteFunc(slices.Clone(r.Names), func(n string) bool { return slices.Contains(replace, n) })
		if len(names) > 0 {
			r.Names = names
			rules = append(rules, r)
		}
	}
	sc.Syscalls = append(append(rules, drop...), add...)
	s.Linux.Seccomp = sc
	return nil
}

// unconditional is the first rule naming syscall without argument
// conditions.
func unconditional(rules []specs.LinuxSyscall, syscall string) (specs.LinuxSyscall, bool) {
	for _, r := range rules {
		if len(r.Args) == 0 && slices.Contains(r.Names, syscall) {
			return r, true
		}
	}
	return specs.LinuxSyscall{}, false
}
