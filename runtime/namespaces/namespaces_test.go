package namespaces_test

import (
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/slrt/slrt/runtime/namespaces"
)

func TestParse(t *testing.T) {
	fifo := t.TempDir() + "/fifo"
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		in   []specs.LinuxNamespace
		want string // error substring, "" for success
	}{
		{"ok", []specs.LinuxNamespace{{Type: "pid"}, {Type: "mount"}, {Type: "network", Path: "/proc/self/ns/net"}}, ""},
		{"unknown", []specs.LinuxNamespace{{Type: "bogus"}}, `unknown namespace type "bogus"`},
		{"twice", []specs.LinuxNamespace{{Type: "pid"}, {Type: "pid", Path: "/proc/self/ns/pid"}}, "listed twice"},
		{"wrong type", []specs.LinuxNamespace{{Type: "network", Path: "/proc/self/ns/uts"}}, "another type"},
		{"not a namespace", []specs.LinuxNamespace{{Type: "network", Path: "/etc/hostname"}}, "is not a namespace"},
		{"missing", []specs.LinuxNamespace{{Type: "network", Path: "/nonexistent"}}, "no such file"},
		{"fifo", []specs.LinuxNamespace{{Type: "network", Path: fifo}}, "is not a namespace"}, // must not hang
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := namespaces.Parse(tc.in)
			if tc.want == "" {
				if err != nil || !c.New[specs.PIDNamespace] || c.Join[specs.NetworkNamespace] == "" {
					t.Fatalf("Parse = %+v, %v", c, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// TestSpawnRestores: after Spawn joined a namespace for one fork, no thread
// of the process is left in it, and the child was in it.
func TestSpawnRestores(t *testing.T) {
	if os.Getuid() != 0 || testing.Short() {
		t.Skip("needs root")
	}
	// A UTS namespace to join, held by a sleeping child.
	holder := exec.Command("sleep", "100")
	holder.SysProcAttr = &unix.SysProcAttr{Cloneflags: unix.CLONE_NEWUTS}
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { holder.Process.Kill(); holder.Wait() }()
	target := namespaces.ProcPath(holder.Process.Pid, specs.UTSNamespace)
	want, _ := os.Readlink(target)
	own, _ := os.Readlink("/proc/self/ns/uts")

	for i := 0; i < 20; i++ { // many times: some runs land on the main thread
		out, err := os.CreateTemp(t.TempDir(), "out")
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("readlink", "/proc/self/ns/uts")
		cmd.Stdout = out
		if err := namespaces.Spawn([]namespaces.Target{{Kind: specs.UTSNamespace, Path: target}}, cmd.Start); err != nil {
			t.Fatal(err)
		}
		cmd.Wait()
		got, _ := os.ReadFile(out.Name())
		if strings.TrimSpace(string(got)) != want {
			t.Fatalf("child's uts = %q, want %q", got, want)
		}
	}
	runtime.GC()
	tasks, _ := os.ReadDir("/proc/self/task")
	for _, task := range tasks {
		ns, err := os.Readlink("/proc/self/task/" + task.Name() + "/ns/uts")
		if err == nil && ns != own {
			t.Errorf("thread %s is still in %s", task.Name(), ns)
		}
	}
}
