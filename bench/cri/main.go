// Command cri benchmarks slrt at the CRI level, the path kubelet takes:
// a CRI client (k8s.io/cri-api over gRPC) drives a private containerd in
// CRI mode (test/e2e/containerd.sh, started by bench/cri.sh) and times,
// per pod, RunPodSandbox, then CreateContainer+StartContainer of a busybox
// container, then, after that container has exited on its own (a crash),
// the CreateContainer+StartContainer of its replacement in the same pod,
// as kubelet restarts it. Pods run round by round, one per variant in
// turn (sl, sl with slrt.io/fast-start, runc, ...), so each round compares
// the variants under the same load. It writes cri.json for bench/report.
//
// In the same rounds it times StartContainer to the workload's first
// instruction (stamp.go): pods whose container is the stamp image, which
// reads the clock first thing in its _start and prints it with its CPU
// affinity; sl and sl fast-start with a slrt.io/cpu-affinity hint, runc
// without one as the reference.
//
// It lives in bench/, never linked into cmd/...: the CRI client and gRPC
// are the benchmark's dependencies, not slrt's.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/slrt/slrt/bench/result"
)

// The pod annotations of the variants: parked shells, and a CPU hint.
const (
	fastStartKey   = "slrt.io/fast-start"
	cpuAffinityKey = "slrt.io/cpu-affinity"
)

// output is cri.json.
type output struct {
	result.Run
	Containerd string          `json:"containerd"`
	Image      string          `json:"image"`
	Command    []string        `json:"command"`
	Variants   []*variant      `json:"variants"`
	Samples    []result.Sample `json:"samples"`
}

// variant is one kind of pod: a runtime handler and its pod annotations.
type variant struct {
	Label       string            `json:"label"`
	Handler     string            `json:"handler"`
	Annotations map[string]string `json:"annotations,omitempty"`
	// Image is the stamp image for a first-instruction variant, whose
	// pods time only that (stamp.go); "" for the busybox pods.
	Image  string `json:"image,omitempty"`
	shells int    // parked shells to wait for before a timed create
}

