// Package cgroups is the container cgroup manager of the slrt engine. It
// creates one cgroup per container on whatever the host has (cgroup v1,
// hybrid v1 + empty v2, or unified v2), applies the OCI linux.resources to
// it, places processes in it and reports on it. It speaks cgroupfs itself
// (and builds the v2 eBPF device program itself): a runtime needs a few
// dozen cgroup files, and the general-purpose cgroup library cost each
// binary several megabytes (cilium/ebpf, godbus, go-systemd, logrus,
// protobuf). Stats come in plain types shaped like containerd's metrics
// (statsv1, statsv2), which the shim encodes for the CRI.
package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

const (
	v1Root      = "/sys/fs/cgroup"
	unifiedRoot = "/sys/fs/cgroup"
	hybridRoot  = "/sys/fs/cgroup/unified"
)

// Manager is one container's cgroup, on whatever hierarchy the host has (v1,
// hybrid, or unified v2).
type Manager struct {
	loc     location
	systemd bool
	mode    cgMode

	// v1dirs maps each v1 controller's name to the container's directory
	// in that hierarchy (legacy and hybrid hosts).
	v1dirs map[string]string

	// v2dir is the container's cgroup in the v2 hierarchy: where the
	// controllers are on unified hosts, and the controller-less "unified"
	// tree on hybrid ones (kept in step so tools reading /proc/PID/cgroup
	// "0::" agree). Empty on legacy hosts.
	v2dir string
}

