package cgroups

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// cgMode is the shape of the host's cgroup hierarchies.
type cgMode int

const (
	modeNone    cgMode = iota // no /sys/fs/cgroup
	modeLegacy                // v1 controllers only
	modeHybrid                // v1 controllers, plus a controller-less v2 tree at /sys/fs/cgroup/unified
	modeUnified               // one v2 hierarchy at /sys/fs/cgroup
)

// hostMode tells the hierarchies apart by the filesystem mounted at each
// root. It is not cached: it costs two statfs calls, and a process may see
// another mount table after entering a mount namespace (the v2 tests do).
func hostMode() cgMode {
	var st unix.Statfs_t
	if err := unix.Statfs(unifiedRoot, &st); err != nil {
		return modeNone
	}
	if st.Type == unix.CGROUP2_SUPER_MAGIC {
		return modeUnified
	}
	// Usually a tmpfs holding one mount per v1 controller, but anything
	// else is taken as v1 too: createV1 then names what is missing.
	if err := unix.Statfs(hybridRoot, &st); err == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
		return modeHybrid
	}
	return modeLegacy
}

// parseProcCgroup reads a /proc/PID/cgroup file: the path in each v1
// hierarchy, keyed by controller ("cpu", "cpuacct" for a joint "cpu,cpuacct"
// line; "name=systemd" for a named one), and the path in the v2 hierarchy
// (the "0::" line; "" when there is none).
func parseProcCgroup(file string) (map[string]string, string, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	v1 := map[string]string{}
	unified := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// hierarchy-ID:controller-list:cgroup-path; the path may hold ':'.
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			return nil, "", fmt.Errorf("%s: malformed line %q", file, sc.Text())
		}
		if parts[0] == "0" && parts[1] == "" {
			unified = parts[2]
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			if c != "" {
				v1[c] = parts[2]
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, "", fmt.Errorf("read %s: %w", file, err)
	}
	return v1, unified, nil
}
