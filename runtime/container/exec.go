package container

import (
	"fmt"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/slrt/slrt/runtime/channel"
	"github.com/slrt/slrt/runtime/namespaces"
	"github.com/slrt/slrt/runtime/process"
)

// Exec runs an extra process in a created or running container: in all its
// namespaces and its cgroup, with the process's own credentials,
// capabilities and seccomp. Fields the caller leaves unset (cwd, user,
// capabilities, no_new_privs, apparmor, rlimits) come from the container's
// process, as with runc exec.
func (c *Container) Exec(opts ExecOpts) (*Process, error) {
	if st := c.status(); st != Running && st != Created {
		return nil, fmt.Errorf("cannot exec in container %q (status %s): %w", c.state.ID, st, ErrNotRunning)
	}
	if opts.Process == nil || len(opts.Process.Args) == 0 {
		return nil, fmt.Errorf("exec in container %q: process.args must not be empty", c.state.ID)
	}
	s, err := c.fullSpec()
	if err != nil {
		return nil, fmt.Errorf("exec in container %q: %w", c.state.ID, err)
	}
	proc := mergeProcess(opts.Process, s.Process)
	pp, err := process.Plan(proc, os.Geteuid() != 0)
	if err != nil {
		return nil, err
	}
	if err := checkLSM(proc); err != nil {
		return nil, err
	}
	if opts.CPUs != "" {
		pp.CPUs = opts.CPUs
	}
	ns, err := namespaces.Parse(s.Linux.Namespaces)
	if err != nil {
		return nil, err
	}
	req := &spawnReq{cg: c.cg(), stdin: opts.Stdin, stdout: opts.Stdout, stderr: opts.Stderr, initialCPUs: pp.InitialCPUs}
	plan := &channel.Plan{Exec: true, Proc: pp}
	seccompProg, err := seccompPlan(s, &plan.Proc)
	if err != nil {
		return nil, err
	}

	var closeAfter []*os.File
	defer func() {
		for _, f := range closeAfter {
			f.Close()
		}
	}()
	pid := c.state.Pid
	if ns.Has(specs.UserNamespace) {
		if req.userns, err = os.Open(namespaces.ProcPath(pid, specs.UserNamespace)); err != nil {
			return nil, fmt.Errorf("exec in container %q: open its user namespace: %w", c.state.ID, err)
		}
		closeAfter = append(closeAfter, req.userns)
	}
	for _, k := range []namespaces.Kind{specs.IPCNamespace, specs.UTSNamespace, specs.NetworkNamespace, specs.PIDNamespace, specs.CgroupNamespace, specs.TimeNamespace} {
		if ns.Has(k) {
			req.join = append(req.join, namespaces.Target{Kind: k, Path: namespaces.ProcPath(pid, k)})
		}
	}
	mnt, err := os.Open(namespaces.ProcPath(pid, specs.MountNamespace))
	if err != nil {
		return nil, fmt.Errorf("exec in container %q: open its mount namespace: %w", c.state.ID, err)
	}
	closeAfter = append(closeAfter, mnt)
	plan.MountNSFD = req.pass(mnt)
	if proc.Terminal {
		sock, err := consoleSocket(opts.ConsoleSocket, opts.ConsoleFD)
		if err != nil {
			return nil, err
		}
		closeAfter = append(closeAfter, sock)
		plan.Console = true
		if b := proc.ConsoleSize; b != nil {
			plan.ConsoleRows, plan.ConsoleCols = b.Height, b.Width
		}
		plan.ConsoleFD = req.pass(sock)
	}

	if sock, err := seccompListener(s, seccompProg, &plan.Proc, req); err != nil {
		return nil, err
	} else if sock != nil {
		closeAfter = append(closeAfter, sock)
	}
	for _, f := range opts.ExtraFiles {
		plan.PreserveFDs = append(plan.PreserveFDs, req.pass(f))
	}
	kid, err := spawn(req)
	if err != nil {
		return nil, fmt.Errorf("exec in container %q: %w", c.state.ID, err)
	}
	defer kid.closeSync()
	if err := c.seccompState(&plan.Proc, kid.cmd.Process.Pid, c.status()); err != nil {
		kid.kill()
		return nil, err
	}
	if err := kid.send(&channel.Message{Kind: channel.KindPlan, Plan: plan}); err != nil {
		kid.kill()
		return nil, err
	}
	if err := awaitExec(kid.sync); err != nil {
		kid.kill()
		return nil, fmt.Errorf("exec in container %q: %w", c.state.ID, err)
	}
	return &Process{Pid: kid.cmd.Process.Pid, wait: kid.wait}, nil
}

// mergeProcess fills what an exec request leaves unset from the container's
// own process.
func mergeProcess(p, base *specs.Process) *specs.Process {
	out := *p
	if base == nil {
		return &out
	}
	if out.Cwd == "" {
		out.Cwd = base.Cwd
	}
	if out.Env == nil {
		out.Env = base.Env
	}
	if out.Capabilities == nil {
		out.Capabilities = base.Capabilities
	}
	if out.ApparmorProfile == "" {
		out.ApparmorProfile = base.ApparmorProfile
	}
	if out.SelinuxLabel == "" {
		out.SelinuxLabel = base.SelinuxLabel
	}
	if out.Rlimits == nil {
		out.Rlimits = base.Rlimits
	}
	if !out.NoNewPrivileges {
		out.NoNewPrivileges = base.NoNewPrivileges
	}
	if out.ExecCPUAffinity == nil {
		out.ExecCPUAffinity = base.ExecCPUAffinity
	}
	if out.Cwd == "" {
		out.Cwd = "/"
	}
	return &out
}
