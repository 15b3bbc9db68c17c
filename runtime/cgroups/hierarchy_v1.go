package cgroups

import (
	"fmt"
	"os"

	"github.com/containerd/cgroups/v3/cgroup1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// allowMissingControllers lets Load open a cgroup even when a controller
// (say devices, in a user namespace) has no directory.
func allowMissingControllers(c *cgroup1.InitConfig) error {
	c.InitCheck = cgroup1.AllowAny
	return nil
}

// v1Path is the cgroup1.Path of the container: its path in each hierarchy.
func (m *Manager) v1Path(n cgroup1.Name) (string, error) {
	return m.loc.forCtrl(string(n)), nil
}

// createV1 makes the container's directory in every v1 hierarchy. cgroup1
// initialises a new cpuset child (and any new parents) from its parent's
// cpus and mems, without which adding a process fails with ENOSPC.
// Resources are applied afterwards by apply, which names what failed.
func (m *Manager) createV1(created *[]string) error {
	subsystems, err := cgroup1.Default()
	if err != nil {
		return fmt.Errorf("create cgroup %s: list v1 controllers: %w", m.loc, err)
	}
	for _, s := range subsystems {
		if p, ok := s.(interface{ Path(string) string }); ok {
			*created = appendTop(*created, p.Path(m.loc.forCtrl(string(s.Name()))))
		}
	}
	cg, err := cgroup1.New(m.v1Path, &specs.LinuxResources{},
		cgroup1.WithHierarchy(func() ([]cgroup1.Subsystem, error) { return subsystems, nil }))
	if err != nil {
		return fmt.Errorf("create cgroup %s on the v1 controllers: %w", m.loc, err)
	}
	m.v1 = cg
	m.v1dirs = subsystemDirs(cg, m.v1Path)
	return nil
}

// subsystemDirs maps each active v1 controller to the container's directory.
func subsystemDirs(cg cgroup1.Cgroup, path cgroup1.Path) map[string]string {
	dirs := map[string]string{}
	for _, s := range cg.Subsystems() {
		p, ok := s.(interface{ Path(string) string })
		if !ok {
			continue
		}
		rel, err := path(s.Name())
		if err != nil {
			continue
		}
		dirs[string(s.Name())] = p.Path(rel)
	}
	return dirs
}

// v1Dir is the container's directory for controller ctrl, or an error naming
// the resource that needs it.
func (m *Manager) v1Dir(ctrl, resource string) (string, error) {
	d, ok := m.v1dirs[ctrl]
	if !ok {
		return "", fmt.Errorf("set %s of cgroup %s: the %s controller is not mounted on this host", resource, m.loc, ctrl)
	}
	if _, err := os.Lstat(d); err != nil {
		return "", fmt.Errorf("set %s of cgroup %s: %w", resource, m.loc, err)
	}
	return d, nil
}
