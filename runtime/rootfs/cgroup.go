package rootfs

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/slrt/slrt/runtime/channel"
)

// hostCgroupRoot is where the host mounts its cgroup hierarchies.
const hostCgroupRoot = "/sys/fs/cgroup"

// cgroupHierarchy is one host cgroup mount under /sys/fs/cgroup.
type cgroupHierarchy struct {
	name    string   // directory name under /sys/fs/cgroup ("cpu,cpuacct", "unified")
	fstype  string   // cgroup or cgroup2
	subsys  []string // v1 subsystems and name=... as mount options
	srcPath string   // host directory of this process's cgroup in it
}

// mountCgroup gives the container a /sys/fs/cgroup view (runtime-spec
// config.md mounts of type "cgroup"). On a unified host, or when cgroup2 is
// asked for, that is one cgroup2 mount. On a v1 or hybrid host it is a
// tmpfs holding every hierarchy the host has: mounted afresh inside a
// cgroup namespace (the kernel roots each at the namespace's cgroup), or
// else bind-mounted from the host directory of the container's own cgroup,
// so the container never sees its siblings.
func (r *inRoot) mountCgroup(m *channel.Mount, cgroupNS bool) error {
	target, err := r.create(m.Target, false)
	if err != nil {
		return err
	}
	defer unix.Close(target)
	before, err := mountID(target)
	if err != nil {
		return fmt.Errorf("statx %s: %w", r.where(m.Target), err)
	}
	var st unix.Statfs_t
	unified := unix.Statfs(hostCgroupRoot, &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC
	if unified || m.Type == "cgroup2" {
		if err := unix.Mount("cgroup2", fdPath(target), "cgroup2", uintptr(m.Flags), m.Data); err != nil {
			return fmt.Errorf("mount cgroup2 on %s: %w", r.where(m.Target), err)
		}
		return r.propagateNew(m, before)
	}

	hs, err := cgroupHierarchies(cgroupNS)
	if err != nil {
		return fmt.Errorf("mount cgroup on %s: %w", r.where(m.Target), err)
	}
	// The tmpfs stays writable until the hierarchy directories exist.
	mountFlags := m.Flags &^ (unix.MS_RDONLY | unix.MS_REMOUNT)
	if err := unix.Mount("tmpfs", fdPath(target), "tmpfs", uintptr(mountFlags), "mode=755"); err != nil {
		return fmt.Errorf("mount tmpfs for cgroup on %s: %w", r.where(m.Target), err)
	}
	dir, err := r.reopen(m.Target, before)
	if err != nil {
		return err
	}
	defer unix.Close(dir)
	for _, h := range hs {
		if err := r.mountHierarchy(m, dir, h, cgroupNS); err != nil {
			return err
		}
	}
	if m.Flags&perMountFlags != 0 {
		if err := unix.Mount("", fdPath(dir), "", uintptr(unix.MS_REMOUNT|unix.MS_BIND|m.Flags&perMountFlags), ""); err != nil {
			return fmt.Errorf("remount tmpfs on %s (%s): %w", r.where(m.Target), flagNames(m.Flags&perMountFlags), err)
		}
	}
	return r.propagate(m, dir)
}

// mountHierarchy puts one host hierarchy under the cgroup tmpfs (dir, an
// fd only this process can reach: the container does not run yet).
func (r *inRoot) mountHierarchy(m *channel.Mount, dir int, h cgroupHierarchy, cgroupNS bool) error {
	where := r.where(filepath.Join(m.Target, h.name))
	if err := unix.Mkdirat(dir, h.name, 0o755); err != nil && err != unix.EEXIST {
		return fmt.Errorf("mkdir %s: %w", where, err)
	}
	sub, err := unix.Openat(dir, h.name, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", where, err)
	}
	defer unix.Close(sub)
	flags := m.Flags & (unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | atimeFlags)
	if cgroupNS {
		if err := unix.Mount(h.fstype, fdPath(sub), h.fstype, uintptr(flags), strings.Join(h.subsys, ",")); err != nil {
			return fmt.Errorf("mount %s (%s) on %s: %w", h.fstype, strings.Join(h.subsys, ","), where, err)
		}
	} else if err := unix.Mount(h.srcPath, fdPath(sub), "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind %s on %s: %w", h.srcPath, where, err)
	}
	mnt, err := unix.Openat(dir, h.name, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", where, err)
	}
	defer unix.Close(mnt)
	if f := m.Flags & perMountFlags; f != 0 {
		if err := unix.Mount("", fdPath(mnt), "", uintptr(unix.MS_REMOUNT|unix.MS_BIND|f), ""); err != nil {
			return fmt.Errorf("remount %s (%s): %w", where, flagNames(f), err)
		}
	}
	// Co-mounted controllers ("cpu,cpuacct") are also reachable by each
	// name, as on the host and in runc.
	for _, s := range h.subsys {
		if s != h.name && !strings.HasPrefix(s, "name=") && strings.Contains(h.name, ",") {
			if err := unix.Symlinkat(h.name, dir, s); err != nil && err != unix.EEXIST {
				return fmt.Errorf("symlink %s -> %s: %w", r.where(filepath.Join(m.Target, s)), h.name, err)
			}
		}
	}
	return nil
}

