package spec

import (
	"sort"

	"github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"
	"golang.org/x/sys/unix"

	"github.com/slrt/slrt/runtime/apparmor"
	"github.com/slrt/slrt/runtime/caps"
	"github.com/slrt/slrt/runtime/seccomp"
	"github.com/slrt/slrt/runtime/selinux"
)

// What the engine enforces. seccomp: runtime/seccomp compiles
// linux.seccomp and slrt-init loads it right before execve, handing a
// notify fd to listenerPath. idmap: the parent makes idmapped binds
// (mounts[].uidMappings, "idmap"/"ridmap") with open_tree and
// mount_setattr, and the init moves them into place. Higher layers act on
// these answers (containerd sends idmapped mounts only to runtimes that
// report them; a seccomp profile is trusted to be enforced), so report
// only what the code does.
const (
	seccompEnabled = true
	idmapEnabled   = true
)

// mountOptions are the options runtime/rootfs turns into mount(2) flags and
// propagation changes (its flagOptions and propagationOptions). Filesystem
// data options (mode=, size=, ...) pass through to the kernel and are not
// listed, as in runc.
var mountOptions = []string{
	"async", "atime", "bind", "dev", "diratime", "dirsync", "exec",
	"lazytime", "mand", "noatime", "nodev", "nodiratime", "noexec",
	"nolazytime", "nomand", "norelatime", "nostrictatime", "nosuid",
	"nosymfollow", "private", "rbind", "relatime", "remount", "ro",
	"rprivate", "rshared", "rslave", "runbindable", "rw", "shared", "slave",
	"strictatime", "suid", "symfollow", "sync", "unbindable",
	// recursive (mount_setattr AT_RECURSIVE): containerd's CRI allows
	// recursive read-only mounts only on runtimes that list "rro"
	"rro", "rrw", "rnosuid", "rsuid", "rnodev", "rdev", "rnoexec", "rexec",
	"rnodiratime", "rdiratime", "rnosymfollow", "rsymfollow", "rrelatime",
	"rnoatime", "rstrictatime",
}

// Features describes what this runtime implements, for `slrt features`
// (runtime-spec features.md). A nil field means "unknown", so everything
// slrt knows it does not do is said explicitly with false.
func Features() *features.Features {
	yes, no := ptr(true), ptr(false)
	opts := append([]string(nil), mountOptions...)
	if idmapEnabled {
		opts = append(opts, "idmap", "ridmap")
	}
	sort.Strings(opts)
	f := &features.Features{
		OCIVersionMin: "1.0.0",
		OCIVersionMax: specs.Version,
		Hooks:         []string{"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"},
		MountOptions:  opts,
		Linux: &features.Linux{
			Namespaces: []string{
				string(specs.CgroupNamespace), string(specs.IPCNamespace), string(specs.MountNamespace),
				string(specs.NetworkNamespace), string(specs.PIDNamespace), string(specs.TimeNamespace),
				string(specs.UserNamespace), string(specs.UTSNamespace),
			},
			Capabilities: caps.Names(),
			Cgroup: &features.Cgroup{
				V1: yes, V2: yes,
				// The "slice:prefix:name" path form is resolved to the
				// cgroupfs path systemd uses; slrt does not talk to systemd
				// over D-Bus, so there is no user-instance support.
				Systemd: yes, SystemdUser: no,
				Rdma: yes,
			},
			Seccomp: seccompFeatures(),
			// The init applies a profile and a label only where the host
			// enforces the LSM (and refuses them elsewhere), so each is
			// enabled exactly when the host has it, as runc reports them.
			Apparmor:        &features.Apparmor{Enabled: ptr(apparmor.Enabled())},
			Selinux:         &features.Selinux{Enabled: ptr(selinux.Enabled())},
			IntelRdt:        &features.IntelRdt{Enabled: no},
			MountExtensions: &features.MountExtensions{IDMap: &features.IDMap{Enabled: ptr(idmapEnabled)}},
			NetDevices:      &features.NetDevices{Enabled: no},
		},
		Annotations: map[string]string{
			"io.slrt.checkpoint.enabled": "false",
		},
	}
	return f
}

func seccompFeatures() *features.Seccomp {
	if !seccompEnabled {
		return &features.Seccomp{Enabled: ptr(false)}
	}
	return &features.Seccomp{
		Enabled: ptr(true),
		// What runtime/seccomp's own compiler takes: the
		// architectures are those of this host's kernel and those of
		// its byte order a profile may list (accepted, never matched).
		Actions:        append([]string(nil), seccomp.Actions...),
		Operators:      append([]string(nil), seccomp.Operators...),
		Archs:          seccomp.Archs(),
		KnownFlags:     seccompFlagNames(),
		SupportedFlags: supportedSeccompFlags(),
	}
}

// seccompFlags are the filter flags runtime-spec defines.
var seccompFlags = []struct {
	name string
	bit  uintptr
}{
	{"SECCOMP_FILTER_FLAG_TSYNC", unix.SECCOMP_FILTER_FLAG_TSYNC},
	{"SECCOMP_FILTER_FLAG_LOG", unix.SECCOMP_FILTER_FLAG_LOG},
	{"SECCOMP_FILTER_FLAG_SPEC_ALLOW", unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW},
	{"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV},
}

func seccompFlagNames() []string {
	out := make([]string, len(seccompFlags))
	for i, f := range seccompFlags {
		out[i] = f.name
	}
	return out
}

// supportedSeccompFlags asks the running kernel which flags it knows:
// seccomp(SECCOMP_SET_MODE_FILTER) with a NULL program fails with EFAULT
// once the flags have been accepted, and with EINVAL when a flag is unknown.
// Nothing is installed either way.
func supportedSeccompFlags() []string {
	var out []string
	for _, f := range seccompFlags {
		flags := f.bit
		if f.bit == unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV {
			// Only valid together with NEW_LISTENER.
			flags |= unix.SECCOMP_FILTER_FLAG_NEW_LISTENER
		}
		_, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, flags, 0)
		if errno == unix.EFAULT {
			out = append(out, f.name)
		}
	}
	return out
}

func ptr[T any](v T) *T { return &v }
