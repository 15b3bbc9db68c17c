package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	"google.golang.org/grpc/codes"
	grpcstatus "google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// criLogLine is one line of the CRI log format containerd writes:
// "<RFC 3339 nano time> <stdout|stderr> <F|P> <text>".
type criLogLine struct {
	time   time.Time
	stream string
	tag    string
	text   string
}

// readCRILog parses the container's log file, waiting until done accepts
// the lines (containerd copies the output asynchronously).
func readCRILog(t *testing.T, p *pod, logPath string, done func([]criLogLine) bool) []criLogLine {
	t.Helper()
	path := filepath.Join(p.logDir, logPath)
	var lines []criLogLine
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		lines = nil
		f, err := os.Open(path)
		if err == nil {
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				parts := strings.SplitN(sc.Text(), " ", 4)
				if len(parts) != 4 {
					t.Fatalf("%s: line %q is not in the CRI log format", path, sc.Text())
				}
				ts, err := time.Parse(time.RFC3339Nano, parts[0])
				if err != nil {
					t.Fatalf("%s: line %q: time: %v", path, sc.Text(), err)
				}
				if (parts[1] != "stdout" && parts[1] != "stderr") || (parts[2] != "F" && parts[2] != "P") {
					t.Fatalf("%s: line %q: stream %q tag %q", path, sc.Text(), parts[1], parts[2])
				}
				lines = append(lines, criLogLine{ts, parts[1], parts[2], parts[3]})
			}
			f.Close()
		}
		if (err == nil && done(lines)) || time.Now().After(deadline) {
			return lines
		}
	}
}