type bench struct {
	rt       runtimeapi.RuntimeServiceClient
	img      runtimeapi.ImageServiceClient
	image    string
	command  []string
	cgroup   string // the pods' cgroup root, under every hierarchy
	logs     string
	seq      int
	deadline time.Duration
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("bench/cri: ")
	var (
		runs     = flag.Int("runs", 20, "rounds: pods per variant (after one untimed round)")
		address  = flag.String("address", "", "the CRI socket (required)")
		handlers = flag.String("handlers", "sl,runc", "runtime handlers to compare, the first one slrt's")
		fast     = flag.Int("fast-start", 2, "slrt.io/fast-start value of the fast-start variant of the first handler (0: none)")
		image    = flag.String("image", "docker.io/library/busybox:latest", "busybox image, present in the CRI's image store")
		cgroup   = flag.String("cgroup-root", "slrt-bench-cri", "cgroup parent of the pods (as kubelet's /kubepods), removed at the end")
		logs     = flag.String("logs", "", "folder for the pods' log directories (required; seen by containerd)")
		out      = flag.String("out", "bench/results", "directory for cri.json")
		version  = flag.String("containerd-version", "unknown", "containerd's version, for the report")
		stamp    = flag.String("stamp-image", "ghcr.io/slrt/stamp:1", "image of the first-instruction pods (test/e2e/cri-images.sh, pulled from the loopback registry; \"\": none)")
		stampCPU = flag.String("stamp-cpus", "1", "slrt.io/cpu-affinity hint of the first-instruction pods")
	)
	flag.Parse()
	if *address == "" || *logs == "" {
		log.Fatal("-address and -logs are required")
	}
	if *runs < 1 {
		log.Fatalf("-runs %d: want at least 1", *runs)
	}
	conn, err := grpc.NewClient("unix://"+strings.TrimPrefix(*address, "unix://"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatalf("dial %s: %v", *address, err)
	}
	defer conn.Close()
	b := &bench{rt: runtimeapi.NewRuntimeServiceClient(conn), img: runtimeapi.NewImageServiceClient(conn), image: *image, cgroup: *cgroup, logs: *logs,
		// sh, not sleep alone: the container exits with 1 like a crash
		// once its start has long returned, and kubelet restarts it.
		command: []string{"sh", "-c", "sleep 0.3; exit 1"}, deadline: time.Minute}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	v, err := b.rt.Version(ctx, &runtimeapi.VersionRequest{})
	cancel()
	if err != nil {
		log.Fatalf("the CRI on %s does not answer (containerd.sh started without SLRT_CRI=1?): %v", *address, err)
	}
	o := output{Containerd: *version, Image: *image, Command: b.command}
	if o.Containerd == "unknown" {
		o.Containerd = v.RuntimeVersion
	}
	for i, h := range strings.Split(*handlers, ",") {
		o.Variants = append(o.Variants, &variant{Label: h, Handler: h})
		if i == 0 && *fast > 0 {
			o.Variants = append(o.Variants, &variant{Label: h + " fast-start", Handler: h, shells: *fast,
				Annotations: map[string]string{fastStartKey: strconv.Itoa(*fast)}})
		}
	}
	if *stamp != "" {
		if err := b.pull(*stamp); err != nil {
			log.Fatalf("%v (is the loopback registry up: test/e2e/containerd.sh registry?)", err)
		}
		o.Variants = append(o.Variants, stampVariants(strings.Split(*handlers, ","), *stamp, *stampCPU, *fast)...)
	}
	defer b.cleanup()

	o.Started, o.LoadStart, o.Runs = time.Now(), result.ReadLoad(), *runs
	// Round 0 is untimed: the image's snapshots, the shims' and runtimes'
	// page cache, the CNI plugins.
	for round := 0; round <= *runs; round++ {
		for _, va := range o.Variants {
			ss, err := b.pod(va, round)
			if err != nil {
				b.cleanup() // log.Fatal skips the deferred one
				log.Fatalf("%s, round %d: %v", va.Label, round, err)
			}
			if round > 0 {
				o.Samples = append(o.Samples, ss...)
			}
		}
	}
	o.Finished, o.LoadEnd = time.Now(), result.ReadLoad()
	if err := os.MkdirAll(*out, 0o755); err != nil {
		log.Fatal(err)
	}
	if err := result.Save(filepath.Join(*out, "cri.json"), &o); err != nil {
		log.Fatal(err)
	}
}

// pod runs one pod of va and times its sandbox, its container's
// create+start, and the create+start of the container's replacement
// after it exited; the pod is removed before it returns.
func (b *bench) pod(va *variant, round int) ([]result.Sample, error) {
	if va.Image != "" {
		return b.stampPod(va, round)
	}
	cfg, done, err := b.sandboxConfig(va)
	if err != nil {
		return nil, err
	}
	defer done()
	sample := func(op string, d time.Duration) result.Sample {
		return result.Sample{Op: op, Label: va.Label, Round: round, WallMs: float64(d.Microseconds()) / 1000}
	}

	ctx, cancel := context.WithTimeout(context.Background(), b.deadline)
	defer cancel()
	t0 := time.Now()
	resp, err := b.rt.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: cfg, RuntimeHandler: va.Handler})
	sandboxTime := time.Since(t0)
	if err != nil {
		return nil, fmt.Errorf("RunPodSandbox: %w", err)
	}
	id := resp.PodSandboxId
	defer b.removePod(id)
	pool, err := b.poolOf(ctx, va, id)
	if err != nil {
		return nil, err
	}
	fromShell := func(ctx context.Context, create func() (string, timing, error)) (timing, error) {
		var t timing
		err := pool.fromShell(ctx, func() (id string, err error) {
			id, t, err = create()
			return id, err
		})
		return t, err
	}
	ctrTime, err := fromShell(ctx, func() (string, timing, error) { return b.createStart(ctx, id, cfg, 0) })
	if err != nil {
		return nil, err
	}
	out := []result.Sample{
		sample("RunPodSandbox", sandboxTime),
		sample("create+start", ctrTime.total()),
		sample("CreateContainer", ctrTime.create),
		sample("StartContainer", ctrTime.start),
		sample("pod start", sandboxTime+ctrTime.total()),
	}
	// The container exits by itself; kubelet, seeing it exited, creates
	// and starts attempt 1 in the same pod (its back-off starts only at
	// the second restart). The pool has refilled long before: the
	// container ran 300 ms.
	if err := b.waitExited(ctx, id); err != nil {
		return nil, err
	}
	restart, err := fromShell(ctx, func() (string, timing, error) { return b.createStart(ctx, id, cfg, 1) })
	if err != nil {
		return nil, fmt.Errorf("restart: %w", err)
	}
	return append(out, sample("restart", restart.total())), nil
}

