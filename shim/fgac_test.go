package shim_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/slrt/slrt/fgac/policy"
	"github.com/slrt/slrt/internal/testutil"
	taskapi "github.com/slrt/slrt/shim/internal/api/runtime/task/v3"
)

// slrtBinary is $SLRT_BIN (make test) or a build made once beside the
// shim's.
func slrtBinary(t *testing.T) string {
	if b := os.Getenv("SLRT_BIN"); b != "" {
		return b
	}
	shimBinary(t) // makes built.dir
	bin := filepath.Join(built.dir, "slrt")
	built.slrtOnce.Do(func() {
		if out, err := exec.Command("go", "build", "-o", bin, "../cmd/slrt").CombinedOutput(); err != nil {
			built.slrtErr = fmt.Errorf("build slrt: %v\n%s", err, out)
		}
	})
	if built.slrtErr != nil {
		t.Fatal(built.slrtErr)
	}
	return bin
}

const shimFGACPolicy = `{
  "profiles": [
    {"name": "scratch", "namespaces": ["edge"],
     "rules": [{"mount": {"fstype": "tmpfs", "targets": ["/mnt/*"], "maxSize": "16M"}}]}
  ]
}
`

// serveFGAC runs the agent (testutil.ServeFGAC) with its socket and
// published policy under dir, and returns both paths.
func serveFGAC(t *testing.T, dir, policyText string) (policyPath, socket string) {
	t.Helper()
	policyPath, socket = filepath.Join(dir, "etc", "fgac.json"), filepath.Join(dir, "fgac.sock")
	testutil.ServeFGAC(t, slrtBinary(t), policyText, policyPath, socket, 10*time.Second)
	return policyPath, socket
}

// TestShimFGAC: the shim merges the profile a container's annotation asks
// for (slrt.io/fgac-profile) into its seccomp filter at Create, so a
// user-namespaced container of namespace edge mounts a tmpfs through the
// real agent (`slrt fgac serve`), only where the profile allows it and
// visible only inside the container. A pod whose namespace may not use the
// profile, or one asking for a profile that does not exist, is refused at
// Create with PermissionDenied, leaving nothing behind.
func TestShimFGAC(t *testing.T) {
	h := newHarness(t, "fgac")
	pol, sock := serveFGAC(t, h.dir, shimFGACPolicy)
	h.env = append(h.env, "SLRT_FGAC_POLICY="+pol, "SLRT_FGAC_SOCKET="+sock)
	ctx := context.Background()

	const base = 410000
	bundle := func(profile, namespace, script string) string {
		b := h.bundle(func(s *specs.Spec) {
			s.Root.Readonly = false
			s.Annotations[policy.ProfileAnnotation] = profile
			s.Annotations[policy.NamespaceAnnotation] = namespace
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
			s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: base, Size: 65536}}
			s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: base, Size: 65536}}
		}, "sh", "-c", script)
		for _, d := range []string{"mnt/a", "opt/a"} {
			if err := os.MkdirAll(filepath.Join(b, "rootfs", d), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		testutil.ChownTree(t, filepath.Join(b, "rootfs"), base)
		return b
	}

	// Allowed: /mnt/a by the profile; /opt/a is outside its targets.
	out := h.output("a-out")
	a := bundle("scratch", "edge", "mount -t tmpfs -o size=2m tmpfs /mnt/a && echo mounted; "+
		"grep ' /mnt/a ' /proc/self/mountinfo; touch /mnt/a/f && ls -ln /mnt/a; "+
		"mount -t tmpfs tmpfs /opt/a 2>/dev/null; echo opt=$?")
	h.create("a", a, &taskapi.CreateTaskRequest{Stdout: out.path, Stderr: out.path})
	h.startTask("a", "")
	if c := h.wait("a", ""); c != 0 {
		t.Errorf("container a exit %d", c)
	}
	got := out.all(t)
	for _, want := range []string{"mounted\n", " /mnt/a rw,nosuid,nodev", " - tmpfs tmpfs rw,", "size=2048k",
		"-rw-r--r--    1 0        0 ", "opt=1\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("container a's output lacks %q:\n%s", want, got)
		}
	}
	host, _ := os.ReadFile("/proc/self/mountinfo")
	if strings.Contains(string(host), filepath.Join(a, "rootfs/mnt/a")) {
		t.Errorf("a's tmpfs is visible on the host")
	}
	h.delete("a")

	// Refused at Create: the namespace, or the profile's name.
	for _, tc := range []struct{ id, profile, namespace, msg string }{
		{"b", "scratch", "default", `namespace "default" may not use profile "scratch"`},
		{"c", "nosuch", "edge", `no profile "nosuch"`},
	} {
		t.Run(tc.id, func(t *testing.T) {
			testutil.Leaks(t, "")
			before := h.view()
			b := bundle(tc.profile, tc.namespace, "mount -t tmpfs tmpfs /mnt/a")
			h.start(tc.id, b)
			_, err := h.task.Create(ctx, &taskapi.CreateTaskRequest{ID: tc.id, Bundle: b})
			if status.Code(err) != codes.PermissionDenied || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("create: %v, want PermissionDenied with %q", err, tc.msg)
			}
			h.view().sameAs(t, before)
		})
	}
}
