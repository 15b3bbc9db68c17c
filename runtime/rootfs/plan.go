// Package rootfs builds a container's filesystem view.
//
// The parent half (Plan) validates the OCI spec's root, mounts, devices and
// masked/readonly paths and resolves them into a channel.RootfsPlan: flags
// parsed, sources made absolute, defaults filled in. The init half is C
// (cmd/slrt-init: rootfs.c and its helpers): it runs inside the
// container's new mount namespace and carries the plan out without parsing
// anything: every target is resolved inside the rootfs with
// openat2(RESOLVE_IN_ROOT) and mounted through /proc/self/fd, so a symlink
// in the image can never send a mount to the host (CVE-2021-30465 and its
// kind). This package's tests build containers with it (TestCRootfs).
package rootfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/slrt/slrt/runtime/channel"
)

// Plan turns the filesystem parts of spec into the plan slrt-init follows.
// bundle is the bundle directory relative paths are taken from; newUserNS
// says the container gets a user namespace of its own.
func Plan(spec *specs.Spec, bundle string, newUserNS bool) (channel.RootfsPlan, error) {
	var p channel.RootfsPlan
	if spec == nil {
		return p, errors.New("rootfs plan: no spec")
	}
	bundle, err := filepath.Abs(bundle)
	if err != nil {
		return p, fmt.Errorf("bundle %q: %w", bundle, err)
	}
	if p.Path, err = planRoot(spec.Root, bundle); err != nil {
		return p, err
	}
	p.Readonly = spec.Root.Readonly

	linux := spec.Linux
	if linux == nil {
		linux = &specs.Linux{}
	}
	prop, ok := rootPropagation(linux.RootfsPropagation)
	if !ok {
		return p, fmt.Errorf("linux.rootfsPropagation %q: must be one of shared, slave, private, unbindable or their r- (recursive) forms", linux.RootfsPropagation)
	}
	p.Propagation = prop
	p.MountLabel = linux.MountLabel
	for _, ns := range linux.Namespaces {
		if ns.Type == specs.CgroupNamespace && ns.Path == "" {
			p.CgroupNS = true
		}
	}

	var registered map[string]bool // read on first unknown type
	lookup := func() (map[string]bool, error) {
		if registered == nil {
			r, err := readFilesystems()
			if err != nil {
				return nil, err
			}
			registered = r
		}
		return registered, nil
	}
	devBound := false
	for i, m := range spec.Mounts {
		pm, err := planMount(i, m, bundle, newUserNS, lookup)
		if err != nil {
			return p, err
		}
		if pm.Target == "/dev" && pm.Bind {
			devBound = true
		}
		p.Mounts = append(p.Mounts, pm)
	}

	// A /dev bind-mounted from the host already has its nodes and links;
	// creating more there would write to the host (runc skips them too).
	if !devBound {
		if p.Devices, err = planDevices(linux.Devices); err != nil {
			return p, err
		}
		p.DefaultSymlink = true
	}

	if p.MaskedPaths, err = planPaths("linux.maskedPaths", linux.MaskedPaths); err != nil {
		return p, err
	}
	if p.ReadonlyPaths, err = planPaths("linux.readonlyPaths", linux.ReadonlyPaths); err != nil {
		return p, err
	}
	return p, nil
}

// planRoot makes root.path absolute (relative to the bundle, as
// runtime-spec config.md "Root" says) and checks it is a directory.
func planRoot(root *specs.Root, bundle string) (string, error) {
	if root == nil || root.Path == "" {
		return "", errors.New("root.path: missing")
	}
	path := root.Path
	if !filepath.IsAbs(path) {
		path = filepath.Join(bundle, path)
	}
	path = filepath.Clean(path)
	fi, err := os.Stat(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return "", fmt.Errorf("root.path: %s: %w", path, err)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("root.path: %s: not a directory", path)
	}
	return path, nil
}

// rootPropagation maps linux.rootfsPropagation to mount flags; "" is 0,
// which the init applies as MS_SLAVE|MS_REC (runc's default: host mounts
// still reach the container, nothing from it reaches the host).
func rootPropagation(s string) (uint64, bool) {
	if s == "" {
		return 0, true
	}
	f, ok := propagationOptions[s]
	return f, ok
}

// planPaths checks and cleans linux.maskedPaths / linux.readonlyPaths.
func planPaths(field string, paths []string) ([]string, error) {
	var out []string
	for i, path := range paths {
		if !filepath.IsAbs(path) {
			return nil, fmt.Errorf("%s[%d] %q must be absolute", field, i, path)
		}
		path = filepath.Clean(path)
		if path == "/" {
			return nil, fmt.Errorf("%s[%d] %q: cannot apply to the container's root", field, i, path)
		}
		out = append(out, path)
	}
	return out, nil
}

// under reports whether path is dir or below it (both clean, absolute).
func under(path, dir string) bool {
	return path == dir || strings.HasPrefix(path, dir+"/")
}