// New creates the cgroup for container id and applies res (may be nil).
// cgroupsPath is the spec's linux.cgroupsPath: empty means "/slrt/<id>"; an
// absolute path is used as is; a relative one is taken relative to the
// caller's own cgroup (as runc does). With systemd=true it is systemd's
// "slice:prefix:name" form. Failure leaves no directory behind.
func New(cgroupsPath string, systemd bool, id string, res *specs.LinuxResources) (_ *Manager, retErr error) {
	loc, err := locate("create", cgroupsPath, systemd, id)
	if err != nil {
		return nil, err
	}
	m := &Manager{loc: loc, systemd: systemd, mode: hostMode()}
	if err := m.validateMode(res); err != nil {
		return nil, err
	}

	// Remember, per hierarchy, the directory this call makes and the
	// top-most missing ancestor, so a failure removes its own chain and
	// nothing a sibling created meanwhile (see removeChain).
	var created []chain
	defer func() {
		if retErr != nil {
			for _, c := range created {
				removeChain(c)
			}
		}
	}()

	switch m.mode {
	case modeUnified:
		m.v2dir = filepath.Join(unifiedRoot, loc.unified)
		created = appendTop(created, m.v2dir)
		if err := m.createV2(); err != nil {
			return nil, err
		}
	case modeLegacy, modeHybrid:
		if err := m.createV1(&created); err != nil {
			return nil, err
		}
		if m.mode == modeHybrid {
			m.v2dir = filepath.Join(hybridRoot, loc.unified)
			created = appendTop(created, m.v2dir)
			if err := os.MkdirAll(m.v2dir, 0o755); err != nil {
				return nil, fmt.Errorf("create cgroup %s in the v2 hierarchy: %w", m.v2dir, err)
			}
		}
	default:
		return nil, fmt.Errorf("create cgroup %s: no cgroup hierarchy mounted at %s", loc, v1Root)
	}
	if res != nil {
		if err := m.apply(res, false); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Load opens an existing cgroup by the Path() recorded at creation.
func Load(path string, systemd bool) (*Manager, error) {
	loc, err := parseLocation(path)
	if err != nil {
		return nil, fmt.Errorf("load cgroup: %w", err)
	}
	m := &Manager{loc: loc, systemd: systemd, mode: hostMode()}
	switch m.mode {
	case modeUnified:
		m.v2dir = filepath.Join(unifiedRoot, loc.unified)
		if _, err := os.Stat(m.v2dir); err != nil {
			return nil, fmt.Errorf("load cgroup %s: %w", path, err)
		}
	case modeLegacy, modeHybrid:
		if err := m.loadV1(); err != nil {
			return nil, fmt.Errorf("load cgroup %s: %w", path, err)
		}
		if m.mode == modeHybrid {
			// The v1 directories say the cgroup exists; a missing v2
			// twin (a partial delete) must not stop Delete from finishing.
			m.v2dir = filepath.Join(hybridRoot, loc.unified)
		}
	default:
		return nil, fmt.Errorf("load cgroup %s: no cgroup hierarchy mounted at %s", path, v1Root)
	}
	return m, nil
}

// Path is the cgroup's location, to record in the container's state and
// hand back to Load.
func (m *Manager) Path() string {
	if m.systemd {
		return m.loc.common
	}
	return m.loc.String()
}

// Unified reports whether the controllers are on cgroup v2.
func (m *Manager) Unified() bool { return m.mode == modeUnified }

// UnifiedFD opens the container's cgroup v2 directory for clone's
// CLONE_INTO_CGROUP (SysProcAttr.UseCgroupFD), or returns (nil, nil) when
// the host's controllers are on v1, where placement is done by Add. (On a
// hybrid host cloning into the v2 dir alone would leave the v1 controllers
// unjoined.) The fd must be O_RDONLY: clone3 does not take an O_PATH fd.
func (m *Manager) UnifiedFD() (*os.File, error) {
	if m.mode != modeUnified {
		return nil, nil
	}
	f, err := os.OpenFile(m.v2dir, os.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return nil, fmt.Errorf("open cgroup dir %s for CLONE_INTO_CGROUP: %w", m.v2dir, err)
	}
	return f, nil
}

// validateMode rejects resources this host's hierarchy cannot apply before
// anything is created.
func (m *Manager) validateMode(res *specs.LinuxResources) error {
	if res == nil || m.mode == modeUnified {
		return nil
	}
	for k := range res.Unified {
		return fmt.Errorf("create cgroup %s: linux.resources.unified key %q needs cgroup v2, but this host's controllers are on cgroup v1", m.loc, k)
	}
	return nil
}

// locate resolves cgroupsPath (cgroupfs form, or systemd's with systemd)
// into directories; verb names the operation in errors.
func locate(verb, cgroupsPath string, systemd bool, id string) (location, error) {
	if !systemd {
		loc, err := resolveLocation(cgroupsPath, id)
		if err != nil {
			return location{}, fmt.Errorf("%s cgroup for %s: %w", verb, id, err)
		}
		return loc, nil
	}
	if !systemdRunning() {
		return location{}, fmt.Errorf("%s cgroup %q for %s: %w", verb, cgroupsPath, id, ErrSystemdUnavailable)
	}
	loc, err := systemdLocation(cgroupsPath, id)
	if err != nil {
		return location{}, fmt.Errorf("%s cgroup for %s: %w", verb, id, err)
	}
	return loc, nil
}

// chain is what creating one cgroup directory makes: leaf and its missing
// ancestors up to top.
type chain struct{ leaf, top string }

// appendTop records the top-most missing ancestor of dir (inside its
// hierarchy), i.e. the first directory that creating dir will make.
func appendTop(created []chain, dir string) []chain {
	top := ""
	for d := dir; d != "/" && d != "."; d = filepath.Dir(d) {
		if _, err := os.Lstat(d); err == nil {
			break
		}
		top = d
	}
	if top != "" {
		created = append(created, chain{leaf: dir, top: top})
	}
	return created
}

// removeChain undoes a failed creation: rmdir from the leaf upwards, up to
// the top it made, stopping at the first directory that is not empty. A
// sibling created concurrently under a shared new parent (two containers
// of a new pod) keeps its directory and that parent: removing the whole
// tree from the top would take the sibling's cgroup before it holds a
// process, and its add of the pid would then fail with ENOENT.
func removeChain(c chain) {
	for d := c.leaf; ; d = filepath.Dir(d) {
		if err := unix.Rmdir(d); err != nil && !errors.Is(err, unix.ENOENT) {
			return
		}
		if d == c.top || d == "/" || d == "." {
			return
		}
	}
}
