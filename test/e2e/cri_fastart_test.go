package e2e

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// TestCRIFastStartUserNamespace: a pod with hostUsers: false and
// slrt.io/fast-start gets shells that joined the pod's user namespace (by
// slrt-nsenter's clone mode), its container is made from one of them, and
// runs in that namespace as its root.
func TestCRIFastStartUserNamespace(t *testing.T) {
	c := criAnnotationsSetup(t)
	const hostID = 65536 * 32
	cfg := criPodConfig(t, "fastuserns")
	cfg.Annotations["slrt.io/fast-start"] = "2"
	cfg.Linux.SecurityContext.NamespaceOptions.UsernsOptions = &runtimeapi.UserNamespace{
		Mode: runtimeapi.NamespaceMode_POD,
		Uids: []*runtimeapi.IDMapping{{HostId: hostID, ContainerId: 0, Length: 65536}},
		Gids: []*runtimeapi.IDMapping{{HostId: hostID, ContainerId: 0, Length: 65536}},
	}
	p, err := c.tryRunPod(t, cfg)
	if err != nil {
		t.Fatalf("RunPodSandbox: %v", err)
	}
	if !slices.ContainsFunc(criSpec(t, p.id).Linux.Namespaces, func(n specs.LinuxNamespace) bool { return n.Type == specs.UserNamespace }) {
		t.Skipf("containerd %s ignores the pod's user namespace options", c.version)
	}
	sb := c.sandboxPid(t, p.id)
	shim, _ := ppidComm(sb)
	shells := waitParked(t, shim, sb, 2)
	podNS, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/user", sb))
	if err != nil {
		t.Fatal(err)
	}
	for pid := range shells {
		if ns, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/user", pid)); ns != podNS {
			t.Errorf("shell %d is in user namespace %q, want the pod's %q", pid, ns, podNS)
		}
	}
	id := c.run(t, p, c.containerConfig(p, "app", "sleep", "1000"))
	pid := c.hostPid(t, id)
	if !shells[pid] {
		t.Errorf("the container's init %d is not one of the parked shells %v", pid, shells)
	}
	if ns, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/user", pid)); ns != podNS {
		t.Errorf("the container is in user namespace %q, want the pod's %q", ns, podNS)
	}
	if out := strings.TrimSpace(c.sh(t, id, "id -u; cat /proc/self/uid_map")); strings.Join(strings.Fields(out), " ") != fmt.Sprintf("0 0 %d 65536", hostID) {
		t.Errorf("inside: %q, want root mapped to %d", out, hostID)
	}
	waitParked(t, shim, sb, 2) // refilled
}
