package rootfs

import (
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestPlanIDMap: mappings imply "idmap"; "ridmap" asks for the recursive
// form; "idmap" alone takes the container's mapping, so it needs a user
// namespace. The options never reach mount(2).
func TestPlanIDMap(t *testing.T) {
	b := testBundle(t)
	maps := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	for _, tt := range []struct {
		name       string
		mount      specs.Mount
		userns     bool
		idmap, rec bool
	}{
		{"maps imply idmap", specs.Mount{Options: []string{"rbind"}, UIDMappings: maps, GIDMappings: maps}, false, true, false},
		{"ridmap", specs.Mount{Options: []string{"rbind", "ridmap"}, UIDMappings: maps, GIDMappings: maps}, false, true, true},
		{"idmap with the container's maps", specs.Mount{Options: []string{"bind", "idmap"}}, true, true, false},
		{"plain bind", specs.Mount{Options: []string{"bind"}}, true, false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := tt.mount
			m.Destination, m.Type, m.Source = "/data", "bind", "data"
			p, err := Plan(&specs.Spec{Root: &specs.Root{Path: "rootfs"}, Mounts: []specs.Mount{m}}, b, tt.userns)
			if err != nil {
				t.Fatal(err)
			}
			pm := p.Mounts[0]
			if pm.IDMap != tt.idmap || pm.IDMapRecursive != tt.rec || pm.Data != "" || !pm.Bind {
				t.Errorf("plan = %+v, want idmap %v recursive %v, no data", pm, tt.idmap, tt.rec)
			}
		})
	}
}
