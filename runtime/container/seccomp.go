package container

import (
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/slrt/slrt/runtime/channel"
	"github.com/slrt/slrt/runtime/seccomp"
)

// The seccomp part of a plan, for create and exec alike: the compiled
// filter (cached by profile), and for a profile that notifies, the
// connection to its listener, passed to the init as an extra fd.

// seccompPlan compiles linux.seccomp into pp; nil without a profile (and
// then runtime/seccomp compiles nothing).
func seccompPlan(s *specs.Spec, pp *channel.ProcessPlan) (*seccomp.Program, error) {
	if s.Linux == nil || s.Linux.Seccomp == nil {
		return nil, nil
	}
	prog, err := seccomp.Compile(s.Linux.Seccomp)
	if err != nil {
		return nil, err
	}
	for _, w := range prog.Warnings {
		Warnf("seccomp: %s", w)
	}
	pp.Seccomp, pp.SeccompFlags = prog.BPF, prog.Flags
	return prog, nil
}

// seccompListener connects to linux.seccomp.listenerPath when the filter
// notifies and hands the connection to the init; the caller closes the
// returned file once the init is spawned.
func seccompListener(s *specs.Spec, prog *seccomp.Program, pp *channel.ProcessPlan, req *spawnReq) (*os.File, error) {
	if prog == nil || !prog.Notify {
		return nil, nil
	}
	sock, err := seccomp.ConnectListener(s.Linux.Seccomp.ListenerPath)
	if err != nil {
		return nil, err
	}
	pp.SeccompListenerFD = req.pass(sock)
	return sock, nil
}

// seccompState fills the ContainerProcessState the listener gets, once
// the process's pid is known.
func (c *Container) seccompState(pp *channel.ProcessPlan, pid int, status Status) error {
	if pp.SeccompListenerFD <= 0 {
		return nil
	}
	st := c.state.State
	st.Status = status
	b, err := seccomp.ProcessState(pid, c.spec.Linux.Seccomp.ListenerMetadata, st)
	if err != nil {
		return err
	}
	pp.SeccompState = b
	return nil
}
