package container

import (
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/slrt/slrt/runtime/cgroups"
)

// unifiedOnly is where a pure cgroup v2 host has its root's controllers.
var unifiedOnly = "/sys/fs/cgroup/cgroup.controllers"

// rootlessCgroup gives a container created by an unprivileged user a
// cgroup only where one can be had without root: a pure cgroup v2 host
// whose linux.cgroupsPath lies in a subtree delegated to the user (systemd
// gives each user one under user@UID.service). Anywhere else (v1 and hybrid
// hosts cannot delegate safely, no cgroupsPath, a path the user cannot
// write) the container runs in the caller's cgroup and says so in the log:
// linux.resources are then not applied, and it cannot be paused or its
// stats read.
func (c *Container) rootlessCgroup(s *specs.Spec) error {
	why := ""
	switch _, err := os.Stat(unifiedOnly); {
	case err != nil:
		why = "the host does not use cgroup v2 alone, and v1 hierarchies cannot be delegated to a user"
	case s.Linux.CgroupsPath == "":
		why = "no linux.cgroupsPath names a delegated cgroup v2 subtree"
	default:
		m, err := cgroups.New(s.Linux.CgroupsPath, c.state.Systemd, c.state.ID, cgroupResources(s))
		if err == nil {
			c.cgMgr = m
			c.state.CgroupPath = m.Path()
			return nil
		}
		why = "linux.cgroupsPath is not in a cgroup v2 subtree delegated to this user (" + err.Error() + ")"
	}
	extra := ""
	if s.Linux.Resources != nil {
		extra = "; linux.resources are not applied"
	}
	Warnf("rootless: container %s runs without a cgroup of its own: %s%s", c.state.ID, why, extra)
	return nil
}
