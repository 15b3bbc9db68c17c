package e2e

// CRI tests: the path kubelet takes. A CRI client (k8s.io/cri-api over
// gRPC) talks to the same private containerd the ctr tests use, started
// by containerd.sh in its CRI mode; pods run with RuntimeHandler "sl"
// (io.containerd.slrt.v2, one containerd-shim-slrt-v2 per pod). They run
// only with SLRT_E2E=1 and a daemon whose CRI plugin answers; otherwise
// they skip and say why.
//
// Each test removes its pods in a cleanup and then checks that nothing of
// them is left: no pod or container in the CRI, no shim process, no mount
// in the daemon's namespace, no cgroup under the tests' cgroup parent, no
// shim state (plus everything checkClean checks for the ctr tests).

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// criHandler is the RuntimeClass handler the pods use: "sl", which
// containerd maps to io.containerd.slrt.v2. SLRT_CRI_HANDLER=runc runs the
// same tests under containerd.sh's runc handler, to tell slrt's behaviour
// from containerd's.
var criHandler = cmp.Or(os.Getenv("SLRT_CRI_HANDLER"), "sl")

const (
	// criNamespace is where the CRI plugin keeps everything in containerd.
	criNamespace = "k8s.io"
	// criPodNamespace is the pods' Kubernetes namespace.
	criPodNamespace = "slrt-e2e"
)

var (
	// criCgroupRoot is the cgroup parent of every test pod: kubelet would
	// give /kubepods/.../pod<uid>; a root of our own lets the leak check
	// see every cgroup the tests made. One per daemon instance
	// (slrt-cri-e2e-<hash of its folder>): a test run beside another one
	// must not take the other's pods for leaks.
	criCgroupRoot string
	criOnce       sync.Once
	criClient     *criConn
	criSkipMsg    string
)

// criConn is the connection to the daemon's CRI services.
type criConn struct {
	rt      runtimeapi.RuntimeServiceClient
	img     runtimeapi.ImageServiceClient
	image   string // the busybox image as the CRI names it
	version string // containerd's
}

// criImageName is the busybox image for containers: in CRI mode
// containerd.sh imports one under docker.io/library/busybox (Debian's
// busybox, cri-images.sh); otherwise the image the ctr tests import.
func criImageName() string {
	if v := os.Getenv("SLRT_CRI_IMAGE"); v != "" {
		return v
	}
	if env["CRI"] == "1" {
		return "docker.io/library/busybox:latest"
	}
	return image
}

// connectCRI dials the daemon once per test binary and checks that the CRI
// plugin answers and the busybox image is there (importing it into the
// k8s.io namespace when containerd.sh did not).
func connectCRI() (*criConn, string) {
	if env["CRI"] != "1" {
		return nil, "containerd.sh runs the daemon without the CRI plugin (SLRT_CRI=1 turns it on)"
	}
	sock := env["SOCK"]
	conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, fmt.Sprintf("dial %s: %v", sock, err)
	}
	c := &criConn{rt: runtimeapi.NewRuntimeServiceClient(conn), img: runtimeapi.NewImageServiceClient(conn), image: criImageName()}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	v, err := c.rt.Version(ctx, &runtimeapi.VersionRequest{})
	if err != nil {
		return nil, fmt.Sprintf("the daemon's CRI plugin does not answer on %s (containerd.sh started without CRI mode?): %v", sock, err)
	}
	fmt.Fprintf(os.Stderr, "e2e: CRI %s %s %s\n", v.RuntimeName, v.RuntimeVersion, v.RuntimeApiVersion)
	c.version = v.RuntimeVersion
	st, err := c.img.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: &runtimeapi.ImageSpec{Image: c.image}})
	if err != nil {
		return nil, fmt.Sprintf("image status %s: %v", c.image, err)
	}
	if st.Image == nil {
		if msg := criImport(); msg != "" {
			return nil, msg
		}
		// the CRI plugin learns of imported images through events
		for i := 0; i < 100 && (st == nil || st.Image == nil); i++ {
			time.Sleep(100 * time.Millisecond)
			st, _ = c.img.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: &runtimeapi.ImageSpec{Image: c.image}})
		}
		if st == nil || st.Image == nil {
			return nil, fmt.Sprintf("image %s imported into %s but the CRI does not see it", c.image, criNamespace)
		}
	}
	return c, ""
}

// criImport imports the busybox tar into the CRI's containerd namespace.
func criImport() string {
	tar := os.Getenv("SLRT_IMAGE_TAR")
	if tar == "" {
		tar = filepath.Join(filepath.Dir(script), "../../build/busybox/busybox-oci.tar")
	}
	cmd := ctrCmd(context.Background(), nil, "images", "import", tar)
	cmd.Env = append(os.Environ(), "SLRT_NAMESPACE="+criNamespace)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Sprintf("import %s into %s: %v\n%s", tar, criNamespace, err, out)
	}
	return ""
}