func TestCRIPodContainerLifecycle(t *testing.T) {
	c := criSetup(t)
	p := c.runPod(t, criPodConfig(t, "lifecycle"))

	ps, err := c.rt.PodSandboxStatus(criCtx(t), &runtimeapi.PodSandboxStatusRequest{PodSandboxId: p.id})
	if err != nil {
		t.Fatalf("PodSandboxStatus: %v", err)
	}
	if ps.Status.State != runtimeapi.PodSandboxState_SANDBOX_READY || ps.Status.RuntimeHandler != criHandler {
		t.Errorf("pod: state %v handler %q, want READY %q", ps.Status.State, ps.Status.RuntimeHandler, criHandler)
	}
	ip := ""
	if ps.Status.Network != nil {
		ip = ps.Status.Network.Ip
	}
	t.Logf("pod %s ip %q", p.id, ip)

	// A container that exits 7 on SIGTERM.
	cfg := c.containerConfig(p, "main", "sh", "-c", `trap "echo term; exit 7" TERM; echo started; while :; do sleep 0.1; done`)
	cfg.Envs = []*runtimeapi.KeyValue{{Key: "E2E_VAR", Value: []byte("v1")}}
	cfg.WorkingDir = "/tmp"
	id := c.create(t, p, cfg)
	if st := c.status(t, id); st.State != runtimeapi.ContainerState_CONTAINER_CREATED {
		t.Errorf("after create: %v", st.State)
	}
	c.start(t, id)
	st := c.status(t, id)
	if st.State != runtimeapi.ContainerState_CONTAINER_RUNNING || st.StartedAt == 0 {
		t.Errorf("after start: %v started at %d", st.State, st.StartedAt)
	}
	list, err := c.rt.ListContainers(criCtx(t), &runtimeapi.ListContainersRequest{Filter: &runtimeapi.ContainerFilter{PodSandboxId: p.id}})
	if err != nil || len(list.Containers) != 1 || list.Containers[0].Id != id {
		t.Errorf("ListContainers of the pod: %v %v", list, err)
	}

	// What the process sees: hostname, env, cwd, the pod's IP.
	out := c.sh(t, id, `hostname; echo $E2E_VAR; pwd; cat /proc/1/cmdline | tr '\0' ' '; echo`)
	if want := "lifecycle\nv1\n/tmp\nsh -c "; !strings.HasPrefix(out, want) {
		t.Errorf("in the container: %q, want prefix %q", out, want)
	}
	if ip != "" {
		if out := c.sh(t, id, "ip -4 addr show eth0 || ifconfig eth0"); !strings.Contains(out, ip) {
			t.Errorf("pod ip %s not on eth0: %q", ip, out)
		}
	}

	// ExecSync: exit codes and streams, and a timeout that kills the exec.
	for _, tc := range []struct {
		cmd            []string
		stdout, stderr string
		code           int32
	}{
		{[]string{"echo", "hi"}, "hi\n", "", 0},
		{[]string{"sh", "-c", "echo o; echo e >&2; exit 5"}, "o\n", "e\n", 5},
		{[]string{"id", "-u"}, "0\n", "", 0},
	} {
		o, e, code := c.execSync(t, id, tc.cmd...)
		if o != tc.stdout || e != tc.stderr || code != tc.code {
			t.Errorf("ExecSync %q: %q %q %d, want %q %q %d", tc.cmd, o, e, code, tc.stdout, tc.stderr, tc.code)
		}
	}
	_, err = c.rt.ExecSync(criCtx(t), &runtimeapi.ExecSyncRequest{ContainerId: id, Cmd: []string{"sleep", "77"}, Timeout: 1})
	if err == nil {
		t.Errorf("ExecSync of sleep 77 with timeout 1s: no error")
	}
	waitNoProcess(t, c, id, "sleep 77")
	if _, err := c.rt.ExecSync(criCtx(t), &runtimeapi.ExecSyncRequest{ContainerId: id, Cmd: []string{"/no/such/binary"}, Timeout: 10}); err == nil {
		t.Errorf("ExecSync of a missing binary: no error")
	} else if !strings.Contains(err.Error(), "/no/such/binary") {
		t.Errorf("ExecSync of a missing binary: error %q does not name it", err)
	}

	// StopContainer: SIGTERM, the trap exits 7.
	if _, err := c.rt.StopContainer(criCtx(t), &runtimeapi.StopContainerRequest{ContainerId: id, Timeout: 10}); err != nil {
		t.Fatalf("StopContainer: %v", err)
	}
	st = c.status(t, id)
	if st.State != runtimeapi.ContainerState_CONTAINER_EXITED || st.ExitCode != 7 || st.Reason != "Error" || st.FinishedAt < st.StartedAt {
		t.Errorf("after stop: %v exit %d reason %q", st.State, st.ExitCode, st.Reason)
	}
	lines := readCRILog(t, p, cfg.LogPath, func(l []criLogLine) bool { return len(l) >= 2 })
	if len(lines) != 2 || lines[0].text != "started" || lines[1].text != "term" {
		t.Errorf("log: %+v", lines)
	}

	// A pid 1 without a SIGTERM handler ignores it: the stop timeout ends
	// in SIGKILL.
	id2 := c.run(t, p, c.containerConfig(p, "sleeper", "sleep", "1000"))
	t0 := time.Now()
	if _, err := c.rt.StopContainer(criCtx(t), &runtimeapi.StopContainerRequest{ContainerId: id2, Timeout: 1}); err != nil {
		t.Fatalf("StopContainer: %v", err)
	}
	if st := c.status(t, id2); st.State != runtimeapi.ContainerState_CONTAINER_EXITED || st.ExitCode != 137 {
		t.Errorf("stop of sleep: %v exit %d reason %q", st.State, st.ExitCode, st.Reason)
	}
	t.Logf("stop with a 1s timeout took %v", time.Since(t0))

	// A container that exits by itself: 0 is "Completed".
	id3 := c.run(t, p, c.containerConfig(p, "done", "true"))
	if st := c.waitExited(t, id3); st.ExitCode != 0 || st.Reason != "Completed" {
		t.Errorf("true: exit %d reason %q", st.ExitCode, st.Reason)
	}

	for _, x := range []string{id, id2, id3} {
		if _, err := c.rt.RemoveContainer(criCtx(t), &runtimeapi.RemoveContainerRequest{ContainerId: x}); err != nil {
			t.Errorf("RemoveContainer %s: %v", x, err)
		}
		if _, err := c.rt.ContainerStatus(criCtx(t), &runtimeapi.ContainerStatusRequest{ContainerId: x}); grpcstatus.Code(err) != codes.NotFound {
			t.Errorf("status of removed container %s: %v, want NotFound", x, err)
		}
	}
	if _, err := c.rt.StopPodSandbox(criCtx(t), &runtimeapi.StopPodSandboxRequest{PodSandboxId: p.id}); err != nil {
		t.Fatalf("StopPodSandbox: %v", err)
	}
	ps, err = c.rt.PodSandboxStatus(criCtx(t), &runtimeapi.PodSandboxStatusRequest{PodSandboxId: p.id})
	if err != nil || ps.Status.State != runtimeapi.PodSandboxState_SANDBOX_NOTREADY {
		t.Errorf("after StopPodSandbox: %v %v", ps, err)
	}
	// The shim goes once the last task of the pod is deleted (containerd
	// 1.x deletes them from its exit event handler: not at once).
	if n := waitShims(0); n != 0 {
		t.Errorf("%d shims after the pod stopped, want 0: %v", n, shims())
	}
}

