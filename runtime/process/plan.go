// Package process turns the spec's process object into a channel.ProcessPlan
// (Plan), which the init (cmd/slrt-init/process.c) applies from inside the
// container; it also parses and applies CPU lists for the parent.
package process

import (
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/slrt/slrt/runtime/caps"
	"github.com/slrt/slrt/runtime/channel"
)

// Plan validates p and resolves it to numbers, so that the init does no
// parsing of its own and every error names the spec field it comes from.
//
// rootless says the container runs in a user namespace without help from
// the host's root: requests that can then never succeed (raising a hard
// rlimit, lowering oom_score_adj; both need CAP_SYS_RESOURCE in the initial
// user namespace) fail here instead of in the init.
//
// execCPUAffinity is resolved into InitialCPUs and CPUs; the runtime-spec
// defines it for exec processes, and it is the engine that decides whether
// to apply it to a container's first process as well.
func Plan(p *specs.Process, rootless bool) (channel.ProcessPlan, error) {
	var pp channel.ProcessPlan
	if p == nil {
		return pp, errors.New("process: missing")
	}
	if len(p.Args) == 0 || p.Args[0] == "" {
		return pp, errors.New("process.args: must name the program to run")
	}
	for i, a := range p.Args {
		if strings.IndexByte(a, 0) >= 0 {
			return pp, fmt.Errorf("process.args[%d]: contains a NUL byte", i)
		}
	}
	if !path.IsAbs(p.Cwd) {
		return pp, fmt.Errorf("process.cwd: %q is not an absolute path", p.Cwd)
	}
	for i, e := range p.Env {
		k, _, ok := strings.Cut(e, "=")
		if !ok || k == "" {
			return pp, fmt.Errorf("process.env[%d]: %q is not in KEY=VALUE form", i, e)
		}
		if strings.IndexByte(e, 0) >= 0 {
			return pp, fmt.Errorf("process.env[%d]: contains a NUL byte", i)
		}
	}
	pp.Args = append([]string(nil), p.Args...)
	pp.Env = append([]string(nil), p.Env...)
	pp.Cwd = path.Clean(p.Cwd)

	pp.UID = p.User.UID
	pp.GID = p.User.GID
	pp.AdditionalGids = append([]uint32(nil), p.User.AdditionalGids...)
	if p.User.Umask != nil {
		if *p.User.Umask > 0o777 {
			return pp, fmt.Errorf("process.user.umask: %#o has bits outside 0777", *p.User.Umask)
		}
		u := *p.User.Umask
		pp.Umask = &u
	}

	c, err := caps.FromSpec(p.Capabilities)
	if err != nil {
		return pp, err
	}
	pp.Caps = c

	if pp.Rlimits, err = planRlimits(p.Rlimits, rootless); err != nil {
		return pp, err
	}
	pp.NoNewPrivileges = p.NoNewPrivileges

	if p.OOMScoreAdj != nil {
		v := *p.OOMScoreAdj
		if v < -1000 || v > 1000 {
			return pp, fmt.Errorf("process.oomScoreAdj: %d is outside -1000..1000", v)
		}
		if rootless {
			if cur, err := currentOOMScoreAdj(); err == nil && v < cur {
				return pp, fmt.Errorf("process.oomScoreAdj: %d is below the current %d; a rootless container cannot lower it (needs CAP_SYS_RESOURCE)", v, cur)
			}
		}
		pp.OOMScoreAdj = &v
	}

	if pp.Scheduler, err = planScheduler(p.Scheduler); err != nil {
		return pp, err
	}
	if pp.IOPrio, err = planIOPrio(p.IOPriority); err != nil {
		return pp, err
	}
	if a := p.ExecCPUAffinity; a != nil {
		if pp.InitialCPUs, err = canonicalCPUs(a.Initial); err != nil {
			return pp, fmt.Errorf("process.execCPUAffinity.initial: %w", err)
		}
		if pp.CPUs, err = canonicalCPUs(a.Final); err != nil {
			return pp, fmt.Errorf("process.execCPUAffinity.final: %w", err)
		}
	}

	pp.ApparmorProfile = p.ApparmorProfile
	pp.SelinuxLabel = p.SelinuxLabel
	return pp, nil
}

// canonicalCPUs checks a CPU list and rewrites it in its shortest form; ""
// stays "" (inherit).
func canonicalCPUs(list string) (string, error) {
	if list == "" {
		return "", nil
	}
	set, err := ParseCPUs(list)
	if err != nil {
		return "", err
	}
	return FormatCPUs(set), nil
}
