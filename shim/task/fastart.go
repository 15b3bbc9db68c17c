package task

import (
	"fmt"
	"log"
	"path/filepath"
	"strings"
	"sync"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/slrt/slrt/fastart"
	"github.com/slrt/slrt/runtime/annotations"
	"github.com/slrt/slrt/runtime/container"
	"github.com/slrt/slrt/runtime/namespaces"
)

// Fast start and CPU placement from the pod's slrt.io/ annotations:
//
//   - a sandbox created with slrt.io/fast-start: "N" gets a pool of N
//     shells joined to its net, ipc and uts namespaces, filled shortly
//     after the sandbox's Start (spawning during it made RunPodSandbox
//     11-18 ms slower); the pod's app containers are made from them when
//     they fit (the log says which, and why not); one that comes while the
//     first shell is being spawned waits for it (poolSpawnWait);
//     the pool is closed when the sandbox's init exits or it is deleted,
//     and at Shutdown, so no shell outlives the pod;
//   - slrt.io/sched becomes process.scheduler unless the spec has one;
//   - slrt.io/cpu-affinity is applied by the parked init before execve,
//     within linux.resources.cpu.cpus; process.execCPUAffinity.final,
//     when the spec has it, wins over the hint.

// CRI's annotations telling a pod's sandbox from its containers.
const (
	criContainerType = "io.kubernetes.cri.container-type"
	criSandboxID     = "io.kubernetes.cri.sandbox-id"
	criSandbox       = "sandbox"
)

// pools holds the fast-start pools of the pods this shim serves, by
// sandbox id (the io.kubernetes.cri.sandbox-id its containers carry).
type pools struct {
	mu sync.Mutex
	m  map[string]*podPool
}

type podPool struct {
	*fastart.Pool
	sandbox string // the sandbox container's id: the pool goes with it
}

// podOf is the pod a container belongs to: CRI's sandbox id, or its own
// id for a sandbox without one.
func podOf(id string, s *specs.Spec) string {
	if pod := s.Annotations[criSandboxID]; pod != "" {
		return pod
	}
	return id
}

// placement is what a container's Start applies: a CPU hint resolved
// against the cpuset at start ("auto" is measured then).
type placement struct {
	hint    string // "", "auto" or a CPU list
	allowed string // linux.resources.cpu.cpus
	// load is /proc/stat at create, for "auto": the load is measured
	// over the time up to start, so the start seldom waits.
	load *fastart.LoadSample
}

// applyHints parses the container's hints, puts the scheduler into the
// spec and returns the start-time placement. A malformed annotation, or a
// CPU list outside the container's cpuset, fails the create.
func applyHints(id string, s *specs.Spec) (annotations.Hints, placement, error) {
	h, err := annotations.Parse(s.Annotations)
	if err != nil {
		return h, placement{}, fmt.Errorf("container %s: %v: %w", id, err, errInvalid)
	}
	if s.Annotations[criContainerType] == criSandbox || s.Process == nil {
		return h, placement{}, nil // the pause process needs no placement
	}
	if h.Sched != nil {
		if s.Process.Scheduler != nil {
			log.Printf("container %s: %s ignored: the spec has process.scheduler", id, annotations.Sched)
		} else {
			s.Process.Scheduler = h.Sched
		}
	}
	var pl placement
	if h.CPUAffinity == "" {
		return h, pl, nil
	}
	if a := s.Process.ExecCPUAffinity; a != nil && a.Final != "" {
		log.Printf("container %s: %s ignored: the spec has process.execCPUAffinity.final %q", id, annotations.CPUAffinity, a.Final)
		return h, pl, nil
	}
	pl.hint = h.CPUAffinity
	if r := s.Linux.Resources; r != nil && r.CPU != nil {
		pl.allowed = r.CPU.Cpus
	}
	if pl.hint == "auto" {
		if pl.load, err = fastart.SampleLoad(); err != nil {
			return h, pl, err
		}
		return h, pl, nil
	}
	if _, err := fastart.Affinity(pl.hint, pl.allowed, nil); err != nil {
		return h, pl, fmt.Errorf("container %s: annotation %s: %v: %w", id, annotations.CPUAffinity, err, errInvalid)
	}
	return h, pl, nil
}

// schedRefused tells a node that forbids the slrt.io/sched policy
// (FailedPrecondition, naming the annotation) from other create errors.
func schedRefused(h annotations.Hints, err error) error {
	if h.Sched == nil || !strings.Contains(err.Error(), "sched_setattr") {
		return err
	}
	return fmt.Errorf("annotation %s (%s priority %d): the node does not allow it: %v: %w", annotations.Sched, h.Sched.Policy, h.Sched.Priority, err, errPrecondition)
}

// cpus resolves the placement at start; "" leaves the spec's affinity.
func (p placement) cpus() (string, error) {
	if p.hint == "" {
		return "", nil
	}
	cpus, err := fastart.Affinity(p.hint, p.allowed, p.load)
	if err != nil {
		return "", fmt.Errorf("annotation %s: %w", annotations.CPUAffinity, err)
	}
	return cpus, nil
}

