package e2e

import (
	"fmt"
	"os"
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// TestCRIFastStartUserNamespace: a pod with hostUsers: false and
// slrt.io/fast-start runs, but gets no shells: its containers join the
// pod's user namespace, which a shell cannot be spawned into yet (the
// shim's log says so), so they are created the normal way, in that
// namespace. The pool is never made, so "no shell" holds at every moment.
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
	id := c.run(t, p, c.containerConfig(p, "app", "sleep", "1000"))
	if got := parkedShells(t, shim, sb); len(got) != 0 {
		t.Errorf("a pod with a user namespace has parked shells %v", got)
	}
	ctrNS, err1 := os.Readlink(fmt.Sprintf("/proc/%d/ns/user", c.hostPid(t, id)))
	podNS, err2 := os.Readlink(fmt.Sprintf("/proc/%d/ns/user", sb))
	if err1 != nil || err2 != nil || ctrNS != podNS {
		t.Errorf("user namespaces: container %q (%v), sandbox %q (%v)", ctrNS, err1, podNS, err2)
	}
}
