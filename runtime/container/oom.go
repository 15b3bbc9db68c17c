package container

import "fmt"

// OOMKillCount is how many processes the kernel has OOM-killed in the
// container's cgroup so far. The shim reads it when a process exits, so an
// OOM kill is reported before the exit it caused even when the OOMEvents
// watcher has not delivered it yet.
func (c *Container) OOMKillCount() (uint64, error) {
	if c.cg() == nil {
		return 0, fmt.Errorf("oom kill count of container %q: %w", c.state.ID, ErrNoCgroup)
	}
	return c.cg().OOMKillCount()
}
