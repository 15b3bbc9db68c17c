// Package cgroups is the container cgroup manager of the slrt engine. It
// creates one cgroup per container on whatever the host has (cgroup v1,
// hybrid v1 + empty v2, or unified v2), applies the OCI linux.resources to
// it, places processes in it and reports on it, using
// github.com/containerd/cgroups/v3 for hierarchy discovery, freezing,
// process listing, device filters and the metrics types the CRI decodes.
package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/containerd/cgroups/v3"
	"github.com/containerd/cgroups/v3/cgroup1"
	"github.com/containerd/cgroups/v3/cgroup2"
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
	mode    cgroups.CGMode

	// v1 is the container's cgroup on the v1 controllers (legacy, hybrid);
	// v1dirs maps each controller's name to its directory.
	v1     cgroup1.Cgroup
	v1dirs map[string]string

	// v2 is the container's cgroup in the v2 hierarchy: where the controllers
	// are on unified hosts, and the controller-less "unified" tree on hybrid
	// ones (kept in step so tools reading /proc/PID/cgroup "0::" agree).
	v2    *cgroup2.Manager
	v2dir string
}

// New creates the cgroup for container id and applies res (may be nil).
// cgroupsPath is the spec's linux.cgroupsPath: empty means "/slrt/<id>"; an
// absolute path is used as is; a relative one is taken relative to the
// caller's own cgroup (as runc does). With systemd=true it is systemd's
// "slice:prefix:name" form. Failure leaves no directory behind.
func New(cgroupsPath string, systemd bool, id string, res *specs.LinuxResources) (_ *Manager, retErr error) {
	var (
		loc location
		err error
	)
	if systemd {
		if !systemdRunning() {
			return nil, fmt.Errorf("create cgroup %q for %s: %w", cgroupsPath, id, ErrSystemdUnavailable)
		}
		loc, err = systemdLocation(cgroupsPath, id)
	} else {
		loc, err = resolveLocation(cgroupsPath, id)
	}
	if err != nil {
		return nil, fmt.Errorf("create cgroup for %s: %w", id, err)
	}
	m := &Manager{loc: loc, systemd: systemd, mode: cgroups.Mode()}
	if err := m.validateMode(res); err != nil {
		return nil, err
	}

	// Remember, per hierarchy, the top-most directory this call creates so a
	// failure can remove exactly those (and nothing a sibling owns).
	var created []string
	defer func() {
		if retErr != nil {
			for _, top := range created {
				_ = removeTree(top)
			}
		}
	}()

	switch m.mode {
	case cgroups.Unified:
		m.v2dir = filepath.Join(unifiedRoot, loc.unified)
		created = appendTop(created, m.v2dir)
		if err := m.createV2(); err != nil {
			return nil, err
		}
	case cgroups.Legacy, cgroups.Hybrid:
		if err := m.createV1(&created); err != nil {
			return nil, err
		}
		if m.mode == cgroups.Hybrid {
			m.v2dir = filepath.Join(hybridRoot, loc.unified)
			created = appendTop(created, m.v2dir)
			if err := os.MkdirAll(m.v2dir, 0o755); err != nil {
				return nil, fmt.Errorf("create cgroup %s in the v2 hierarchy: %w", m.v2dir, err)
			}
			if m.v2, err = cgroup2.Load(loc.unified, cgroup2.WithMountpoint(hybridRoot)); err != nil {
				return nil, fmt.Errorf("open cgroup %s in the v2 hierarchy: %w", m.v2dir, err)
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
	m := &Manager{loc: loc, systemd: systemd, mode: cgroups.Mode()}
	switch m.mode {
	case cgroups.Unified:
		m.v2dir = filepath.Join(unifiedRoot, loc.unified)
		if _, err := os.Stat(m.v2dir); err != nil {
			return nil, fmt.Errorf("load cgroup %s: %w", path, err)
		}
		if m.v2, err = cgroup2.Load(loc.unified, cgroup2.WithMountpoint(unifiedRoot)); err != nil {
			return nil, fmt.Errorf("load cgroup %s: %w", path, err)
		}
	case cgroups.Legacy, cgroups.Hybrid:
		m.v1, err = cgroup1.Load(m.v1Path, cgroup1.WithHierarchy(cgroup1.Default), allowMissingControllers)
		if err != nil {
			if errors.Is(err, cgroup1.ErrCgroupDeleted) {
				return nil, fmt.Errorf("load cgroup %s: %w", path, os.ErrNotExist)
			}
			return nil, fmt.Errorf("load cgroup %s: %w", path, err)
		}
		m.v1dirs = subsystemDirs(m.v1, m.v1Path)
		if m.mode == cgroups.Hybrid {
			m.v2dir = filepath.Join(hybridRoot, loc.unified)
			if m.v2, err = cgroup2.Load(loc.unified, cgroup2.WithMountpoint(hybridRoot)); err != nil {
				return nil, fmt.Errorf("load cgroup %s in the v2 hierarchy: %w", path, err)
			}
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
func (m *Manager) Unified() bool { return m.mode == cgroups.Unified }

// UnifiedFD opens the container's cgroup v2 directory for clone's
// CLONE_INTO_CGROUP (SysProcAttr.UseCgroupFD), or returns (nil, nil) when
// the host's controllers are on v1, where placement is done by Add. (On a
// hybrid host cloning into the v2 dir alone would leave the v1 controllers
// unjoined.) The fd must be O_RDONLY: clone3 does not take an O_PATH fd.
func (m *Manager) UnifiedFD() (*os.File, error) {
	if m.mode != cgroups.Unified {
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
	if res == nil || m.mode == cgroups.Unified {
		return nil
	}
	for k := range res.Unified {
		return fmt.Errorf("create cgroup %s: linux.resources.unified key %q needs cgroup v2, but this host's controllers are on cgroup v1", m.loc, k)
	}
	return nil
}

// appendTop records the top-most missing ancestor of dir (inside its
// hierarchy), i.e. the first directory that creating dir will make.
func appendTop(created []string, dir string) []string {
	top := ""
	for d := dir; d != "/" && d != "."; d = filepath.Dir(d) {
		if _, err := os.Lstat(d); err == nil {
			break
		}
		top = d
	}
	if top != "" {
		created = append(created, top)
	}
	return created
}
