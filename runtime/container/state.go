package container

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

var errEOF = io.EOF

const (
	stateFile  = "state.json"
	specFile   = "config.json"
	listenFile = "init.sock"
)

// validID reports whether id is [A-Za-z0-9][A-Za-z0-9_.+-]*. A loop, not a
// regexp: the two regexps this package compiled at init cost every slrt
// command ~20 page faults (perf record), most of them regexp's own code.
func validID(id string) bool {
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case i > 0 && (c == '_' || c == '.' || c == '+' || c == '-'):
		default:
			return false
		}
	}
	return id != ""
}

func checkID(id string) error {
	if id == "" || len(id) > 1024 || !validID(id) || id == "." || id == ".." {
		return fmt.Errorf("%w %q: use letters, digits and _.+- (not first), at most 1024 bytes", ErrInvalidID, id)
	}
	return nil
}

// writeJSON writes v to dir/name atomically (temp file + rename), so a
// reader never sees half a state file.
func writeJSON(dir, name string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", name, err)
	}
	tmp := filepath.Join(dir, "."+name+".tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", filepath.Join(dir, name), err)
	}
	return nil
}

func readJSON(dir, name string, v any) error {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode %s: %w", filepath.Join(dir, name), err)
	}
	return nil
}

// Load finds an existing container under root.
func Load(root, id string) (*Container, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	dir := filepath.Join(root, id)
	c := &Container{root: root, dir: dir, sync: -1}
	if err := readJSON(dir, stateFile, &c.state); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("container %q: %w", id, ErrNotExist)
		}
		return nil, err
	}
	// The whole file is checked now (json.Unmarshal scans it all before
	// decoding), so a damaged one still fails Load; only the hooks are
	// decoded (see Container.spec).
	b, err := os.ReadFile(filepath.Join(dir, specFile))
	if err != nil {
		return nil, err
	}
	var h struct {
		Hooks *specs.Hooks `json:"hooks"`
	}
	if err := json.Unmarshal(b, &h); err != nil {
		return nil, fmt.Errorf("decode %s: %w", filepath.Join(dir, specFile), err)
	}
	c.specRaw, c.hooks = b, h.Hooks
	return c, nil
}

// fullSpec returns the container's OCI spec, decoding the saved
// config.json the first time a loaded container needs more than its hooks.
func (c *Container) fullSpec() (*specs.Spec, error) {
	if c.spec == nil {
		s := new(specs.Spec)
		if err := json.Unmarshal(c.specRaw, s); err != nil {
			return nil, fmt.Errorf("decode %s: %w", filepath.Join(c.dir, specFile), err)
		}
		c.spec, c.specRaw = s, nil
	}
	return c.spec, nil
}

// specHooks returns the spec's hooks without decoding the rest.
func (c *Container) specHooks() *specs.Hooks {
	if c.spec != nil {
		return c.spec.Hooks
	}
	return c.hooks
}

// List returns the state of every container under root, sorted by id.
func List(root string) ([]State, error) {
	ents, err := os.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list containers in %s: %w", root, err)
	}
	var out []State
	for _, e := range ents {
		if !e.IsDir() || checkID(e.Name()) != nil {
			continue
		}
		c, err := Load(root, e.Name())
		if err != nil {
			continue // being created or deleted right now
		}
		st, err := c.State()
		if err != nil {
			continue
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// State refreshes and returns the container's state.
func (c *Container) State() (State, error) {
	st := c.state
	st.Status = c.status()
	if st.Status == Stopped {
		st.Pid = 0
	}
	return st, nil
}

// status derives the lifecycle status from the kernel, not from a file: a
// file cannot know that the workload exited.
func (c *Container) status() Status {
	pid := c.state.Pid
	if pid <= 0 || !alive(pid, c.state.InitStart) {
		return Stopped
	}
	if c.cg() != nil {
		if frozen, err := c.cg().Frozen(); err == nil && frozen {
			return Paused
		}
	}
	if c.parked() {
		return Created
	}
	return Running
}

// alive tells whether pid is still the process that started at start
// ticks and has not exited (a zombie counts as exited).
func alive(pid int, start uint64) bool {
	st, state, err := procStat(pid)
	if err != nil || state == 'Z' || state == 'X' {
		return false
	}
	return start == 0 || st == start
}

// parked tells whether the init is still slrt-init (exec'd from the memfd)
// rather than the workload. The init is not dumpable, so only root may
// read its exe link; a rootless caller falls back on what Create and
// Start recorded.
func (c *Container) parked() bool {
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", c.state.Pid))
	if err != nil {
		return c.state.Status == Created
	}
	return strings.HasPrefix(exe, "/memfd:slrt-init")
}

// procStat returns the start time (clock ticks after boot) and the state
// letter of pid from /proc/PID/stat.
func procStat(pid int) (uint64, byte, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	// comm may hold spaces and parentheses: fields start after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return 0, 0, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	f := strings.Fields(string(b[i+2:]))
	// f[0] is field 3 (state); starttime is field 22.
	if len(f) < 20 {
		return 0, 0, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	start, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("parse /proc/%d/stat: %w", pid, err)
	}
	return start, f[0][0], nil
}

// pidfd opens a pidfd for the init, checking afterwards that the pid was
// not reused, so signals never reach another process.
func (c *Container) pidfd() (int, error) {
	fd, err := unix.PidfdOpen(c.state.Pid, 0)
	if err != nil {
		return -1, fmt.Errorf("container %q: %w", c.state.ID, ErrNotRunning)
	}
	if !alive(c.state.Pid, c.state.InitStart) {
		unix.Close(fd)
		return -1, fmt.Errorf("container %q: %w", c.state.ID, ErrNotRunning)
	}
	return fd, nil
}

// ociState is the runtime-spec state JSON handed to hooks.
func (c *Container) ociState(status Status) []byte {
	s := c.state.State
	s.Status = status
	b, _ := json.Marshal(s)
	return b
}
