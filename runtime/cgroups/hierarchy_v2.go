package cgroups

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// createV2 makes the container's cgroup on a unified host. Every controller
// the root offers is delegated down to it (as runc does) so its stats and
// limits work; a controller the kernel refuses to delegate (say cpu with RT
// tasks in a parent) is skipped here and reported by the setting that needs
// it.
func (m *Manager) createV2() error {
	parent := filepath.Dir(m.v2dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("create cgroup %s: %w", parent, err)
	}
	enableControllers(unifiedRoot, parent)
	if err := os.Mkdir(m.v2dir, 0o755); err != nil && !os.IsExist(err) {
		return fmt.Errorf("create cgroup %s: %w", m.v2dir, err)
	}
	return nil
}

// enableControllers writes "+ctrl" into cgroup.subtree_control of every
// directory from root down to dir, one controller at a time so that one
// refusal does not block the others.
func enableControllers(root, dir string) {
	rel, err := filepath.Rel(root, dir)
	if err != nil || strings.HasPrefix(rel, "..") {
		return
	}
	cur := root
	steps := []string{""}
	if rel != "." {
		steps = append(steps, strings.Split(rel, "/")...)
	}
	for _, s := range steps {
		cur = filepath.Join(cur, s)
		avail, err := readString(filepath.Join(cur, "cgroup.controllers"))
		if err != nil {
			return
		}
		enabled, _ := readString(filepath.Join(cur, "cgroup.subtree_control"))
		on := map[string]bool{}
		for _, c := range strings.Fields(enabled) {
			on[c] = true
		}
		for _, c := range strings.Fields(avail) {
			if !on[c] {
				_ = writeFile(filepath.Join(cur, "cgroup.subtree_control"), "+"+c)
			}
		}
	}
}