// criSetup skips the test unless the e2e daemon serves the CRI, and
// registers the leak checks that run after the test's own cleanups.
func criSetup(t *testing.T) *criConn {
	t.Helper()
	if !enabled {
		t.Skip("e2e: set SLRT_E2E=1 (make e2e) to run against a real containerd")
	}
	criOnce.Do(func() {
		criCgroupRoot = fmt.Sprintf("slrt-cri-e2e-%08x", crc32.ChecksumIEEE([]byte(env["DIR"])))
		criClient, criSkipMsg = connectCRI()
	})
	if criClient == nil {
		t.Skip("e2e CRI: " + criSkipMsg)
	}
	setup(t) // checkClean: shims, mounts, ctr-side state
	t.Cleanup(func() { criCheckClean(t, criClient) })
	return criClient
}

func criCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// pod is one running pod sandbox of a test.
type pod struct {
	id     string
	config *runtimeapi.PodSandboxConfig
	logDir string
}

var criSeq int

// criPodConfig is the sandbox config kubelet would send for a plain pod.
func criPodConfig(t *testing.T, name string) *runtimeapi.PodSandboxConfig {
	criSeq++
	uid := fmt.Sprintf("%s-%d-%d", strings.ToLower(name), os.Getpid(), criSeq)
	return &runtimeapi.PodSandboxConfig{
		Metadata: &runtimeapi.PodSandboxMetadata{Name: name, Uid: uid, Namespace: criPodNamespace},
		Hostname: name,
		// LogDirectory is set by runPod (a fresh temp dir per pod)
		Labels:      map[string]string{"slrt-e2e": "1"},
		Annotations: map[string]string{},
		Linux: &runtimeapi.LinuxPodSandboxConfig{
			CgroupParent: "/" + criCgroupRoot + "/pod" + uid,
			SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{
				NamespaceOptions: &runtimeapi.NamespaceOption{
					Network: runtimeapi.NamespaceMode_POD,
					Pid:     runtimeapi.NamespaceMode_CONTAINER,
					Ipc:     runtimeapi.NamespaceMode_POD,
				},
			},
		},
	}
}

// runPod runs a sandbox with handler sl from cfg (criPodConfig, then
// edited) and removes it (with its containers) when the test ends.
func (c *criConn) runPod(t *testing.T, cfg *runtimeapi.PodSandboxConfig) *pod {
	t.Helper()
	p, err := c.tryRunPod(t, cfg)
	if err != nil {
		t.Fatalf("RunPodSandbox %s: %v", cfg.Metadata.Name, err)
	}
	return p
}

// tryRunPod is runPod returning RunPodSandbox's error (containerd then
// has removed what it made of the sandbox; the leak check verifies).
func (c *criConn) tryRunPod(t *testing.T, cfg *runtimeapi.PodSandboxConfig) (*pod, error) {
	p := &pod{config: cfg, logDir: t.TempDir()}
	cfg.LogDirectory = p.logDir
	t.Cleanup(func() { criRemoveCgroups(t, cfg.Linux.CgroupParent) })
	resp, err := c.rt.RunPodSandbox(criCtx(t), &runtimeapi.RunPodSandboxRequest{Config: cfg, RuntimeHandler: criHandler})
	if err != nil {
		return nil, err
	}
	p.id = resp.PodSandboxId
	t.Cleanup(func() { c.removePod(t, p.id) })
	return p, nil
}

// removePod stops and removes a sandbox (RemovePodSandbox removes its
// containers too), as kubelet does when a pod is deleted.
func (c *criConn) removePod(t *testing.T, id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := c.rt.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: id}); err != nil {
		t.Errorf("StopPodSandbox %s: %v", id, err)
	}
	if _, err := c.rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: id}); err != nil {
		t.Errorf("RemovePodSandbox %s: %v", id, err)
	}
}

// criRemoveCgroups removes a pod's cgroup parent in every hierarchy, as
// kubelet does: the runtime removes only the containers' own cgroups. A
// container cgroup left inside makes rmdir fail, which the leak check
// then reports.
func criRemoveCgroups(t *testing.T, parent string) {
	dirs, _ := filepath.Glob("/sys/fs/cgroup/*" + parent)
	more, _ := filepath.Glob("/sys/fs/cgroup" + parent)
	for _, d := range append(dirs, more...) {
		os.Remove(d)
		os.Remove(filepath.Dir(d)) // the tests' root, once no pod is left in it
	}
}