// cgroupHierarchies lists the host's cgroup mounts directly under
// /sys/fs/cgroup, with this process's cgroup in each (needed to bind when
// there is no cgroup namespace).
func cgroupHierarchies(cgroupNS bool) ([]cgroupHierarchy, error) {
	mounts, err := readMountinfo("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	own, err := readProcCgroup("/proc/self/cgroup")
	if err != nil {
		return nil, err
	}
	var out []cgroupHierarchy
	seen := map[string]bool{}
	for _, e := range mounts {
		if (e.FSType != "cgroup" && e.FSType != "cgroup2") || filepath.Dir(e.Point) != hostCgroupRoot {
			continue
		}
		h := cgroupHierarchy{name: filepath.Base(e.Point), fstype: e.FSType}
		if seen[h.name] {
			continue // mounted twice: the later one hides the earlier
		}
		key := "" // the /proc/self/cgroup controller list for cgroup2
		if e.FSType == "cgroup" {
			for _, o := range strings.Split(e.Super, ",") {
				if strings.HasPrefix(o, "name=") || own.controllers[o] {
					h.subsys = append(h.subsys, o)
				}
			}
			if len(h.subsys) == 0 {
				continue // a hierarchy this process is not in
			}
			key = strings.Join(h.subsys, ",")
		}
		if !cgroupNS {
			path, ok := own.paths[key]
			if !ok {
				continue
			}
			// Paths in mountinfo's root and /proc/self/cgroup are both
			// relative to the hierarchy's root.
			rel, ok := strings.CutPrefix(path, strings.TrimSuffix(e.Root, "/"))
			if !ok {
				continue // our cgroup is outside what this mount shows
			}
			h.srcPath = filepath.Join(e.Point, rel)
		}
		seen[h.name] = true
		out = append(out, h)
	}
	return out, nil
}

// procCgroup is /proc/PID/cgroup: the cgroup path per hierarchy, keyed by
// its controller list as written there ("cpu,cpuacct", "name=systemd", ""
// for cgroup2).
type procCgroup struct {
	paths       map[string]string
	controllers map[string]bool
}

func readProcCgroup(path string) (procCgroup, error) {
	pc := procCgroup{paths: map[string]string{}, controllers: map[string]bool{}}
	f, err := os.Open(path)
	if err != nil {
		return pc, fmt.Errorf("read own cgroups: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		pc.paths[parts[1]] = parts[2]
		for _, c := range strings.Split(parts[1], ",") {
			if c != "" {
				pc.controllers[c] = true
			}
		}
	}
	if err := sc.Err(); err != nil {
		return pc, fmt.Errorf("read %s: %w", path, err)
	}
	return pc, nil
}
