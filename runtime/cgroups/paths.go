package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// DefaultParent is where containers without a cgroupsPath get their cgroup.
const DefaultParent = "/slrt"

// ErrSystemdUnavailable is returned when the systemd cgroup driver is asked
// for on a host where systemd is not the running init.
var ErrSystemdUnavailable = errors.New("systemd cgroup driver requested but systemd is not running (no /run/systemd/system)")

// location says where a container's cgroup lives in every hierarchy. Most of
// the time one path serves all of them; a relative cgroupsPath is resolved
// against the caller's own cgroup in each hierarchy (as runc does), and on a
// v1 host those can differ per controller.
type location struct {
	common  string            // path used by every hierarchy not in byCtrl
	byCtrl  map[string]string // v1 controller (or "name=x") → path, when they differ
	unified string            // path in the v2 hierarchy
}

// forCtrl is the path of the cgroup in the v1 hierarchy of ctrl.
func (l location) forCtrl(ctrl string) string {
	if p, ok := l.byCtrl[ctrl]; ok {
		return p
	}
	if p, ok := l.byCtrl["name="+ctrl]; ok {
		return p
	}
	return l.common
}

// String encodes the location for Path(): the plain path when all
// hierarchies agree, else "ctrl=path,ctrl=path,...;unified" so that Load in
// another process (whose own cgroups differ) finds the same directories.
func (l location) String() string {
	if len(l.byCtrl) == 0 && l.unified == l.common {
		return l.common
	}
	keys := make([]string, 0, len(l.byCtrl))
	for k := range l.byCtrl {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys)+1)
	for _, k := range keys {
		parts = append(parts, k+"="+l.byCtrl[k])
	}
	parts = append(parts, "="+l.unified) // "" is the v2 hierarchy's name in /proc/self/cgroup
	return l.common + ";" + strings.Join(parts, ",")
}

// parseLocation is the inverse of location.String.
func parseLocation(s string) (location, error) {
	common, rest, split := strings.Cut(s, ";")
	if !filepath.IsAbs(common) {
		return location{}, fmt.Errorf("cgroup path %q is not absolute", s)
	}
	l := location{common: filepath.Clean(common), unified: filepath.Clean(common)}
	if !split {
		return l, nil
	}
	l.byCtrl = map[string]string{}
	for _, kv := range strings.Split(rest, ",") {
		// Keys may hold "=" ("name=systemd"), never "/": the value starts
		// at the first "=/".
		i := strings.Index(kv, "=/")
		if i < 0 {
			return location{}, fmt.Errorf("cgroup path %q: bad element %q", s, kv)
		}
		k, v := kv[:i], kv[i+1:]
		if k == "" {
			l.unified = filepath.Clean(v)
			continue
		}
		l.byCtrl[k] = filepath.Clean(v)
	}
	return l, nil
}

// resolveLocation turns the spec's cgroupsPath into a location.
func resolveLocation(cgroupsPath, id string) (location, error) {
	if cgroupsPath == "" {
		if id == "" || strings.ContainsAny(id, "/\x00") || id == "." || id == ".." {
			return location{}, fmt.Errorf("container id %q cannot name a cgroup", id)
		}
		p := filepath.Join(DefaultParent, id)
		return location{common: p, unified: p}, nil
	}
	if strings.ContainsRune(cgroupsPath, 0) {
		return location{}, fmt.Errorf("cgroupsPath %q contains a NUL byte", cgroupsPath)
	}
	if filepath.IsAbs(cgroupsPath) {
		p := filepath.Clean(cgroupsPath)
		if p == "/" {
			return location{}, fmt.Errorf("cgroupsPath %q is the root cgroup", cgroupsPath)
		}
		return location{common: p, unified: p}, nil
	}
	// Relative: under our own cgroup in each hierarchy. Clean it as if it
	// were absolute first so that "../" cannot climb above our cgroup.
	rel := filepath.Clean("/" + cgroupsPath)
	own, unified, err := parseProcCgroup("/proc/self/cgroup")
	if err != nil {
		return location{}, fmt.Errorf("read own cgroup to resolve relative cgroupsPath %q: %w", cgroupsPath, err)
	}
	l := location{unified: filepath.Join(unified, rel), common: filepath.Join(unified, rel)}
	if unified == "" {
		l.unified = rel
		l.common = rel
	}
	for ctrl, p := range own {
		if full := filepath.Join(p, rel); full != l.common {
			if l.byCtrl == nil {
				l.byCtrl = map[string]string{}
			}
			l.byCtrl[ctrl] = full
		}
	}
	return l, nil
}

// systemdLocation expands systemd's "slice:prefix:name" into the cgroupfs
// path systemd gives that unit: "a-b.slice" lives at /a.slice/a-b.slice, and
// the unit is "<prefix>-<name>.scope" (or name itself when it is a slice).
func systemdLocation(cgroupsPath, id string) (location, error) {
	if cgroupsPath == "" {
		cgroupsPath = "system.slice:slrt:" + id
	}
	parts := strings.Split(cgroupsPath, ":")
	if len(parts) != 3 {
		return location{}, fmt.Errorf("systemd cgroupsPath %q: want slice:prefix:name", cgroupsPath)
	}
	slice, prefix, name := parts[0], parts[1], parts[2]
	if slice == "" {
		slice = "system.slice"
	}
	sliceDir, err := expandSlice(slice)
	if err != nil {
		return location{}, fmt.Errorf("systemd cgroupsPath %q: %w", cgroupsPath, err)
	}
	unit := name
	if !strings.HasSuffix(name, ".slice") {
		unit = name + ".scope"
		if prefix != "" {
			unit = prefix + "-" + unit
		}
	}
	if strings.Contains(unit, "/") {
		return location{}, fmt.Errorf("systemd cgroupsPath %q: unit %q contains a slash", cgroupsPath, unit)
	}
	p := filepath.Join(sliceDir, unit)
	return location{common: p, unified: p}, nil
}

func expandSlice(slice string) (string, error) {
	base, ok := strings.CutSuffix(slice, ".slice")
	if !ok || strings.Contains(slice, "/") || base == "" {
		return "", fmt.Errorf("invalid slice name %q", slice)
	}
	if base == "-" {
		return "/", nil
	}
	var dir, prefix string
	for _, comp := range strings.Split(base, "-") {
		if comp == "" {
			return "", fmt.Errorf("invalid slice name %q", slice)
		}
		dir = filepath.Join(dir, prefix+comp+".slice")
		prefix += comp + "-"
	}
	return "/" + dir, nil
}

// systemdRunning is sd_booted(3): systemd creates this directory early.
func systemdRunning() bool {
	fi, err := os.Lstat("/run/systemd/system")
	return err == nil && fi.IsDir()
}