// criCgroupDir is the container's cgroup directory for a v1 controller.
func criCgroupDir(p *pod, controller, containerID string) string {
	return filepath.Join("/sys/fs/cgroup", controller, p.config.Linux.CgroupParent, containerID)
}

// kubelet's default masked and read-only paths (procMount Default),
// which it sends with every unprivileged container.
var (
	criMaskedPaths = []string{"/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys",
		"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
		"/sys/firmware", "/sys/devices/virtual/powercap"}
	criReadonlyPaths = []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}
)

// containerConfig is a container of image busybox running args, with the
// pod's namespace options (kubelet copies them into every container) and
// kubelet's masked and read-only paths.
func (c *criConn) containerConfig(p *pod, name string, args ...string) *runtimeapi.ContainerConfig {
	ns := p.config.Linux.SecurityContext.NamespaceOptions
	return &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: name},
		Image:    &runtimeapi.ImageSpec{Image: c.image},
		Command:  args,
		LogPath:  name + ".log",
		Linux: &runtimeapi.LinuxContainerConfig{
			Resources: &runtimeapi.LinuxContainerResources{},
			SecurityContext: &runtimeapi.LinuxContainerSecurityContext{
				MaskedPaths:   criMaskedPaths,
				ReadonlyPaths: criReadonlyPaths,
				NamespaceOptions: &runtimeapi.NamespaceOption{
					Network:       ns.Network,
					Pid:           ns.Pid,
					Ipc:           ns.Ipc,
					UsernsOptions: ns.UsernsOptions,
				},
			},
		},
	}
}

// create makes a container in the pod (not started).
func (c *criConn) create(t *testing.T, p *pod, cfg *runtimeapi.ContainerConfig) string {
	t.Helper()
	id, err := c.tryCreate(t, p, cfg)
	if err != nil {
		t.Fatalf("CreateContainer %s: %v", cfg.Metadata.Name, err)
	}
	return id
}

func (c *criConn) tryCreate(t *testing.T, p *pod, cfg *runtimeapi.ContainerConfig) (string, error) {
	resp, err := c.rt.CreateContainer(criCtx(t), &runtimeapi.CreateContainerRequest{
		PodSandboxId: p.id, Config: cfg, SandboxConfig: p.config,
	})
	if err != nil {
		return "", err
	}
	return resp.ContainerId, nil
}

func (c *criConn) start(t *testing.T, id string) {
	t.Helper()
	if _, err := c.rt.StartContainer(criCtx(t), &runtimeapi.StartContainerRequest{ContainerId: id}); err != nil {
		t.Fatalf("StartContainer %s: %v", id, err)
	}
}

// run creates and starts a container and waits until it runs.
func (c *criConn) run(t *testing.T, p *pod, cfg *runtimeapi.ContainerConfig) string {
	t.Helper()
	id := c.create(t, p, cfg)
	c.start(t, id)
	return id
}

func (c *criConn) status(t *testing.T, id string) *runtimeapi.ContainerStatus {
	t.Helper()
	resp, err := c.rt.ContainerStatus(criCtx(t), &runtimeapi.ContainerStatusRequest{ContainerId: id})
	if err != nil {
		t.Fatalf("ContainerStatus %s: %v", id, err)
	}
	return resp.Status
}

// waitExited waits for the container to exit and returns its status.
func (c *criConn) waitExited(t *testing.T, id string) *runtimeapi.ContainerStatus {
	t.Helper()
	var st *runtimeapi.ContainerStatus
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if st = c.status(t, id); st.State == runtimeapi.ContainerState_CONTAINER_EXITED {
			return st
		}
	}
	t.Fatalf("container %s: state %v after 30s, want EXITED", id, st.State)
	return nil
}

// execSync runs a command in the container and returns stdout, stderr and
// the exit code.
func (c *criConn) execSync(t *testing.T, id string, cmd ...string) (string, string, int32) {
	t.Helper()
	resp, err := c.rt.ExecSync(criCtx(t), &runtimeapi.ExecSyncRequest{ContainerId: id, Cmd: cmd, Timeout: 30})
	if err != nil {
		t.Fatalf("ExecSync %s %q: %v", id, cmd, err)
	}
	return string(resp.Stdout), string(resp.Stderr), resp.ExitCode
}

// sh runs `sh -c script` in the container and fails the test unless it
// exits 0; it returns stdout.
func (c *criConn) sh(t *testing.T, id, script string) string {
	t.Helper()
	out, errOut, code := c.execSync(t, id, "sh", "-c", script)
	if code != 0 {
		t.Fatalf("exec %q in %s: exit %d, stdout %q, stderr %q", script, id, code, out, errOut)
	}
	return out
}

// shimCount is the number of containerd-shim-slrt-v2 processes of the
// daemon.
func shimCount() int {
	n := 0
	for _, s := range shims() {
		if strings.HasSuffix(s, " containerd-shim") { // comm is cut at 15 bytes
			n++
		}
	}
	return n
}

