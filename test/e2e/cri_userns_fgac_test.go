package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"google.golang.org/grpc/codes"
	grpcstatus "google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/slrt/slrt/fgac/policy"
	"github.com/slrt/slrt/internal/testutil"
)

// slrtBin is $SLRT_BIN, or slrt built once from this checkout into the
// daemon's instance folder (containerd.sh stop removes it). The FGAC
// agent needs no embedded init, so a plain go build serves.
func slrtBin(t *testing.T) string {
	t.Helper()
	if b := os.Getenv("SLRT_BIN"); b != "" {
		return b
	}
	slrtBuild.once.Do(func() {
		slrtBuild.path = filepath.Join(env["DIR"], "slrt")
		cmd := exec.Command("go", "build", "-o", slrtBuild.path, "./cmd/slrt")
		cmd.Dir = filepath.Join(filepath.Dir(script), "../..")
		if out, err := cmd.CombinedOutput(); err != nil {
			slrtBuild.err = fmt.Errorf("go build ./cmd/slrt: %v\n%s", err, out)
		}
	})
	if slrtBuild.err != nil {
		t.Fatal(slrtBuild.err)
	}
	return slrtBuild.path
}

var slrtBuild struct {
	once sync.Once
	path string
	err  error
}

// criFGACAgent runs `slrt fgac serve` where containerd.sh's daemon tells
// its shims to look (FGAC_POLICY, FGAC_SOCKET), as the chart's DaemonSet
// runs it on a node: the policy it serves is published to the path the
// shims read. It stops (SIGTERM) when the test ends; the published policy
// must be gone then.
func criFGACAgent(t *testing.T, policyText string) {
	t.Helper()
	pol, sock := env["FGAC_POLICY"], env["FGAC_SOCKET"]
	if pol == "" || sock == "" {
		t.Skip("containerd.sh env names no FGAC_POLICY/FGAC_SOCKET for the shims")
	}
	testutil.ServeFGAC(t, slrtBin(t), policyText, pol, sock, 20*time.Second)
}

