package container_test

import (
	"os"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/slrt/slrt/runtime/container"
	"github.com/slrt/slrt/runtime/namespaces"
)

// TestJoinNamespaces is the pod case: an app container joins the sandbox
// container's network, IPC and UTS namespaces by path, and gets its own
// mount and PID namespaces.
func TestJoinNamespaces(t *testing.T) {
	e := newEnv(t)
	sandbox, err := container.Create(e.root, container.CreateOpts{ID: "sandbox", Bundle: bundleWith(t, func(s *specs.Spec) {
		s.Hostname = "pod-host"
	}, "sleep", "1000")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sandbox.Delete(true) })
	if err := sandbox.Start(nil); err != nil {
		t.Fatal(err)
	}
	pid := sandbox.Init().Pid
	shared := []specs.LinuxNamespaceType{specs.NetworkNamespace, specs.IPCNamespace, specs.UTSNamespace}
	b := bundleWith(t, func(s *specs.Spec) {
		s.Hostname = "" // the pod's is the sandbox's (containerd leaves it unset)
		for i, ns := range s.Linux.Namespaces {
			for _, k := range shared {
				if ns.Type == k {
					s.Linux.Namespaces[i].Path = namespaces.ProcPath(pid, k)
				}
			}
		}
	}, "sh", "-c", "hostname; for n in net ipc uts mnt; do readlink /proc/self/ns/$n; done")
	res := e.run("app", b, nil)
	if res.status.Code != 0 {
		t.Fatalf("exit = %+v: %s", res.status, res.out)
	}
	lines := strings.Split(strings.TrimSpace(res.out), "\n")
	if len(lines) != 5 || lines[0] != "pod-host" {
		t.Fatalf("output = %q, want the sandbox's hostname and 4 namespace links", res.out)
	}
	for i, k := range []string{"net", "ipc", "uts"} {
		want, _ := os.Readlink("/proc/" + strconv.Itoa(pid) + "/ns/" + k)
		if lines[1+i] != want {
			t.Errorf("%s namespace = %s, want the sandbox's %s", k, lines[1+i], want)
		}
	}
	if sandboxMnt, _ := os.Readlink("/proc/" + strconv.Itoa(pid) + "/ns/mnt"); lines[4] == sandboxMnt {
		t.Errorf("the app container shares the sandbox's mount namespace")
	}
}

// TestTimeNamespace: linux.timeOffsets move the container's boot time.
func TestTimeNamespace(t *testing.T) {
	e := newEnv(t)
	b := bundleWith(t, func(s *specs.Spec) {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.TimeNamespace})
		s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"boottime": {Secs: 86400 * 365}}
	}, "cat", "/proc/uptime")
	res := e.run("timens", b, nil)
	if res.status.Code != 0 {
		t.Fatalf("exit = %+v: %s", res.status, res.out)
	}
	up, err := strconv.ParseFloat(strings.Fields(res.out)[0], 64)
	if err != nil || up < 86400*365 {
		t.Errorf("uptime inside = %q, want at least a year (boottime offset)", res.out)
	}
}
