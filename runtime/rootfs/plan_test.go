package rootfs

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/slrt/slrt/runtime/channel"
)

// testBundle makes a bundle with rootfs/, a file and a directory to bind,
// and points filesystemsFile at a fixture.
func testBundle(t *testing.T) string {
	t.Helper()
	b := t.TempDir()
	for _, d := range []string{"rootfs", "data"} {
		if err := os.Mkdir(filepath.Join(b, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"file", "notdir"} {
		if err := os.WriteFile(filepath.Join(b, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fsList := filepath.Join(b, "filesystems")
	if err := os.WriteFile(fsList, []byte("nodev\tsysfs\n\text4\nnodev\tfuse\n\tsquashfs\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := filesystemsFile
	filesystemsFile = fsList
	t.Cleanup(func() { filesystemsFile = old })
	return b
}

func u32(v uint32) *uint32            { return &v }
func mode(m os.FileMode) *os.FileMode { return &m }

func TestPlan(t *testing.T) {
	b := testBundle(t)
	spec := &specs.Spec{
		Root: &specs.Root{Path: "rootfs", Readonly: true},
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
			{Destination: "/data/", Type: "bind", Source: "data", Options: []string{"rbind", "ro", "rprivate"}},
			{Destination: "/etc/hosts", Source: b + "/file", Options: []string{"bind", "nosuid"}},
			{Destination: "/sq", Type: "squashfs", Source: "/dev/loop0", Options: []string{"ro"}},
			{Destination: "/fuse", Type: "fuse.sshfs", Source: "me@host:"},
			{Destination: "/run", Type: "tmpfs"},
		},
		Linux: &specs.Linux{
			RootfsPropagation: "rshared",
			Namespaces:        []specs.LinuxNamespace{{Type: specs.CgroupNamespace}, {Type: specs.PIDNamespace}},
			Devices: []specs.LinuxDevice{
				{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229, FileMode: mode(0o600), UID: u32(1000), GID: u32(1001)},
				{Path: "/dev/null", Type: "u", Major: 1, Minor: 3, FileMode: mode(0o620)},
				{Path: "/dev/sda", Type: "b", Major: 8, Minor: 0},
				{Path: "/dev/fifo", Type: "p", Major: 9, Minor: 9},
			},
			MaskedPaths:   []string{"/proc/kcore", "/proc/acpi/"},
			ReadonlyPaths: []string{"/proc/sys"},
		},
	}
	got, err := Plan(spec, b, false)
	if err != nil {
		t.Fatal(err)
	}
	devices := append([]channel.Device(nil), defaultDevices...)
	devices[0].Mode = 0o620 // /dev/null replaced in place
	devices = append(devices,
		channel.Device{Path: "/dev/fuse", Type: unix.S_IFCHR, Major: 10, Minor: 229, Mode: 0o600, UID: 1000, GID: 1001},
		channel.Device{Path: "/dev/sda", Type: unix.S_IFBLK, Major: 8, Minor: 0, Mode: 0o666},
		channel.Device{Path: "/dev/fifo", Type: unix.S_IFIFO, Mode: 0o666},
	)
	want := channel.RootfsPlan{
		Path:        filepath.Join(b, "rootfs"),
		Readonly:    true,
		Propagation: unix.MS_SHARED | unix.MS_REC,
		CgroupNS:    true,
		Mounts: []channel.Mount{
			{Source: "proc", Target: "/proc", Type: "proc"},
			{Source: "tmpfs", Target: "/dev", Type: "tmpfs", Flags: unix.MS_NOSUID | unix.MS_STRICTATIME, Data: "mode=755,size=65536k"},
			{Source: b + "/data", Target: "/data", Type: "bind", Flags: unix.MS_BIND | unix.MS_REC | unix.MS_RDONLY,
				PropFlags: []uint64{unix.MS_PRIVATE | unix.MS_REC}, Bind: true},
			{Source: b + "/file", Target: "/etc/hosts", Flags: unix.MS_BIND | unix.MS_NOSUID, Bind: true, SourceIsFile: true},
			{Source: "/dev/loop0", Target: "/sq", Type: "squashfs", Flags: unix.MS_RDONLY},
			{Source: "me@host:", Target: "/fuse", Type: "fuse.sshfs"},
			{Source: "tmpfs", Target: "/run", Type: "tmpfs"},
		},
		Devices:        devices,
		MaskedPaths:    []string{"/proc/kcore", "/proc/acpi"},
		ReadonlyPaths:  []string{"/proc/sys"},
		DefaultSymlink: true,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Plan =\n%+v\nwant\n%+v", got, want)
	}
}

// A /dev bound from the host keeps the host's nodes: no devices, no links.
func TestPlanDevBind(t *testing.T) {
	b := testBundle(t)
	spec := &specs.Spec{
		Root:   &specs.Root{Path: b + "/rootfs"},
		Mounts: []specs.Mount{{Destination: "/dev", Type: "bind", Source: "/dev", Options: []string{"rbind"}}},
	}
	got, err := Plan(spec, b, false)
	if err != nil {
		t.Fatal(err)
	}
	if got.Devices != nil || got.DefaultSymlink || got.Propagation != 0 || got.CgroupNS {
		t.Errorf("Plan = %+v, want no devices, no symlinks, default propagation, no cgroupns", got)
	}
}

func TestPlanErrors(t *testing.T) {
	b := testBundle(t)
	tests := []struct {
		name   string
		modify func(s *specs.Spec)
		userns bool
		error  string
	}{
		{"no root", func(s *specs.Spec) { s.Root = nil }, false, "root.path: missing"},
		{"missing root", func(s *specs.Spec) { s.Root.Path = "nope" }, false, "root.path: " + b + "/nope: no such file or directory"},
		{"root not a dir", func(s *specs.Spec) { s.Root.Path = "notdir" }, false, "root.path: " + b + "/notdir: not a directory"},
		{"bad propagation", func(s *specs.Spec) { s.Linux.RootfsPropagation = "rwhatever" }, false, `linux.rootfsPropagation "rwhatever": must be one of`},
		{"relative destination", func(s *specs.Spec) { s.Mounts[1].Destination = "dev" }, false, `mounts[1].destination "dev" must be absolute`},
		{"mount over root", func(s *specs.Spec) { s.Mounts[1].Destination = "/." }, false, `mounts[1].destination "/.": cannot mount over the container's root`},
		{"unknown type", func(s *specs.Spec) { s.Mounts[1].Type = "zfs" }, false, `mounts[1].type "zfs": unknown filesystem type (not in `},
		{"fuse subtype without fuse", func(s *specs.Spec) { s.Mounts[1].Type = "fusectl.x" }, false, `mounts[1].type "fusectl.x": unknown filesystem type`},
		{"empty type", func(s *specs.Spec) { s.Mounts[1].Type = "" }, false, `mounts[1].type "": a type is required unless the mount is a bind mount`},
		{"bad option", func(s *specs.Spec) { s.Mounts[1].Options = []string{"tmpcopyup"} }, false, `mounts[1].options (/dev): option "tmpcopyup": not supported`},
		{"idmap without a user namespace", func(s *specs.Spec) { s.Mounts[2].Options = []string{"rbind", "idmap"} }, false, `mounts[2] (/data): "idmap" without uidMappings/gidMappings needs the container's own user namespace`},
		{"uid mappings only", func(s *specs.Spec) { s.Mounts[2].UIDMappings = []specs.LinuxIDMapping{{Size: 1}} }, false, "mounts[2] (/data): uidMappings and gidMappings must be given together"},
		{"bind without source", func(s *specs.Spec) { s.Mounts[2].Source = "" }, false, "mounts[2].source: empty source for bind mount on /data"},
		{"missing bind source", func(s *specs.Spec) { s.Mounts[2].Source = "gone" }, false, "mounts[2].source: " + b + "/gone: no such file or directory"},
		{"not proc on /proc", func(s *specs.Spec) { s.Mounts[0].Type = "tmpfs" }, false, `mounts[0]: /proc must be a proc mount, not "tmpfs"`},
		{"mount inside /proc", func(s *specs.Spec) { s.Mounts[1].Destination = "/proc/self/attr" }, false, `mounts[1].destination "/proc/self/attr": mounts inside /proc are not allowed`},
		{"devtmpfs in userns", func(s *specs.Spec) { s.Mounts[1].Type = "devtmpfs" }, true, `mounts[1].type "devtmpfs": cannot be mounted in a user namespace`},
		{"device outside /dev", func(s *specs.Spec) { s.Linux.Devices[0].Path = "/etc/../dev2/x" }, false, `linux.devices[0].path "/etc/../dev2/x" must be under /dev`},
		{"device is /dev", func(s *specs.Spec) { s.Linux.Devices[0].Path = "/dev" }, false, `linux.devices[0].path "/dev" must be under /dev`},
		{"relative device", func(s *specs.Spec) { s.Linux.Devices[0].Path = "dev/x" }, false, `linux.devices[0].path "dev/x" must be absolute`},
		{"device type", func(s *specs.Spec) { s.Linux.Devices[0].Type = "x" }, false, `linux.devices[0].type "x" (/dev/fuse): must be c, b, u or p`},
		{"device numbers", func(s *specs.Spec) { s.Linux.Devices[0].Minor = -1 }, false, "linux.devices[0] (/dev/fuse): major 10 / minor -1 out of range"},
		{"relative masked path", func(s *specs.Spec) { s.Linux.MaskedPaths = []string{"/ok", "proc/kcore"} }, false, `linux.maskedPaths[1] "proc/kcore" must be absolute`},
		{"relative readonly path", func(s *specs.Spec) { s.Linux.ReadonlyPaths = []string{"proc/sys"} }, false, `linux.readonlyPaths[0] "proc/sys" must be absolute`},
		{"readonly root path", func(s *specs.Spec) { s.Linux.ReadonlyPaths = []string{"/"} }, false, `linux.readonlyPaths[0] "/": cannot apply to the container's root`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := &specs.Spec{
				Root: &specs.Root{Path: "rootfs"},
				Mounts: []specs.Mount{
					{Destination: "/proc", Type: "proc", Source: "proc"},
					{Destination: "/dev", Type: "tmpfs", Source: "tmpfs"},
					{Destination: "/data", Type: "bind", Source: "data", Options: []string{"rbind"}},
				},
				Linux: &specs.Linux{Devices: []specs.LinuxDevice{{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229}}},
			}
			tt.modify(spec)
			_, err := Plan(spec, b, tt.userns)
			if err == nil || !strings.Contains(err.Error(), tt.error) {
				t.Fatalf("Plan error = %v, want %q", err, tt.error)
			}
		})
	}
	if _, err := Plan(nil, b, false); err == nil {
		t.Error("Plan(nil): no error")
	}
}