// waitShims waits up to 10s for the number of shims to become n and
// returns the last count.
func waitShims(n int) int {
	got := shimCount()
	for deadline := time.Now().Add(10 * time.Second); got != n && time.Now().Before(deadline); got = shimCount() {
		time.Sleep(100 * time.Millisecond)
	}
	return got
}

// waitNoProcess waits until no process in the container's pid namespace
// has cmdline.
func waitNoProcess(t *testing.T, c *criConn, id, cmdline string) {
	t.Helper()
	var out string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		out = c.sh(t, id, `for f in /proc/[0-9]*/cmdline; do tr '\0' ' ' < $f; echo; done`)
		if !strings.Contains(out, cmdline) {
			return
		}
	}
	t.Errorf("%q still runs in the container: %q", cmdline, out)
}

func TestCRIBadInput(t *testing.T) {
	c := criSetup(t)
	p := c.runPod(t, criPodConfig(t, "bad-input"))
	for _, tc := range []struct {
		name string
		cfg  func(*runtimeapi.ContainerConfig)
		want string // in the StartContainer error
	}{
		{"missing binary", func(cfg *runtimeapi.ContainerConfig) { cfg.Command = []string{"/no/such/binary"} }, "/no/such/binary"},
		{"not executable", func(cfg *runtimeapi.ContainerConfig) { cfg.Command = []string{"/etc/passwd"} }, "/etc/passwd"},
		{"cwd is a file", func(cfg *runtimeapi.ContainerConfig) { cfg.WorkingDir = "/etc/passwd" }, "/etc/passwd"},
	} {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			cfg := c.containerConfig(p, strings.ReplaceAll(tc.name, " ", "-"), "true")
			tc.cfg(cfg)
			id, err := c.tryCreate(t, p, cfg)
			if err == nil {
				_, err = c.rt.StartContainer(criCtx(t), &runtimeapi.StartContainerRequest{ContainerId: id})
			}
			if err == nil {
				t.Fatalf("%s: create and start succeeded", tc.name)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s: error %q does not name %q", tc.name, err, tc.want)
			}
			t.Logf("%s: %v", tc.name, err)
			if id != "" {
				if _, err := c.rt.RemoveContainer(criCtx(t), &runtimeapi.RemoveContainerRequest{ContainerId: id}); err != nil {
					t.Errorf("RemoveContainer after a failed start: %v", err)
				}
			}
		})
	}
	// The pod still works after the failures.
	id := c.run(t, p, c.containerConfig(p, "after", "sleep", "1000"))
	if out := c.sh(t, id, "echo ok"); out != "ok\n" {
		t.Errorf("after failures: %q", out)
	}
}

func TestCRILogs(t *testing.T) {
	c := criSetup(t)
	p := c.runPod(t, criPodConfig(t, "logs"))
	cfg := c.containerConfig(p, "logger", "sh", "-c", `echo out1; echo err1 >&2; echo "with  spaces"; printf 'no newline'`)
	id := c.run(t, p, cfg)
	if st := c.waitExited(t, id); st.ExitCode != 0 || st.LogPath != filepath.Join(p.logDir, cfg.LogPath) {
		t.Errorf("logger: exit %d, log path %q", st.ExitCode, st.LogPath)
	}
	lines := readCRILog(t, p, cfg.LogPath, func(l []criLogLine) bool { return len(l) >= 4 })
	var got []string
	for _, l := range lines {
		got = append(got, l.stream+":"+l.text)
		if l.time.Before(time.Now().Add(-time.Minute)) || l.time.After(time.Now()) {
			t.Errorf("log line %+v: time out of range", l)
		}
	}
	if !sameLines(got, []string{"stdout:out1", "stderr:err1", "stdout:with  spaces", "stdout:no newline"}) {
		t.Errorf("log lines %q", got)
	}
	for _, l := range lines[:len(lines)-1] {
		if l.tag != "F" {
			t.Errorf("line %+v: tag %q, want F", l, l.tag)
		}
	}
}

