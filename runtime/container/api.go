// Package container is the slrt engine's API: create a container from an OCI
// bundle with its init parked, start it (optionally with a replacement
// process), inspect, signal, exec into, pause, update and delete it.
//
// The same API serves the daemon-less `slrt` CLI (each command a fresh
// process that Loads the container from its state directory) and the shim
// (one long-lived process that keeps *Container values and gets exit
// statuses from Wait).
package container

import (
	"os"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Status is the OCI lifecycle status of a container.
type Status = specs.ContainerState

const (
	Creating Status = specs.StateCreating
	Created  Status = specs.StateCreated
	Running  Status = specs.StateRunning
	Stopped  Status = specs.StateStopped
	Paused   Status = "paused"
)

// DefaultRoot is where container state lives unless told otherwise. It must
// be on tmpfs: nothing is written to persistent storage during a container's
// life (eMMC wear on edge devices).
const DefaultRoot = "/run/slrt"

// CreateOpts are the inputs of Create.
type CreateOpts struct {
	// ID names the container; it must be unique under the root and match
	// [A-Za-z0-9][A-Za-z0-9_.+-]* (at most 1024 bytes).
	ID string
	// Bundle is the bundle directory; relative paths are made absolute.
	Bundle string
	// Spec, when set, is used instead of Bundle/config.json.
	Spec *specs.Spec
	// ConsoleSocket is the path of a unix socket that receives the pty
	// master when process.terminal is true (runc's --console-socket).
	ConsoleSocket string
	// ConsoleFD, when > 0 and no ConsoleSocket is given, is a connected
	// unix socket used the same way (in-process callers: the shim).
	ConsoleFD int
	// NoPivot uses MS_MOVE+chroot instead of pivot_root (rootfs on ramfs).
	NoPivot bool
	// SystemdCgroup reads cgroupsPath as systemd's "slice:prefix:name".
	SystemdCgroup bool
	// Stdin, Stdout, Stderr are given to the init (and so the workload);
	// nil means the caller's own os.Stdin/os.Stdout/os.Stderr.
	Stdin, Stdout, Stderr *os.File
	// ExtraFiles are given to the workload as fds 3, 4, ... (runc's
	// --preserve-fds, socket activation's LISTEN_FDS).
	ExtraFiles []*os.File
	// Detached means the caller will not stay around to start the container
	// (the CLI): the init then waits for Start on a socket in the state dir.
	Detached bool
	// Shell, when set, is a parked init (NewShell) the container is made
	// from instead of a new one. A shell that does not fit the spec is
	// refused before anything is made and stays usable; once it fits,
	// Create owns it, and a failing Create destroys it with the rest.
	Shell *Shell
}

// State is the OCI state plus what slrt keeps to manage the container.
type State struct {
	specs.State
	// Created is when Create finished.
	Created time.Time `json:"created"`
	// Rootfs is the absolute host path of the container's root.
	Rootfs string `json:"rootfs"`
	// CgroupPath is the cgroupsPath as resolved by the cgroup manager.
	CgroupPath string `json:"cgroupPath,omitempty"`
	// Systemd records that the cgroup path is systemd's form.
	Systemd bool `json:"systemd,omitempty"`
	// InitStart is the init's start time in clock ticks since boot (field 22
	// of /proc/PID/stat), so a reused PID is never mistaken for the init.
	InitStart uint64 `json:"initStart,omitempty"`
	// Owner is the uid that created the container (rootless use).
	Owner int `json:"owner"`
}

// StartProcess replaces parts of the process a created container runs when
// it starts: the fast-start primitive. Empty fields keep the spec's values.
type StartProcess struct {
	Args []string `json:"args,omitempty"`
	Env  []string `json:"env,omitempty"`
	Cwd  string   `json:"cwd,omitempty"`
	// CPUs is a CPU list ("2-3", "0,2") set with sched_setaffinity in the
	// init right before execve, so the workload never runs elsewhere.
	CPUs string `json:"cpus,omitempty"`
}

// ExecOpts are the inputs of Exec.
type ExecOpts struct {
	// Process is the process to run; its cwd, user, capabilities,
	// apparmor profile and seccomp default to the container's own when
	// unset, as with runc exec.
	Process *specs.Process
	// ConsoleSocket / ConsoleFD as in CreateOpts, when Process.Terminal.
	ConsoleSocket string
	ConsoleFD     int
	// Stdin, Stdout, Stderr as in CreateOpts.
	Stdin, Stdout, Stderr *os.File
	// CPUs overrides the CPU list (else process.execCPUAffinity).
	CPUs string
	// ExtraFiles are given to the process as fds 3, 4, ...
	ExtraFiles []*os.File
}

// ExitStatus is how a process ended.
type ExitStatus struct {
	Pid int
	// Code is the exit code, or 128+signal when killed by a signal (the
	// convention containerd and shells use).
	Code     int
	Signaled bool
	Signal   int
	At       time.Time
}

// Process is a running process the caller started (init or exec) and can
// wait for.
type Process struct {
	Pid int
	// Terminal is the pty master when the process has a terminal and the
	// caller asked for it in-process (ConsoleFD), else nil.
	Terminal *os.File
	wait     func() ExitStatus
}

// Wait blocks until the process exits and returns its status. Only the
// process that spawned it can wait; others use State.
func (p *Process) Wait() ExitStatus { return p.wait() }