// startPool starts the pod's pool once its sandbox exists: the shells
// join the sandbox's namespaces through its init, as CRI's containers do,
// and wait in the pod's cgroup (the sandbox's parent), where its
// containers' cgroups are made: on cgroup v1 a shell's cgroup is renamed
// into its container's.
func (s *Service) startPool(id string, sp *specs.Spec, h annotations.Hints, sandbox *container.Container) {
	if h.FastStart == 0 || sp.Annotations[criContainerType] != criSandbox {
		return
	}
	cfg, err := shellConfig(sp, sandbox.Init().Pid)
	if err != nil {
		log.Printf("pod %s: no fast start: %v", id, err)
		return
	}
	if st, err := sandbox.State(); err == nil && filepath.IsAbs(st.CgroupPath) && !strings.Contains(st.CgroupPath, ";") {
		cfg.CgroupParent = filepath.Dir(st.CgroupPath)
	}
	p, err := fastart.New(fastart.Config{
		Size:      h.FastStart,
		Shell:     cfg,
		Spawn:     s.reaper.spawn,
		Gone:      s.reaper.untrack,
		Logf:      func(f string, a ...any) { log.Printf("pod "+id+": "+f, a...) },
		Deferred:  true, // fillPool, at the sandbox's Start
		SpawnWait: poolSpawnWait,
	})
	if err != nil {
		log.Printf("pod %s: no fast start: %v", id, err)
		return
	}
	pod := podOf(id, sp)
	s.pools.mu.Lock()
	if s.pools.m == nil {
		s.pools.m = map[string]*podPool{}
	}
	old := s.pools.m[pod]
	s.pools.m[pod] = &podPool{Pool: p, sandbox: id}
	s.pools.mu.Unlock()
	if old != nil {
		old.Close()
	}
	log.Printf("pod %s: fast start with %d shells", id, h.FastStart)
}

// poolSpawnWait bounds how long a container's Create waits for the shell
// its pod's pool is spawning when none is parked yet. Waiting is cheaper
// than the normal path even when the spawn has only begun (bench/fastart:
// 5.1 against 7.3 ms at p50); a spawn that takes longer than this is held
// up by load, and the normal path goes on without it.
const poolSpawnWait = 25 * time.Millisecond

// poolFillDelay is how long after the sandbox's Start its pool begins
// to fill. Spawning right at the end of Start still slowed RunPodSandbox
// (containerd finishes it after our reply) by ~4 ms at p50 (bench/cri,
// 30 rounds: 1.14x a pod without fast start; with this delay 1.00x). The
// pod's first container cannot come sooner in practice: containerd's CRI
// makes its task only in StartContainer, after its own CreateContainer
// (7-10 ms here), and one that does goes the normal way.
const poolFillDelay = 15 * time.Millisecond

// fillPool starts filling the pool of the sandbox id soon after its Start
// (poolFillDelay); a no-op for other containers and for later Starts.
func (s *Service) fillPool(id string) {
	s.pools.mu.Lock()
	var p *podPool
	for _, pp := range s.pools.m {
		if pp.sandbox == id {
			p = pp
		}
	}
	s.pools.mu.Unlock()
	if p != nil {
		time.AfterFunc(poolFillDelay, p.Fill)
	}
}

// shellConfig is the shells' config for a pod: the sandbox's net, ipc and
// uts namespaces joined, new pid and mount namespaces (CRI's containers;
// a pod sharing its pid namespace gets no shell, and the log says why).
func shellConfig(sp *specs.Spec, pid int) (container.ShellConfig, error) {
	ns, err := namespaces.Parse(sp.Linux.Namespaces)
	if err != nil {
		return container.ShellConfig{}, err
	}
	cfg := container.ShellConfig{Namespaces: []specs.LinuxNamespace{{Type: specs.MountNamespace}, {Type: specs.PIDNamespace}}}
	// A pod with hostUsers: false has a user namespace its containers
	// join (containerd 2.x): the shells join it too, so a container's
	// spec naming it fits them.
	for _, k := range []specs.LinuxNamespaceType{specs.UserNamespace, specs.NetworkNamespace, specs.IPCNamespace, specs.UTSNamespace} {
		if ns.Has(k) {
			cfg.Namespaces = append(cfg.Namespaces, specs.LinuxNamespace{Type: k, Path: namespaces.ProcPath(pid, k)})
		}
	}
	return cfg, nil
}

// takeShell returns a shell for an app container of a pod with a pool, or
// nil (and logs why) when it gets none.
func (s *Service) takeShell(id string, sp *specs.Spec) *container.Shell {
	if sp.Annotations[criContainerType] == criSandbox {
		return nil
	}
	pod := sp.Annotations[criSandboxID]
	s.pools.mu.Lock()
	p := s.pools.m[pod]
	s.pools.mu.Unlock()
	if pod == "" {
		p = nil
	}
	if p == nil {
		return nil
	}
	sh, err := p.Take(sp)
	if err != nil {
		log.Printf("container %s: created without a fast-start shell: %v", id, err)
		return nil
	}
	return sh
}

// closePool ends the pod's pool when its sandbox goes (exit or delete);
// a no-op for other containers.
func (s *Service) closePool(id string) {
	var gone []*podPool
	s.pools.mu.Lock()
	for pod, p := range s.pools.m {
		if p.sandbox == id {
			gone = append(gone, p)
			delete(s.pools.m, pod)
		}
	}
	s.pools.mu.Unlock()
	for _, p := range gone {
		p.Close()
	}
}

// closePools ends every pool (Shutdown).
func (s *Service) closePools() {
	s.pools.mu.Lock()
	m := s.pools.m
	s.pools.m = nil
	s.pools.mu.Unlock()
	for _, p := range m {
		p.Close()
	}
}