// criCheckClean: no pod, no container in the CRI, no cgroup below the
// tests' cgroup root, no shim state in k8s.io. (checkClean, registered
// before, then checks processes and mounts.)
func criCheckClean(t *testing.T, c *criConn) {
	var problems []string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		problems = nil
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		pods, err := c.rt.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
		if err != nil {
			problems = append(problems, "ListPodSandbox: "+err.Error())
		} else {
			for _, p := range pods.Items {
				problems = append(problems, fmt.Sprintf("pod %s (%s) %v", p.Metadata.Name, p.Id, p.State))
			}
		}
		ctrs, err := c.rt.ListContainers(ctx, &runtimeapi.ListContainersRequest{})
		if err != nil {
			problems = append(problems, "ListContainers: "+err.Error())
		} else {
			for _, x := range ctrs.Containers {
				problems = append(problems, fmt.Sprintf("container %s (%s) %v", x.Metadata.Name, x.Id, x.State))
			}
		}
		cancel()
		cg, _ := filepath.Glob("/sys/fs/cgroup/*/" + criCgroupRoot + "/*")
		more, _ := filepath.Glob("/sys/fs/cgroup/" + criCgroupRoot + "/*")
		for _, d := range append(cg, more...) {
			if st, err := os.Stat(d); err == nil && st.IsDir() {
				problems = append(problems, "cgroup "+d)
			}
		}
		problems = append(problems, criNetworkLeft()...)
		if e, err := os.ReadDir(filepath.Join("/proc", daemonPid(), "root/run/slrt-shim", criNamespace)); err == nil && len(e) > 0 {
			problems = append(problems, fmt.Sprintf("shim state: %d entries in /run/slrt-shim/%s", len(e), criNamespace))
		}
		if len(problems) == 0 || time.Now().After(deadline) {
			break
		}
	}
	for _, p := range problems {
		t.Errorf("left behind: %s", p)
	}
}

// criNetworkLeft lists what the CNI plugins made for pods and must have
// taken away with them: veths on the daemon's bridge, address leases of
// host-local IPAM (one file per address, named by it).
func criNetworkLeft() []string {
	var out []string
	if br := env["CNI_BRIDGE"]; br != "" {
		ifs, _ := os.ReadDir(filepath.Join("/sys/class/net", br, "brif"))
		for _, i := range ifs {
			out = append(out, "interface on "+br+": "+i.Name())
		}
	}
	leases, _ := filepath.Glob(filepath.Join(env["DIR"], "cni", "ipam", "*", "*"))
	for _, l := range leases {
		if net.ParseIP(filepath.Base(l)) != nil {
			out = append(out, "address lease "+l)
		}
	}
	return out
}

// criBundle is the directory containerd gives the shim for a container
// (config.json is there).
func criBundle(id string) string {
	return filepath.Join(env["DIR"], "state", "io.containerd.runtime.v2.task", criNamespace, id)
}

// criSpec is the OCI spec containerd wrote for the container.
func criSpec(t *testing.T, id string) *specs.Spec {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(criBundle(id), "config.json"))
	if err != nil {
		t.Fatalf("bundle of %s: %v", id, err)
	}
	var s specs.Spec
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("config.json of %s: %v", id, err)
	}
	return &s
}

// sandboxPid is the pod's sandbox (pause) pid on the host.
func (c *criConn) sandboxPid(t *testing.T, id string) int {
	t.Helper()
	resp, err := c.rt.PodSandboxStatus(criCtx(t), &runtimeapi.PodSandboxStatusRequest{PodSandboxId: id, Verbose: true})
	if err != nil {
		t.Fatalf("PodSandboxStatus %s: %v", id, err)
	}
	return infoPid(t, id, resp.Info)
}

// infoPid reads "pid" from the JSON "info" of a verbose status.
func infoPid(t *testing.T, id string, info map[string]string) int {
	t.Helper()
	var v struct {
		Pid int `json:"pid"`
	}
	if err := json.Unmarshal([]byte(info["info"]), &v); err != nil || v.Pid == 0 {
		t.Fatalf("%s: no pid in the verbose status (%v): %q", id, err, info["info"])
	}
	return v.Pid
}

// hostPid is the container's init pid on the host, from the verbose status.
func (c *criConn) hostPid(t *testing.T, id string) int {
	t.Helper()
	resp, err := c.rt.ContainerStatus(criCtx(t), &runtimeapi.ContainerStatusRequest{ContainerId: id, Verbose: true})
	if err != nil {
		t.Fatalf("ContainerStatus %s: %v", id, err)
	}
	return infoPid(t, id, resp.Info)
}
