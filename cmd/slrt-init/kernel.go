package main

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/slrt/slrt/runtime/channel"
	"github.com/slrt/slrt/runtime/procfs"
)

func setNames(p *channel.Plan) error {
	if p.SetHostname {
		if err := unix.Sethostname([]byte(p.Hostname)); err != nil {
			return fmt.Errorf("set hostname %q: %w", p.Hostname, err)
		}
	}
	if p.SetDomainname {
		if err := unix.Setdomainname([]byte(p.Domainname)); err != nil {
			return fmt.Errorf("set domainname %q: %w", p.Domainname, err)
		}
	}
	return nil
}

// writeSysctls writes linux.sysctl through the container's /proc/sys, after
// pivot_root, so only namespaced values are reachable (the parent checked
// which keys are allowed).
func writeSysctls(list []channel.KV) error {
	if len(list) == 0 {
		return nil
	}
	proc, err := procfs.Open("/proc")
	if err != nil {
		return fmt.Errorf("sysctls: %w", err)
	}
	defer proc.Close()
	for _, kv := range list {
		if strings.Contains(kv.Key, "/") || strings.Contains(kv.Key, "..") {
			return fmt.Errorf("sysctl %q: not a sysctl name", kv.Key)
		}
		rel := "sys/" + strings.ReplaceAll(kv.Key, ".", "/")
		if err := proc.WriteFile(rel, []byte(kv.Value)); err != nil {
			return fmt.Errorf("sysctl %s=%q: %w", kv.Key, kv.Value, err)
		}
	}
	return nil
}

// timeNamespace unshares a time namespace for the workload: offsets can only
// be written before any process enters it, and this thread's execve is the
// first to enter.
func timeNamespace(p *channel.Plan) error {
	if !p.TimeNS {
		return nil
	}
	if err := unix.Unshare(unix.CLONE_NEWTIME); err != nil {
		return fmt.Errorf("unshare time namespace: %w", err)
	}
	var b strings.Builder
	for _, o := range p.TimeOffsets {
		fmt.Fprintf(&b, "%s %d %d\n", o.Clock, o.Secs, o.Nanos)
	}
	if b.Len() == 0 {
		return nil
	}
	proc, err := procfs.Open("/proc")
	if err != nil {
		return fmt.Errorf("time namespace offsets: %w", err)
	}
	defer proc.Close()
	if err := proc.WriteFile(procfs.Self()+"/timens_offsets", []byte(b.String())); err != nil {
		return fmt.Errorf("write time namespace offsets: %w", err)
	}
	return nil
}