func TestCRIMultiContainerPod(t *testing.T) {
	c := criSetup(t)
	for _, shared := range []bool{false, true} {
		name := "multi"
		if shared {
			name = "multi-sharedpid"
		}
		t.Run(name, func(t *testing.T) {
			cfg := criPodConfig(t, name)
			if shared {
				cfg.Linux.SecurityContext.NamespaceOptions.Pid = runtimeapi.NamespaceMode_POD
			}
			p := c.runPod(t, cfg)
			var ids []string
			for i, n := range []string{"a", "b", "c"} {
				ids = append(ids, c.run(t, p, c.containerConfig(p, n, "sleep", fmt.Sprint(1001+i))))
			}
			// One shim for the pod: every container's init is its child.
			shim := 0
			for _, id := range ids {
				pp, _ := ppidComm(c.hostPid(t, id))
				if _, comm := ppidComm(pp); !strings.HasPrefix(comm, "containerd-shim") {
					t.Errorf("container %s: parent %d is %q, not the shim", id, pp, comm)
				}
				if shim == 0 {
					shim = pp
				} else if pp != shim {
					t.Errorf("container %s: shim %d, the pod's first container has %d", id, pp, shim)
				}
			}
			if n := waitShims(1); n != 1 {
				t.Errorf("%d shims for one pod: %v", n, shims())
			}
			// Network, IPC and UTS are the pod's; the pid namespace is the
			// container's own unless shared.
			ns := func(id string) string {
				return c.sh(t, id, "for n in net ipc uts pid; do readlink /proc/self/ns/$n; done")
			}
			a, b := strings.Fields(ns(ids[0])), strings.Fields(ns(ids[1]))
			if len(a) != 4 || len(b) != 4 || a[0] != b[0] || a[1] != b[1] || a[2] != b[2] {
				t.Errorf("namespaces of two containers: %v %v", a, b)
			} else if (a[3] == b[3]) != shared {
				t.Errorf("pid namespaces %s %s, shared=%v", a[3], b[3], shared)
			}
			procs := c.sh(t, ids[1], `for f in /proc/[0-9]*/cmdline; do tr '\0' ' ' < $f; echo; done`)
			if seesA := strings.Contains(procs, "sleep 1001"); seesA != shared {
				t.Errorf("container b sees a's process: %v, shared pid namespace: %v\n%s", seesA, shared, procs)
			}
			// Stopping one container leaves the others (and the shim).
			if _, err := c.rt.StopContainer(criCtx(t), &runtimeapi.StopContainerRequest{ContainerId: ids[0], Timeout: 1}); err != nil {
				t.Fatalf("StopContainer: %v", err)
			}
			if st := c.status(t, ids[2]); st.State != runtimeapi.ContainerState_CONTAINER_RUNNING {
				t.Errorf("c after a stopped: %v", st.State)
			}
			if out := c.sh(t, ids[2], "echo alive"); out != "alive\n" {
				t.Errorf("exec in c: %q", out)
			}
		})
	}
}

func TestCRIContainerRestart(t *testing.T) {
	c := criSetup(t)
	p := c.runPod(t, criPodConfig(t, "restart"))
	var ids []string
	for attempt := uint32(0); attempt < 3; attempt++ {
		cfg := c.containerConfig(p, "app", "sh", "-c", `echo run-$(cat /proc/self/cgroup | wc -l); exit 2`)
		cfg.Metadata.Attempt = attempt
		cfg.LogPath = "app/" + string(rune('0'+attempt)) + ".log"
		os.MkdirAll(filepath.Join(p.logDir, "app"), 0o755)
		id := c.run(t, p, cfg)
		st := c.waitExited(t, id)
		if st.ExitCode != 2 || st.Reason != "Error" || st.Metadata.Attempt != attempt {
			t.Errorf("attempt %d: exit %d reason %q attempt %d", attempt, st.ExitCode, st.Reason, st.Metadata.Attempt)
		}
		if l := readCRILog(t, p, cfg.LogPath, func(l []criLogLine) bool { return len(l) >= 1 }); len(l) != 1 || !strings.HasPrefix(l[0].text, "run-") {
			t.Errorf("attempt %d log: %+v", attempt, l)
		}
		// kubelet removes the previous dead container once the new one runs
		if len(ids) > 0 {
			if _, err := c.rt.RemoveContainer(criCtx(t), &runtimeapi.RemoveContainerRequest{ContainerId: ids[len(ids)-1]}); err != nil {
				t.Errorf("RemoveContainer: %v", err)
			}
		}
		ids = append(ids, id)
	}
	// The same pod also runs a long-lived container after the restarts.
	id := c.run(t, p, c.containerConfig(p, "after", "sleep", "1000"))
	if out := c.sh(t, id, "echo ok"); out != "ok\n" {
		t.Errorf("after restarts: %q", out)
	}
	if n := waitShims(1); n != 1 {
		t.Errorf("%d shims for one pod after restarts", n)
	}
}