// TestCRIUserNamespaceFGAC is issue 8's test through the CRI: a pod with
// hostUsers: false (the engine joins containerd's pinned pod user
// namespace) and the pod annotation slrt.io/fgac-profile mounts a tmpfs
// through a real `slrt fgac serve` agent, from its command and from an
// exec, only where the profile allows and visible only in the container;
// the same pod without the annotation gets EPERM from the same mount, and
// a pod whose Kubernetes namespace may not use the profile is refused by
// RunPodSandbox with PermissionDenied (Unknown through containerd 1.x,
// which drops the code). Nothing is left behind.
func TestCRIUserNamespaceFGAC(t *testing.T) {
	c := criSetup(t)
	if criHandler != "sl" {
		t.Skipf("FGAC is slrt's: handler %s has no agent to send syscalls to", criHandler)
	}
	criFGACAgent(t, fmt.Sprintf(`{"profiles": [
  {"name": "scratch", "namespaces": [%q],
   "rules": [{"mount": {"fstype": "tmpfs", "targets": ["/mnt/*"], "maxSize": "16M"}}]}
]}`, criPodNamespace))

	const hostID = 65536 * 33
	pod := func(name, profile, namespace string) *runtimeapi.PodSandboxConfig {
		cfg := criPodConfig(t, name)
		cfg.Linux.SecurityContext.NamespaceOptions.UsernsOptions = &runtimeapi.UserNamespace{
			Mode: runtimeapi.NamespaceMode_POD,
			Uids: []*runtimeapi.IDMapping{{HostId: hostID, ContainerId: 0, Length: 65536}},
			Gids: []*runtimeapi.IDMapping{{HostId: hostID, ContainerId: 0, Length: 65536}},
		}
		if profile != "" {
			cfg.Annotations[policy.ProfileAnnotation] = profile
		}
		if namespace != "" {
			cfg.Metadata.Namespace = namespace
		}
		return cfg
	}
	// The mount's line in the container's mountinfo, as the agent made it.
	mountinfo := func(id, target string) string {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", c.hostPid(t, id)))
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) > 4 && f[4] == target {
				return l
			}
		}
		return ""
	}

	t.Run("with the profile", func(t *testing.T) {
		p, err := c.tryRunPod(t, pod("fgac", "scratch", ""))
		if err != nil {
			t.Fatalf("RunPodSandbox: %v", err)
		}
		if !slices.ContainsFunc(criSpec(t, p.id).Linux.Namespaces, func(n specs.LinuxNamespace) bool { return n.Type == specs.UserNamespace }) {
			t.Skipf("containerd %s ignores the pod's user namespace options (the sandbox spec has no user namespace)", c.version)
		}
		id := c.run(t, p, c.containerConfig(p, "main", "sh", "-c",
			"mkdir -p /mnt/a /mnt/b /opt/a && mount -t tmpfs -o size=2m tmpfs /mnt/a && touch /mnt/a/ready; exec sleep 1000"))
		for deadline := time.Now().Add(20 * time.Second); mountinfo(id, "/mnt/a") == ""; time.Sleep(100 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("no tmpfs on /mnt/a in the container after 20s (its command's mount failed?)")
			}
		}
		// Root inside is the pod's mapped uid outside: the agent mounted
		// for a user-namespaced process.
		if got := strings.Join(strings.Fields(c.sh(t, id, "cat /proc/self/uid_map")), " "); got != fmt.Sprintf("0 %d 65536", hostID) {
			t.Errorf("uid_map inside: %q", got)
		}
		l := mountinfo(id, "/mnt/a")
		for _, want := range []string{" /mnt/a rw,nosuid,nodev", " - tmpfs tmpfs rw,", "size=2048k"} {
			if !strings.Contains(l, want) {
				t.Errorf("the tmpfs on /mnt/a: %q lacks %q", l, want)
			}
		}
		// From an exec too: its process gets the container's filter and
		// its own connection to the agent.
		if out := c.sh(t, id, "mount -t tmpfs -o size=1m tmpfs /mnt/b && stat -c %u:%g /mnt/b && ls /mnt/a"); out != "0:0\nready\n" {
			t.Errorf("exec: mount /mnt/b, owner, /mnt/a: %q", out)
		}
		if mountinfo(id, "/mnt/b") == "" {
			t.Errorf("no tmpfs on /mnt/b after the exec's mount")
		}
		// Outside the profile's targets: refused by the agent.
		out, errOut, code := c.execSync(t, id, "mount", "-t", "tmpfs", "tmpfs", "/opt/a")
		if code == 0 || !strings.Contains(strings.ToLower(errOut+out), "permission denied") {
			t.Errorf("mount on /opt/a: exit %d, %q %q; want refused with EPERM", code, out, errOut)
		}
		if host, _ := os.ReadFile("/proc/self/mountinfo"); strings.Contains(string(host), "/mnt/a ") {
			t.Errorf("the container's tmpfs shows in the host's mount table")
		}
	})

	t.Run("without the profile", func(t *testing.T) {
		p, err := c.tryRunPod(t, pod("nofgac", "", ""))
		if err != nil {
			t.Fatalf("RunPodSandbox: %v", err)
		}
		id := c.run(t, p, c.containerConfig(p, "main", "sleep", "1000"))
		out, errOut, code := c.execSync(t, id, "sh", "-c", "mkdir -p /mnt/a && mount -t tmpfs tmpfs /mnt/a")
		if code == 0 || !strings.Contains(strings.ToLower(errOut+out), "permission denied") {
			t.Errorf("mount: exit %d, %q %q; want refused with EPERM", code, out, errOut)
		}
		if l := mountinfo(id, "/mnt/a"); l != "" {
			t.Errorf("a tmpfs on /mnt/a without the profile: %q", l)
		}
	})

	t.Run("namespace not allowed", func(t *testing.T) {
		_, err := c.tryRunPod(t, pod("fgacdenied", "scratch", "default"))
		// containerd 1.x passes the shim's code on as Unknown (the
		// message keeps "permission denied").
		want := codes.PermissionDenied
		if major, _ := version(); major < 2 {
			want = codes.Unknown
		}
		if grpcstatus.Code(err) != want || !strings.Contains(err.Error(), `namespace "default" may not use profile "scratch": permission denied`) {
			t.Errorf("RunPodSandbox: %v, want %v naming the namespace and profile", err, want)
		}
	})
}
