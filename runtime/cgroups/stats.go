package cgroups

import (
	"fmt"

	"github.com/containerd/cgroups/v3/cgroup1"
	v1stats "github.com/containerd/cgroups/v3/cgroup1/stats"
	v2stats "github.com/containerd/cgroups/v3/cgroup2/stats"
)

// Stats are the cgroup's metrics in the containerd types the CRI decodes:
// V1 on hosts whose controllers are on v1 (legacy, hybrid), else V2.
type Stats struct {
	V1 *v1stats.Metrics
	V2 *v2stats.Metrics
}

// Stats reads the cgroup's metrics.
func (m *Manager) Stats() (*Stats, error) {
	if m.Unified() {
		s, err := m.v2.Stat()
		if err != nil {
			return nil, fmt.Errorf("read stats of cgroup %s: %w", m.v2dir, err)
		}
		return &Stats{V2: s}, nil
	}
	// Files a kernel lacks (e.g. memsw without swap accounting) are skipped.
	s, err := m.v1.Stat(cgroup1.IgnoreNotExist)
	if err != nil {
		return nil, fmt.Errorf("read stats of cgroup %s: %w", m.loc, err)
	}
	return &Stats{V1: s}, nil
}
