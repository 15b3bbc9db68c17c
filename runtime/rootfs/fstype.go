package rootfs

import (
	"bufio"
	"fmt"
	"os"
	"strings"
)

// knownTypes are the mount types a container spec commonly names. They are
// accepted even if the filesystem is not registered yet (a module may load
// on first mount); anything else must be listed in /proc/filesystems.
var knownTypes = map[string]bool{
	"bind":     true,
	"tmpfs":    true,
	"proc":     true,
	"sysfs":    true,
	"devpts":   true,
	"mqueue":   true,
	"cgroup":   true,
	"cgroup2":  true,
	"overlay":  true,
	"ramfs":    true,
	"devtmpfs": true,
}

// filesystemsFile is where the kernel lists registered filesystem types;
// tests point it at a fixture.
var filesystemsFile = "/proc/filesystems"

// readFilesystems returns the registered types from /proc/filesystems
// ("nodev\tsysfs" or "\text4" per line).
func readFilesystems() (map[string]bool, error) {
	f, err := os.Open(filesystemsFile)
	if err != nil {
		return nil, fmt.Errorf("read filesystem types: %w", err)
	}
	defer f.Close()
	types := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 0 {
			types[fields[len(fields)-1]] = true
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", filesystemsFile, err)
	}
	return types, nil
}

// validType reports whether typ can be mounted: a known type, a registered
// one, or a FUSE subtype ("fuse.sshfs") when fuse is registered.
func validType(typ string, registered map[string]bool) bool {
	if knownTypes[typ] || registered[typ] {
		return true
	}
	if base, sub, ok := strings.Cut(typ, "."); ok && sub != "" && strings.HasPrefix(base, "fuse") {
		return registered[base]
	}
	return false
}
