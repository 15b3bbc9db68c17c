package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	grpcstatus "google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// The slrt.io/* pod annotations through the CRI, by their effect: the
// shim gets them because containerd's handler has pod_annotations
// ["slrt.io/*"] (README "Fast start and real-time placement").

// parkedShells are the shim's children that are still slrt-init (their exe
// a memfd), other than the sandbox: fast-start shells and created, not yet
// started containers.
func parkedShells(t *testing.T, shim, sandbox int) map[int]bool {
	t.Helper()
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", shim))
	out := map[int]bool{}
	for _, task := range tasks {
		b, _ := os.ReadFile(task)
		for _, f := range strings.Fields(string(b)) {
			var pid int
			fmt.Sscan(f, &pid)
			if exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); pid != sandbox && strings.Contains(exe, "memfd:") {
				out[pid] = true
			}
		}
	}
	return out
}

func waitParked(t *testing.T, shim, sandbox, n int) map[int]bool {
	t.Helper()
	var got map[int]bool
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if got = parkedShells(t, shim, sandbox); len(got) == n {
			return got
		}
	}
	t.Fatalf("shim %d has %d parked shells, want %d", shim, len(got), n)
	return nil
}

func criAnnotationsSetup(t *testing.T) *criConn {
	c := criSetup(t)
	if criHandler != "sl" {
		t.Skipf("slrt.io/* annotations mean nothing to handler %s", criHandler)
	}
	return c
}

// TestCRIFastStart: a pod annotated slrt.io/fast-start: "2" has two parked
// shells beside its sandbox; its container is made from one of them (its
// init's pid was a shell's) and sees its rootfs (mounted by the shim after
// the shell's spawn: the daemon's / is private here, so the shim attaches
// it in the shell's namespace), the pool refills, and the container runs
// pinned by slrt.io/cpu-affinity.
func TestCRIFastStart(t *testing.T) {
	c := criAnnotationsSetup(t)
	cfg := criPodConfig(t, "faststart")
	cfg.Annotations["slrt.io/fast-start"] = "2"
	cfg.Annotations["slrt.io/cpu-affinity"] = "0"
	p := c.runPod(t, cfg)
	sb := c.sandboxPid(t, p.id)
	shim, _ := ppidComm(sb)
	shells := waitParked(t, shim, sb, 2)

	id := c.run(t, p, c.containerConfig(p, "app", "sleep", "1000"))
	// the shell execs the workload in place: same pid
	if pid := c.hostPid(t, id); !shells[pid] {
		t.Errorf("the container's init %d is not one of the parked shells %v", pid, shells)
	}
	if st := c.procStatus(t, id); st["Cpus_allowed_list"] != "0" {
		t.Errorf("Cpus_allowed_list %q, want 0 (slrt.io/cpu-affinity)", st["Cpus_allowed_list"])
	}
	waitParked(t, shim, sb, 2) // refilled
	// The shells die with the pod: checked by the leak check (no process
	// is left in the daemon's namespace, no cgroup).
}

// TestCRIAnnotationHints: slrt.io/cpu-affinity and slrt.io/sched without
// shells. A malformed value fails already the pod's sandbox (the shim
// checks the hints of every container, the sandbox's too) as
// InvalidArgument naming the annotation; a hint the node refuses fails
// the container; either leaves nothing behind.
func TestCRIAnnotationHints(t *testing.T) {
	c := criAnnotationsSetup(t)
	cpu := "1"
	if runtime.NumCPU() < 2 {
		cpu = "0"
	}
	for _, tc := range []struct {
		name, key, value string
		code             codes.Code // of CreateContainer/StartContainer, OK when it runs
		check            func(t *testing.T, id string)
	}{
		{"affinity", "slrt.io/cpu-affinity", cpu, codes.OK, func(t *testing.T, id string) {
			if st := c.procStatus(t, id); st["Cpus_allowed_list"] != cpu {
				t.Errorf("Cpus_allowed_list %q, want %s", st["Cpus_allowed_list"], cpu)
			}
		}},
		{"affinity malformed", "slrt.io/cpu-affinity", "0-", codes.InvalidArgument, nil},
		{"sched malformed", "slrt.io/sched", "fifo:0", codes.InvalidArgument, nil},
		// These hosts give a new cgroup no real-time budget: refused
		// (FailedPrecondition); where the node allows it, SCHED_FIFO.
		{"sched", "slrt.io/sched", "fifo:10", codes.FailedPrecondition, func(t *testing.T, id string) {
			if out := c.sh(t, id, "grep ^policy /proc/1/sched"); !strings.HasSuffix(strings.TrimSpace(out), " 1") {
				t.Errorf("policy of pid 1: %q, want 1 (SCHED_FIFO)", out)
			}
		}},
	} {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			cfg := criPodConfig(t, "hints")
			cfg.Annotations[tc.key] = tc.value
			p, err := c.tryRunPod(t, cfg)
			var id string
			if err == nil {
				id, err = c.tryCreate(t, p, c.containerConfig(p, "app", "sleep", "1000"))
			}
			if err == nil {
				_, err = c.rt.StartContainer(criCtx(t), &runtimeapi.StartContainerRequest{ContainerId: id})
			}
			switch {
			case err == nil && tc.check != nil:
				tc.check(t, id)
			case err == nil:
				t.Errorf("%s: %q accepted, want %v", tc.key, tc.value, tc.code)
			case tc.code == codes.OK:
				t.Fatalf("%s: %q: %v", tc.key, tc.value, err)
			default:
				// containerd passes the shim's code on for create (2.x);
				// 1.x turns task errors into Unknown, so the text decides
				if got := grpcstatus.Code(err); got != tc.code && got != codes.Unknown {
					t.Errorf("%s: %q: code %v, want %v: %v", tc.key, tc.value, got, tc.code, err)
				}
				if !strings.Contains(err.Error(), "annotation "+tc.key) {
					t.Errorf("%s: %q: error does not name the annotation: %v", tc.key, tc.value, err)
				}
				t.Logf("%s: %v", tc.name, err)
			}
			if err != nil && id != "" {
				// a container whose start failed is removable at once
				if _, err := c.rt.RemoveContainer(criCtx(t), &runtimeapi.RemoveContainerRequest{ContainerId: id}); err != nil {
					t.Errorf("RemoveContainer after the refusal: %v", err)
				}
			}
		})
	}
}
