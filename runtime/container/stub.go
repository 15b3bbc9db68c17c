package container

import (
	"errors"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Sentinel errors callers branch on (the CLI maps them to messages and exit
// codes, the shim to errdefs).
var (
	ErrNotExist   = errors.New("container does not exist")
	ErrExist      = errors.New("container already exists")
	ErrNotRunning = errors.New("container is not running")
	ErrRunning    = errors.New("container is running")
	ErrNotCreated = errors.New("container is not in the created state")
	ErrPaused     = errors.New("container is paused")
	ErrNotPaused  = errors.New("container is not paused")
	ErrInvalidID  = errors.New("invalid container id")
)

var errTODO = errors.New("not implemented yet")

// Container is one container under a state root.
type Container struct {
	root  string
	dir   string
	state State
	spec  *specs.Spec
	init  *Process
}

// Create validates the bundle, creates the container's namespaces, cgroup
// and root filesystem, and leaves its init parked until Start. Nothing is
// left behind when it fails.
func Create(root string, opts CreateOpts) (*Container, error) { return nil, errTODO }

// Load finds an existing container under root.
func Load(root, id string) (*Container, error) { return nil, errTODO }

// List returns the state of every container under root, sorted by id.
func List(root string) ([]State, error) { return nil, errTODO }

func (c *Container) ID() string        { return c.state.ID }
func (c *Container) Spec() *specs.Spec { return c.spec }

// Init is the container's init process when this process created it
// (and so can Wait for it); nil after Load.
func (c *Container) Init() *Process { return c.init }

// State refreshes and returns the container's state.
func (c *Container) State() (State, error) { return c.state, errTODO }

// Start lets the parked init exec the workload: the spec's process, or p's
// replacement fields when p is non-nil. Poststart hooks run after it.
func (c *Container) Start(p *StartProcess) error { return errTODO }

// Kill sends sig to the init, or with all to every process in the container.
func (c *Container) Kill(sig unix.Signal, all bool) error { return errTODO }

// Delete removes a stopped (or created) container: its processes (with
// force), cgroup, state; then runs poststop hooks.
func (c *Container) Delete(force bool) error { return errTODO }

// Exec runs an extra process in a running container.
func (c *Container) Exec(opts ExecOpts) (*Process, error) { return nil, errTODO }

// Pids lists the host PIDs of the container's processes.
func (c *Container) Pids() ([]int, error) { return nil, errTODO }

// Pause freezes every process of the container; Resume thaws them.
func (c *Container) Pause() error  { return errTODO }
func (c *Container) Resume() error { return errTODO }

// Update changes the container's cgroup resources in place.
func (c *Container) Update(r *specs.LinuxResources) error { return errTODO }