// sandboxConfig is a new pod's config for va, its log folder made; done
// removes the folder and the pod's cgroups.
func (b *bench) sandboxConfig(va *variant) (*runtimeapi.PodSandboxConfig, func(), error) {
	b.seq++
	uid := fmt.Sprintf("%s-%d-%d", result.Slug(va.Label), os.Getpid(), b.seq)
	logDir := filepath.Join(b.logs, uid)
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, nil, err
	}
	cfg := &runtimeapi.PodSandboxConfig{
		Metadata:     &runtimeapi.PodSandboxMetadata{Name: "bench", Uid: uid, Namespace: "slrt-bench", Attempt: 0},
		Hostname:     "bench",
		LogDirectory: logDir,
		Labels:       map[string]string{"slrt-bench": "1"},
		Annotations:  map[string]string{},
		Linux: &runtimeapi.LinuxPodSandboxConfig{
			CgroupParent: "/" + b.cgroup + "/pod" + uid,
			SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{
				NamespaceOptions: &runtimeapi.NamespaceOption{
					Network: runtimeapi.NamespaceMode_POD,
					Pid:     runtimeapi.NamespaceMode_CONTAINER,
					Ipc:     runtimeapi.NamespaceMode_POD,
				},
			},
		},
	}
	for k, v := range va.Annotations {
		cfg.Annotations[k] = v
	}
	return cfg, func() {
		b.removeCgroups(cfg.Linux.CgroupParent)
		os.RemoveAll(logDir)
	}, nil
}

// podPool is what tells a fast-start pod's containers made from a shell
// from those made the normal way: the pod's shim and sandbox pids.
type podPool struct {
	b             *bench
	shells        int // 0: not a fast-start pod
	shim, sandbox int
}

func (b *bench) poolOf(ctx context.Context, va *variant, sandboxID string) (*podPool, error) {
	p := &podPool{b: b, shells: va.shells}
	if va.shells == 0 {
		return p, nil
	}
	var err error
	if p.sandbox, err = b.sandboxPid(ctx, sandboxID); err != nil {
		return nil, err
	}
	if p.shim = ppid(p.sandbox); p.shim == 0 {
		return nil, fmt.Errorf("sandbox %d: no parent shim", p.sandbox)
	}
	return p, nil
}

// fromShell runs create (which makes a container and returns its id).
// In a fast-start pod the timed creates take a shell from a full pool, as
// in a pod at steady state (the pool fills in the background after
// RunPodSandbox and refills 200 ms after each use): waited for, and the
// container's init checked to be one of the shells, so a run where the
// shim fell back to the normal path does not pass for fast start.
func (p *podPool) fromShell(ctx context.Context, create func() (string, error)) error {
	if p.shells == 0 {
		_, err := create()
		return err
	}
	shells, err := waitParked(p.shim, p.sandbox, p.shells)
	if err != nil {
		return err
	}
	id, err := create()
	if err != nil {
		return err
	}
	pid, err := p.b.containerPid(ctx, id)
	if err != nil {
		return err
	}
	if !shells[pid] {
		return fmt.Errorf("container %s: its init %d is none of the parked shells %v: made the normal way (the shim's log says why)", id, pid, shells)
	}
	return nil
}

// containerPid is the container's init pid on the host, from the verbose
// status.
func (b *bench) containerPid(ctx context.Context, id string) (int, error) {
	resp, err := b.rt.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: id, Verbose: true})
	if err != nil {
		return 0, fmt.Errorf("ContainerStatus: %w", err)
	}
	return infoPid(id, resp.Info)
}

// timing is how long a container's CreateContainer and StartContainer took.
type timing struct{ create, start time.Duration }

func (t timing) total() time.Duration { return t.create + t.start }

// createStart times CreateContainer and StartContainer of the app
// container, one right after the other as kubelet calls them.
func (b *bench) createStart(ctx context.Context, pod string, sb *runtimeapi.PodSandboxConfig, attempt uint32) (string, timing, error) {
	cfg := containerConfig(sb, b.image, b.command, attempt)
	t0 := time.Now()
	resp, err := b.rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: pod, Config: cfg, SandboxConfig: sb})
	if err != nil {
		return "", timing{}, fmt.Errorf("CreateContainer: %w", err)
	}
	t1 := time.Now()
	if _, err := b.rt.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: resp.ContainerId}); err != nil {
		return "", timing{}, fmt.Errorf("StartContainer: %w", err)
	}
	return resp.ContainerId, timing{create: t1.Sub(t0), start: time.Since(t1)}, nil
}

// containerConfig is the pod's container "app" as kubelet asks for an
// unprivileged one; command nil runs the image's entrypoint.
func containerConfig(sb *runtimeapi.PodSandboxConfig, image string, command []string, attempt uint32) *runtimeapi.ContainerConfig {
	return &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "app", Attempt: attempt},
		Image:    &runtimeapi.ImageSpec{Image: image},
		Command:  command,
		LogPath:  fmt.Sprintf("app_%d.log", attempt),
		Linux: &runtimeapi.LinuxContainerConfig{
			Resources: &runtimeapi.LinuxContainerResources{},
			SecurityContext: &runtimeapi.LinuxContainerSecurityContext{
				// kubelet's defaults for an unprivileged container
				MaskedPaths: []string{"/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys",
					"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
					"/sys/firmware", "/sys/devices/virtual/powercap"},
				ReadonlyPaths:    []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"},
				NamespaceOptions: sb.Linux.SecurityContext.NamespaceOptions,
			},
		},
	}
}

