package rootfs

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/slrt/slrt/runtime/channel"
)

// planIDMap validates an idmapped mount (runtime-spec config.md
// "uidMappings", options "idmap"/"ridmap"): mappings given on a mount imply
// "idmap", as in runc, so an older caller that forgets the option still
// gets the mapping it asked for rather than a plain bind. Without mappings
// the container's own user namespace mapping is used, so one is required.
// Only bind mounts can be idmapped here: the mapping is set on a detached
// copy of the source (open_tree), which a new filesystem instance is not.
func planIDMap(i int, m specs.Mount, pm *channel.Mount, opts mountOptions, newUserNS bool) error {
	hasMaps := len(m.UIDMappings) > 0 || len(m.GIDMappings) > 0
	if !hasMaps && !opts.idmap {
		return nil
	}
	if hasMaps && (len(m.UIDMappings) == 0 || len(m.GIDMappings) == 0) {
		return fmt.Errorf("mounts[%d] (%s): uidMappings and gidMappings must be given together", i, pm.Target)
	}
	if !pm.Bind {
		return fmt.Errorf("mounts[%d] (%s): idmapped mounts must be bind mounts (type %q)", i, pm.Target, m.Type)
	}
	if !hasMaps && !newUserNS {
		return fmt.Errorf("mounts[%d] (%s): %q without uidMappings/gidMappings needs the container's own user namespace", i, pm.Target, idmapOption(opts))
	}
	for field, maps := range map[string][]specs.LinuxIDMapping{"uidMappings": m.UIDMappings, "gidMappings": m.GIDMappings} {
		if err := checkIDMappings(maps); err != nil {
			return fmt.Errorf("mounts[%d].%s (%s): %w", i, field, pm.Target, err)
		}
	}
	pm.IDMap = true
	pm.IDMapRecursive = opts.ridmap
	return nil
}

func idmapOption(o mountOptions) string {
	if o.ridmap {
		return "ridmap"
	}
	return "idmap"
}

// checkIDMappings rejects what the kernel's uid_map would refuse with a
// bare EINVAL: empty or overflowing ranges, and too many lines.
func checkIDMappings(maps []specs.LinuxIDMapping) error {
	if len(maps) > 340 { // user_namespaces(7): at most 340 lines
		return fmt.Errorf("%d ranges, the kernel takes at most 340", len(maps))
	}
	for j, mp := range maps {
		if mp.Size == 0 {
			return fmt.Errorf("[%d]: size 0", j)
		}
		if uint64(mp.ContainerID)+uint64(mp.Size) > 1<<32-1 || uint64(mp.HostID)+uint64(mp.Size) > 1<<32-1 {
			return fmt.Errorf("[%d]: range %d+%d -> %d overflows 32-bit ids", j, mp.ContainerID, mp.Size, mp.HostID)
		}
	}
	return nil
}