// TestCRIPodAnnotations: containerd passes the pod annotations matching
// pod_annotations (slrt.io/*) to the runtime, in the container's spec.
func TestCRIPodAnnotations(t *testing.T) {
	c := criSetup(t)
	if criHandler != "sl" {
		t.Skipf("containerd.sh gives pod_annotations to handler sl only, not %s", criHandler)
	}
	cfg := criPodConfig(t, "annotations")
	cfg.Annotations["slrt.io/e2e-test"] = "value-1"
	cfg.Annotations["other.example/not-passed"] = "x"
	p := c.runPod(t, cfg)
	id := c.run(t, p, c.containerConfig(p, "main", "sleep", "1000"))
	for _, x := range []struct{ id, what string }{{p.id, "sandbox"}, {id, "container"}} {
		b, err := os.ReadFile(filepath.Join(criBundle(x.id), "config.json"))
		if err != nil {
			t.Fatalf("%s bundle: %v", x.what, err)
		}
		var spec struct {
			Annotations map[string]string `json:"annotations"`
		}
		if err := json.Unmarshal(b, &spec); err != nil {
			t.Fatalf("%s config.json: %v", x.what, err)
		}
		if v := spec.Annotations["slrt.io/e2e-test"]; v != "value-1" {
			t.Errorf("%s config.json: slrt.io/e2e-test = %q, want value-1 (annotations %v)", x.what, v, spec.Annotations)
		}
		if v, ok := spec.Annotations["other.example/not-passed"]; ok {
			t.Errorf("%s config.json: other.example/not-passed = %q passed through", x.what, v)
		}
		if v := spec.Annotations["io.kubernetes.cri.sandbox-id"]; v != p.id {
			t.Errorf("%s config.json: sandbox-id %q, want %q", x.what, v, p.id)
		}
	}
}

// TestCRIKilledFromOutside: a container's init and the pod's sandbox
// killed with SIGKILL from the host (the OOM killer, an admin): the CRI
// reports the container EXITED with 137 and the sandbox NOTREADY (what
// makes kubelet restart them), and the pod is removed cleanly.
func TestCRIKilledFromOutside(t *testing.T) {
	c := criSetup(t)
	p := c.runPod(t, criPodConfig(t, "killed"))
	victim := c.run(t, p, c.containerConfig(p, "victim", "sleep", "1000"))
	other := c.run(t, p, c.containerConfig(p, "other", "sleep", "1000"))

	if err := unix.Kill(c.hostPid(t, victim), unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if st := c.waitExited(t, victim); st.ExitCode != 137 || st.Reason != "Error" {
		t.Errorf("killed container: exit %d reason %q, want 137 Error", st.ExitCode, st.Reason)
	}
	if st := c.status(t, other); st.State != runtimeapi.ContainerState_CONTAINER_RUNNING {
		t.Errorf("the pod's other container: %v", st.State)
	}

	if err := unix.Kill(c.sandboxPid(t, p.id), unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var state runtimeapi.PodSandboxState
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		ps, err := c.rt.PodSandboxStatus(criCtx(t), &runtimeapi.PodSandboxStatusRequest{PodSandboxId: p.id})
		if err != nil {
			t.Fatalf("PodSandboxStatus: %v", err)
		}
		if state = ps.Status.State; state == runtimeapi.PodSandboxState_SANDBOX_NOTREADY {
			break
		}
	}
	if state != runtimeapi.PodSandboxState_SANDBOX_NOTREADY {
		t.Errorf("sandbox killed: state %v after 20s, want NOTREADY", state)
	}
	// the pod's removal (its cleanup) stops the other container; the leak
	// check then finds nothing
}
