package container_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/slrt/slrt/runtime/container"
)

// TestBadInput: every kind of bad input fails Create with an error naming
// what is wrong, and leaves nothing behind (the leak check of newEnv runs
// after all cases: no mounts, cgroups, processes, fds or state).
func TestBadInput(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name string
		// edit changes the spec; raw, when set, replaces config.json.
		edit func(*specs.Spec)
		raw  string
		want string
	}{
		{name: "no config", raw: "-", want: "config.json"},
		{name: "malformed config", raw: `{"ociVersion": "1.0.2", "process": {`, want: "config.json"},
		{name: "ociVersion", edit: func(s *specs.Spec) { s.Version = "2.0.0" }, want: `ociVersion "2.0.0"`},
		{name: "unknown namespace", edit: func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: "bogus"})
		}, want: `unknown namespace type "bogus"`},
		{name: "namespace twice", edit: func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: "pid"})
		}, want: `"pid" is listed twice`},
		{name: "namespace path", edit: func(s *specs.Spec) {
			s.Linux.Namespaces[0].Path = "/proc/self/ns/bogus"
		}, want: "/proc/self/ns/bogus"},
		{name: "no mount namespace", edit: func(s *specs.Spec) {
			s.Linux.Namespaces = dropNS(s.Linux.Namespaces, specs.MountNamespace)
		}, want: "mount namespace is required"},
		{name: "unknown mount type", edit: func(s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/x", Type: "nosuchfs", Source: "none"})
		}, want: "nosuchfs"},
		{name: "relative mount destination", edit: func(s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "x", Type: "tmpfs", Source: "tmpfs"})
		}, want: "destination"},
		{name: "missing rootfs", edit: func(s *specs.Spec) { s.Root.Path = "nope" }, want: "root.path"},
		{name: "missing binary", edit: func(s *specs.Spec) { s.Process.Args = []string{"/no/such/binary"} }, want: "/no/such/binary"},
		{name: "binary not in PATH", edit: func(s *specs.Spec) { s.Process.Args = []string{"nosuchcmd"} }, want: `"nosuchcmd"`},
		{name: "empty args", edit: func(s *specs.Spec) { s.Process.Args = nil }, want: "process.args"},
		{name: "missing cwd", edit: func(s *specs.Spec) { s.Process.Cwd = "/no/such/dir" }, want: "/no/such/dir"},
		{name: "unknown capability", edit: func(s *specs.Spec) {
			s.Process.Capabilities.Bounding = append(s.Process.Capabilities.Bounding, "CAP_BOGUS")
		}, want: "CAP_BOGUS"},
		{name: "unknown rlimit", edit: func(s *specs.Spec) {
			s.Process.Rlimits = append(s.Process.Rlimits, specs.POSIXRlimit{Type: "RLIMIT_BOGUS"})
		}, want: "RLIMIT_BOGUS"},
		{name: "host sysctl", edit: func(s *specs.Spec) { s.Linux.Sysctl = map[string]string{"vm.swappiness": "1"} }, want: "vm.swappiness"},
		{name: "hostname without uts", edit: func(s *specs.Spec) {
			s.Hostname = "h"
			s.Linux.Namespaces = dropNS(s.Linux.Namespaces, specs.UTSNamespace)
		}, want: "UTS namespace"},
		{name: "relative hook", edit: func(s *specs.Spec) {
			s.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{{Path: "hook.sh"}}}
		}, want: "hooks.createRuntime[0].path"},
		{name: "failing createRuntime hook", edit: func(s *specs.Spec) {
			s.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", "echo hook says no >&2; exit 4"}}}}
		}, want: "hook says no"},
		{name: "failing createContainer hook", edit: func(s *specs.Spec) {
			s.Hooks = &specs.Hooks{CreateContainer: []specs.Hook{{Path: "/bin/false"}}}
		}, want: "createContainer hook"},
		// Hooks the init runs itself: each way a hook can fail is named,
		// with its output, and a hook past its timeout is killed.
		{name: "createContainer hook output", edit: func(s *specs.Spec) {
			s.Hooks = &specs.Hooks{CreateContainer: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", "echo out; echo err >&2; exit 3"}}}}
		}, want: "createContainer hook #0 (/bin/sh): exit status 3: out\nerr"},
		{name: "createContainer hook killed", edit: func(s *specs.Spec) {
			s.Hooks = &specs.Hooks{CreateContainer: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", "kill -9 $$"}}}}
		}, want: "createContainer hook #0 (/bin/sh): signal: killed"},
		{name: "createContainer hook timeout", edit: func(s *specs.Spec) {
			one := 1
			s.Hooks = &specs.Hooks{CreateContainer: []specs.Hook{
				{Path: "/bin/true"},
				// Flooding its output must not keep the init past the timeout.
				{Path: "/bin/sh", Args: []string{"sh", "-c", "while :; do echo flood; done"}, Timeout: &one},
			}}
		}, want: "createContainer hook #1 (/bin/sh): timed out after 1s"},
		{name: "missing createContainer hook", edit: func(s *specs.Spec) {
			s.Hooks = &specs.Hooks{CreateContainer: []specs.Hook{{Path: "/no/such/hook"}}}
		}, want: `createContainer hook #0 (/no/such/hook): exec: "/no/such/hook": stat /no/such/hook: no such file or directory`},
		{name: "bad cpuset", edit: func(s *specs.Spec) {
			s.Linux.Resources.CPU = &specs.LinuxCPU{Cpus: "999"}
		}, want: "cpus"},
		{name: "uid maps without userns", edit: func(s *specs.Spec) {
			s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 1}}
		}, want: "uidMappings"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := bundleWith(t, tc.edit, "/bin/true")
			switch tc.raw {
			case "":
			case "-":
				os.Remove(filepath.Join(b, "config.json"))
			default:
				os.WriteFile(filepath.Join(b, "config.json"), []byte(tc.raw), 0o644)
			}
			c, err := container.Create(e.root, container.CreateOpts{ID: "bad", Bundle: b})
			if err == nil {
				c.Delete(true)
				t.Fatalf("create succeeded, want an error mentioning %q", tc.want)
			}
			t.Logf("error: %v", err)
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
			if _, err := os.Stat(filepath.Join(e.root, "bad")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("state dir left behind after a failed create")
			}
		})
	}
}

func TestDuplicateID(t *testing.T) {
	e := newEnv(t)
	b := bundleWith(t, nil, "/bin/true")
	c, err := container.Create(e.root, container.CreateOpts{ID: "dup", Bundle: b})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Delete(true)
	if _, err := container.Create(e.root, container.CreateOpts{ID: "dup", Bundle: b}); !errors.Is(err, container.ErrExist) {
		t.Errorf("second create: err = %v, want ErrExist", err)
	}
	if _, err := container.Create(e.root, container.CreateOpts{ID: "../x", Bundle: b}); !errors.Is(err, container.ErrInvalidID) {
		t.Errorf("create with id ../x: err = %v, want ErrInvalidID", err)
	}
	// The first container is untouched by the failed second create.
	if st, _ := c.State(); st.Status != container.Created {
		t.Errorf("status = %s, want created", st.Status)
	}
}

func dropNS(list []specs.LinuxNamespace, k specs.LinuxNamespaceType) []specs.LinuxNamespace {
	var out []specs.LinuxNamespace
	for _, ns := range list {
		if ns.Type != k {
			out = append(out, ns)
		}
	}
	return out
}
