package container

import (
	"fmt"
	"sort"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/slrt/slrt/runtime/channel"
	"github.com/slrt/slrt/runtime/hooks"
	"github.com/slrt/slrt/runtime/namespaces"
	"github.com/slrt/slrt/runtime/process"
	"github.com/slrt/slrt/runtime/rootfs"
)

// buildPlan validates the parts of the spec the init acts on and resolves
// them into a channel.Plan. Every error names the spec field at fault.
func buildPlan(s *specs.Spec, bundle string, ns *namespaces.Config, opts *CreateOpts, rootless bool) (*channel.Plan, error) {
	if s.Process == nil {
		return nil, fmt.Errorf("process: missing from config.json")
	}
	if s.Root == nil || s.Root.Path == "" {
		return nil, fmt.Errorf("root.path: missing from config.json")
	}
	if !ns.New[specs.MountNamespace] {
		// The rootfs is built with mounts in the container's own mount
		// namespace; doing that in the host's (or a joined one) would
		// change the host.
		return nil, fmt.Errorf("linux.namespaces: a new mount namespace is required")
	}
	userNS := ns.Has(specs.UserNamespace)
	if ns.New[specs.UserNamespace] && (len(s.Linux.UIDMappings) == 0 || len(s.Linux.GIDMappings) == 0) {
		return nil, fmt.Errorf("linux.uidMappings/gidMappings: required with a new user namespace")
	}
	if !userNS && (len(s.Linux.UIDMappings) > 0 || len(s.Linux.GIDMappings) > 0) {
		return nil, fmt.Errorf("linux.uidMappings: given without a user namespace")
	}
	if ns.Join[specs.MountNamespace] != "" {
		return nil, fmt.Errorf("linux.namespaces: joining an existing mount namespace is not supported")
	}

	rp, err := rootfs.Plan(s, bundle, userNS)
	if err != nil {
		return nil, err
	}
	rp.NoPivot = rp.NoPivot || opts.NoPivot
	rp.CgroupNS = ns.Has(specs.CgroupNamespace)
	labelMounts(s.Linux.MountLabel, &rp)
	pp, err := process.Plan(s.Process, rootless)
	if err != nil {
		return nil, err
	}
	if err := checkLSM(s.Process); err != nil {
		return nil, err
	}
	// Joined or new, the init is root only in its user namespace: devices
	// are bound, not made, and bind sources are cloned by the parent.
	p := &channel.Plan{Rootfs: rp, Proc: pp, NewUserNS: userNS}

	// A joined UTS namespace may be renamed too, as runc does (it is the
	// container's, only shared with its pod).
	if s.Hostname != "" {
		if !ns.Has(specs.UTSNamespace) {
			return nil, fmt.Errorf("hostname: setting %q needs a new UTS namespace", s.Hostname)
		}
		p.Hostname, p.SetHostname = s.Hostname, true
	}
	if s.Domainname != "" {
		if !ns.Has(specs.UTSNamespace) {
			return nil, fmt.Errorf("domainname: setting %q needs a new UTS namespace", s.Domainname)
		}
		p.Domainname, p.SetDomainname = s.Domainname, true
	}
	if p.Sysctls, err = sysctls(s.Linux.Sysctl, ns); err != nil {
		return nil, err
	}
	if s.Hooks != nil {
		// Check the hooks the parent runs too, before anything exists.
		for name, list := range map[string][]specs.Hook{
			"prestart":      s.Hooks.Prestart, //nolint:staticcheck // deprecated, still run
			"createRuntime": s.Hooks.CreateRuntime, "poststart": s.Hooks.Poststart, "poststop": s.Hooks.Poststop,
		} {
			if _, err := hooks.FromSpec(name, list); err != nil {
				return nil, err
			}
		}
		if p.CreateCtrHooks, err = hooks.FromSpec("createContainer", s.Hooks.CreateContainer); err != nil {
			return nil, err
		}
		if p.StartCtrHooks, err = hooks.FromSpec("startContainer", s.Hooks.StartContainer); err != nil {
			return nil, err
		}
	}
	if s.Process.Terminal {
		p.Console = true
		if b := s.Process.ConsoleSize; b != nil {
			p.ConsoleRows, p.ConsoleCols = b.Height, b.Width
		}
	}
	if ns.New[specs.TimeNamespace] {
		p.TimeNS = true
		for clock, o := range s.Linux.TimeOffsets {
			if clock != "monotonic" && clock != "boottime" {
				return nil, fmt.Errorf("linux.timeOffsets: unknown clock %q (monotonic, boottime)", clock)
			}
			p.TimeOffsets = append(p.TimeOffsets, channel.TimeOffset{Clock: clock, Secs: o.Secs, Nanos: o.Nanosecs})
		}
	} else if len(s.Linux.TimeOffsets) > 0 {
		return nil, fmt.Errorf("linux.timeOffsets: given without a time namespace")
	}
	return p, nil
}

// sysctls checks that each key is namespaced by a namespace the container
// has of its own (runtime-spec leaves this to the runtime; runc's rule):
// writing any other would change the host.
func sysctls(in map[string]string, ns *namespaces.Config) ([]channel.KV, error) {
	keys := make([]string, 0, len(in))
	for k := range in {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]channel.KV, 0, len(keys))
	for _, k := range keys {
		need, ok := sysctlNamespace(k)
		if !ok {
			return nil, fmt.Errorf("linux.sysctl: %q is not namespaced, refusing to change the host's value", k)
		}
		if !ns.Has(need) {
			return nil, fmt.Errorf("linux.sysctl: %q needs the container to have its own %s namespace", k, need)
		}
		out = append(out, channel.KV{Key: k, Value: in[k]})
	}
	return out, nil
}

func sysctlNamespace(key string) (namespaces.Kind, bool) {
	switch {
	case key == "kernel.msgmax", key == "kernel.msgmnb", key == "kernel.msgmni",
		key == "kernel.sem", key == "kernel.shmall", key == "kernel.shmmax",
		key == "kernel.shmmni", key == "kernel.shm_rmid_forced",
		strings.HasPrefix(key, "fs.mqueue."):
		return specs.IPCNamespace, true
	case strings.HasPrefix(key, "net."):
		return specs.NetworkNamespace, true
	case key == "kernel.hostname", key == "kernel.domainname":
		return specs.UTSNamespace, true
	}
	return "", false
}