// waitExited waits until the pod's container of attempt 0 has exited.
func (b *bench) waitExited(ctx context.Context, pod string) error {
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		resp, err := b.rt.ListContainers(ctx, &runtimeapi.ListContainersRequest{Filter: &runtimeapi.ContainerFilter{PodSandboxId: pod}})
		if err != nil {
			return fmt.Errorf("ListContainers: %w", err)
		}
		for _, c := range resp.Containers {
			if c.State == runtimeapi.ContainerState_CONTAINER_EXITED {
				return nil
			}
		}
	}
	return fmt.Errorf("pod %s: its container did not exit within 30s", pod)
}

// sandboxPid is the sandbox's pid on the host, from the verbose status.
func (b *bench) sandboxPid(ctx context.Context, id string) (int, error) {
	resp, err := b.rt.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: id, Verbose: true})
	if err != nil {
		return 0, fmt.Errorf("PodSandboxStatus: %w", err)
	}
	return infoPid(id, resp.Info)
}

// infoPid reads "pid" from the JSON "info" of a verbose CRI status.
func infoPid(id string, info map[string]string) (int, error) {
	var v struct {
		Pid int `json:"pid"`
	}
	if err := json.Unmarshal([]byte(info["info"]), &v); err != nil || v.Pid == 0 {
		return 0, fmt.Errorf("%s: no pid in the verbose status (%v)", id, err)
	}
	return v.Pid, nil
}

// removePod stops and removes a pod and its containers, as kubelet does.
func (b *bench) removePod(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), b.deadline)
	defer cancel()
	if _, err := b.rt.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: id}); err != nil {
		log.Printf("StopPodSandbox %s: %v", id, err)
	}
	if _, err := b.rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: id}); err != nil {
		log.Printf("RemovePodSandbox %s: %v", id, err)
	}
}

// removeCgroups removes a pod's cgroup parent in every hierarchy, as
// kubelet does (the runtime removes only its containers' cgroups).
func (b *bench) removeCgroups(parent string) {
	dirs, _ := filepath.Glob("/sys/fs/cgroup/*" + parent)
	more, _ := filepath.Glob("/sys/fs/cgroup" + parent)
	for _, d := range append(dirs, more...) {
		if err := os.Remove(d); err != nil && !os.IsNotExist(err) {
			log.Printf("cgroup %s: %v", d, err)
		}
	}
}

// cleanup removes the pods a failed run left, then the cgroup root.
func (b *bench) cleanup() {
	ctx, cancel := context.WithTimeout(context.Background(), b.deadline)
	defer cancel()
	if resp, err := b.rt.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{
		Filter: &runtimeapi.PodSandboxFilter{LabelSelector: map[string]string{"slrt-bench": "1"}}}); err == nil {
		for _, p := range resp.Items {
			b.removePod(p.Id)
			b.removeCgroups("/" + b.cgroup + "/pod" + p.Metadata.Uid)
		}
	}
	b.removeCgroups("/" + b.cgroup)
}

// ppid is pid's parent from /proc/PID/stat; 0 when unknown.
func ppid(pid int) int {
	s, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	i := strings.LastIndexByte(string(s), ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(s[i+1:]))
	if len(f) < 2 {
		return 0
	}
	p, _ := strconv.Atoi(f[1])
	return p
}

// parked lists the shim's children other than the sandbox that are still
// a parked slrt-init (their exe the sealed memfd): the pod's shells.
func parked(shim, sandbox int) map[int]bool {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", shim))
	out := map[int]bool{}
	for _, task := range tasks {
		b, _ := os.ReadFile(task)
		for _, f := range strings.Fields(string(b)) {
			pid, _ := strconv.Atoi(f)
			if exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); pid != sandbox && strings.Contains(exe, "memfd:") {
				out[pid] = true
			}
		}
	}
	return out
}

// waitParked waits until the pod's pool holds want shells and returns them.
func waitParked(shim, sandbox, want int) (map[int]bool, error) {
	var got map[int]bool
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if got = parked(shim, sandbox); len(got) >= want {
			return got, nil
		}
	}
	return nil, fmt.Errorf("shim %d: %d parked shells after 20s, want %d (is %s passed to the shim: pod_annotations?)", shim, len(got), want, fastStartKey)
}
