package rootfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/slrt/slrt/runtime/channel"
)

// planMount validates spec mount i and resolves it into a channel.Mount.
func planMount(i int, m specs.Mount, bundle string, newUserNS bool, registered func() (map[string]bool, error)) (channel.Mount, error) {
	var pm channel.Mount
	if !filepath.IsAbs(m.Destination) {
		return pm, fmt.Errorf("mounts[%d].destination %q must be absolute", i, m.Destination)
	}
	pm.Target = filepath.Clean(m.Destination)
	if pm.Target == "/" {
		return pm, fmt.Errorf("mounts[%d].destination %q: cannot mount over the container's root", i, m.Destination)
	}
	opts, err := parseOptions(m.Options)
	if err != nil {
		return pm, fmt.Errorf("mounts[%d].options (%s): %w", i, pm.Target, err)
	}
	pm.Flags, pm.PropFlags, pm.Data = opts.flags, opts.propFlags, opts.data
	pm.RecAttrSet, pm.RecAttrClr = opts.recSet, opts.recClr
	pm.Bind = opts.bind || m.Type == "bind"
	pm.Type = m.Type
	if err := planIDMap(i, m, &pm, opts, newUserNS); err != nil {
		return pm, err
	}

	if err := checkType(i, m.Type, pm.Bind, newUserNS, registered); err != nil {
		return pm, err
	}
	if err := checkProcMount(i, pm.Target, m.Type, pm.Bind); err != nil {
		return pm, err
	}

	if !pm.Bind {
		pm.Source = m.Source
		if pm.Source == "" {
			pm.Source = m.Type // shows in mountinfo instead of "none"
		}
		return pm, nil
	}
	pm.Flags |= unix.MS_BIND
	if m.Source == "" {
		return pm, fmt.Errorf("mounts[%d].source: empty source for bind mount on %s", i, pm.Target)
	}
	pm.Source = m.Source
	if !filepath.IsAbs(pm.Source) {
		pm.Source = filepath.Join(bundle, pm.Source)
	}
	pm.Source = filepath.Clean(pm.Source)
	fi, err := os.Stat(pm.Source)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return pm, fmt.Errorf("mounts[%d].source: %s: %w", i, pm.Source, err)
	}
	pm.SourceIsFile = !fi.IsDir()
	return pm, nil
}

// checkType rejects a type the kernel cannot mount, with a message naming
// the field instead of mount(2)'s bare ENODEV at container start.
func checkType(i int, typ string, bind, newUserNS bool, registered func() (map[string]bool, error)) error {
	if typ == "" || typ == "none" {
		if bind {
			return nil // the kernel ignores the type of a bind mount
		}
		return fmt.Errorf("mounts[%d].type %q: a type is required unless the mount is a bind mount", i, typ)
	}
	if !knownTypes[typ] {
		reg, err := registered()
		if err != nil {
			return fmt.Errorf("mounts[%d].type %q: %w", i, typ, err)
		}
		if !validType(typ, reg) {
			return fmt.Errorf("mounts[%d].type %q: unknown filesystem type (not in %s)", i, typ, filesystemsFile)
		}
	}
	// devtmpfs has no FS_USERNS_MOUNT: it would fail at start with EPERM.
	if typ == "devtmpfs" && newUserNS && !bind {
		return fmt.Errorf("mounts[%d].type %q: cannot be mounted in a user namespace", i, typ)
	}
	return nil
}

// procAllowed are the /proc files a mount may cover: what lxcfs-style
// tools bind over to show the container its own numbers.
var procAllowed = map[string]bool{
	"/proc/cpuinfo":                true,
	"/proc/diskstats":              true,
	"/proc/meminfo":                true,
	"/proc/stat":                   true,
	"/proc/swaps":                  true,
	"/proc/uptime":                 true,
	"/proc/loadavg":                true,
	"/proc/slabinfo":               true,
	"/proc/sys/kernel/ns_last_pid": true,
}

// checkProcMount refuses mounts that would hide or replace procfs files the
// runtime relies on for its own security (/proc/self/attr for LSM labels,
// /proc/self/fd for the mounts themselves): CVE-2019-16884, CVE-2019-19921.
func checkProcMount(i int, target, typ string, bind bool) error {
	if !under(target, "/proc") {
		return nil
	}
	if target == "/proc" {
		if typ == "proc" && !bind {
			return nil
		}
		return fmt.Errorf("mounts[%d]: /proc must be a proc mount, not %q", i, typ)
	}
	if procAllowed[target] {
		return nil
	}
	return fmt.Errorf("mounts[%d].destination %q: mounts inside /proc are not allowed (only %s-like files such as /proc/meminfo)", i, target, "lxcfs")
}
