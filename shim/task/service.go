// Package task is the containerd task service (API v3, and v2 under its
// own name) over the in-process engine: one method, one short function that
// validates, delegates to runtime/container, and publishes the event.
// Errors become containerd errdefs codes in one place (toStatus).
package task

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"os"
	"sync"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/slrt/slrt/runtime/container"
	rspec "github.com/slrt/slrt/runtime/spec"
	"github.com/slrt/slrt/shim/events"
	eventsapi "github.com/slrt/slrt/shim/internal/pb/events"
	taskapi "github.com/slrt/slrt/shim/internal/pb/runtime/task/v3"
	"github.com/slrt/slrt/shim/internal/pb/types"
	"github.com/slrt/slrt/shim/internal/pb/types/runc/options"
	tasktypes "github.com/slrt/slrt/shim/internal/pb/types/task"
	"github.com/slrt/slrt/shim/internal/pb/wkt"
)

// Service serves the containers of one pod (or one container) from one
// shim process.
type Service struct {
	root      string
	namespace string // containerd's, told to binary:// loggers
	pub       *events.Publisher
	shutdown  func()

	mu         sync.Mutex
	containers map[string]*ctr

	reaper reaper
	pools  pools // fast start, per pod (fastart.go)
}

// ctr is one container the shim runs.
type ctr struct {
	c      *container.Container
	bundle string
	rootfs string // bundle/rootfs when the shim mounted it
	init   *proc
	execs  map[string]*proc
	mounts []*types.Mount
	oom    *oomWatch // nil when the container has no memory cgroup
	place  placement // CPU hint applied at Start (fastart.go)

	// delMu makes concurrent Deletes of the init one: containerd may
	// send two (the sandbox exit monitor and a failed RunPodSandbox's
	// cleanup), and the second must get the first's answer, not NotFound:
	// containerd takes NotFound as a dead shim and ends it while the first
	// is still being answered. deleted is that answer.
	delMu   sync.Mutex
	deleted *taskapi.DeleteResponse
}

// New makes the service. root is the engine's state root; namespace is
// containerd's; pub may be nil; shutdown is called (once) when containerd
// asks the shim to go and no container is left.
func New(root, namespace string, pub *events.Publisher, shutdown func()) *Service {
	var once sync.Once
	return &Service{
		root: root, namespace: namespace, pub: pub, containers: map[string]*ctr{},
		shutdown: func() { once.Do(shutdown) },
		reaper:   reaper{tracked: map[int]bool{}},
	}
}

func (s *Service) get(id string) (*ctr, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.containers[id]
	if !ok || c == nil { // nil: still being created
		return nil, notFound("container", id)
	}
	return c, nil
}

// process finds the init (execID "") or an exec of container id.
func (s *Service) process(id, execID string) (*ctr, *proc, error) {
	c, err := s.get(id)
	if err != nil {
		return nil, nil, err
	}
	if execID == "" {
		return c, c.init, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := c.execs[execID]
	if !ok {
		return nil, nil, notFound("exec", execID)
	}
	return c, p, nil
}

// runtimeOptions reads the options Any: runc's options (the CRI sends them
// for runc-like runtimes) or the CRI's generic runtimeoptions, else error.
func runtimeOptions(a *wkt.Any) (*options.Options, error) {
	o := &options.Options{}
	if a == nil || len(a.GetTypeUrl()) == 0 {
		return o, nil
	}
	switch a.GetTypeUrl() {
	case "containerd.runc.v1.Options", "type.googleapis.com/containerd.runc.v1.Options":
		if err := (o).Unmarshal(a.GetValue()); err != nil {
			return nil, fmt.Errorf("decode runtime options: %v: %w", err, errInvalid)
		}
		return o, nil
	case "runtimeoptions.v1.Options", "type.googleapis.com/runtimeoptions.v1.Options":
		return o, nil // type_url/config_path: nothing for slrt to read
	}
	return nil, fmt.Errorf("unknown runtime options type %q: %w", a.GetTypeUrl(), errInvalid)
}

func (s *Service) Create(ctx context.Context, r *taskapi.CreateTaskRequest) (_ *taskapi.CreateTaskResponse, retErr error) {
	if r.Checkpoint != "" || r.ParentCheckpoint != "" {
		return nil, fmt.Errorf("restore from a checkpoint: %w", errNotImplemented)
	}
	o, err := runtimeOptions(r.Options)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(r.Bundle + "/config.json"); err != nil {
		return nil, fmt.Errorf("bundle %s: %v: %w", r.Bundle, err, errInvalid)
	}
	spec, err := fgacSpec(r.Bundle) // nil unless the spec asks for an FGAC profile
	if err != nil {
		return nil, err
	}
	if spec == nil {
		if spec, err = rspec.Load(r.Bundle); err != nil {
			return nil, fmt.Errorf("%w: %w", err, errInvalid)
		}
	}
	hints, place, err := applyHints(r.ID, spec)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if _, ok := s.containers[r.ID]; ok {
		s.mu.Unlock()
		return nil, fmt.Errorf("container %q: %w", r.ID, errAlreadyExists)
	}
	s.containers[r.ID] = nil // reserve the id while creating
	s.mu.Unlock()
	defer func() {
		if retErr != nil {
			s.mu.Lock()
			delete(s.containers, r.ID)
			s.mu.Unlock()
		}
	}()

	rootfs, err := mountRootfs(r.Bundle, r.Rootfs)
	if err != nil {
		return nil, err
	}
	defer func() {
		if retErr != nil {
			unmountRootfs(rootfs)
		}
	}()
	st := stdio{r.Stdin, r.Stdout, r.Stderr, r.Terminal}
	pio, err := s.openIO(st, r.ID)
	if err != nil {
		return nil, err
	}
	opts := container.CreateOpts{
		ID: r.ID, Bundle: r.Bundle, Spec: spec, NoPivot: o.NoPivotRoot, SystemdCgroup: o.SystemdCgroup,
		Stdin: pio.childIn, Stdout: pio.childOut, Stderr: pio.childErr,
	}
	if pio.consoleRemote != nil {
		opts.ConsoleFD = int(pio.consoleRemote.Fd())
	}
	opts.Shell = s.takeShell(r.ID, spec)
	if opts.Shell != nil {
		if err := shareRootfs(rootfs, opts.Shell.Pid()); err != nil {
			log.Printf("container %s: created without a fast-start shell: %v", r.ID, err)
			opts.Shell.Destroy()
			s.reaper.untrack(opts.Shell.Pid()) // Destroy reaped it
			opts.Shell = nil
		}
	}
	p := newProc(r.ID, "", st)
	p.settle = spec.Annotations[criContainerType] == "container"
	var c *container.Container
	err = s.reaper.spawn(func() (int, error) {
		var err error
		if c, err = container.Create(s.root, opts); err != nil {
			return 0, err
		}
		p.started(c.Init().Pid, pio)
		return c.Init().Pid, nil
	})
	if err != nil {
		if opts.Shell != nil {
			s.reaper.untrack(opts.Shell.Pid()) // Create reaped it
		}
		pio.close()
		return nil, schedRefused(hints, err)
	}
	if err := pio.afterSpawn(c.Init().Terminal); err != nil {
		s.reaper.engine(func() error { return c.Delete(true) })
		pio.close()
		return nil, err
	}
	if opts.Shell != nil {
		log.Printf("container %s: created from fast-start shell %d", r.ID, c.Init().Pid)
	}
	cc := &ctr{c: c, bundle: r.Bundle, rootfs: rootfs, init: p, execs: map[string]*proc{}, mounts: r.Rootfs,
		oom: watchOOM(r.ID, c, s.pub), place: place}
	s.mu.Lock()
	s.containers[r.ID] = cc
	s.mu.Unlock()
	s.pub.Publish(events.TopicCreate, &eventsapi.TaskCreate{
		ContainerID: r.ID, Bundle: r.Bundle, Rootfs: r.Rootfs, Pid: uint32(p.pid),
		IO: &eventsapi.TaskIO{Stdin: r.Stdin, Stdout: r.Stdout, Stderr: r.Stderr, Terminal: r.Terminal},
	})
	go s.watch(cc, p, c.Init().Wait)
	s.startPool(r.ID, spec, hints, c)
	return &taskapi.CreateTaskResponse{Pid: uint32(p.pid)}, nil
}

// watch waits for a process (the engine reaps it: exec.Cmd.Wait) and tells
// containerd, in the order it expects: when an init exits its execs are
// killed and their exits published first; OOM kills are published before
// the exit; Wait callers are woken only once the exit is published.
func (s *Service) watch(c *ctr, p *proc, wait func() container.ExitStatus) {
	st := wait()
	s.reaper.untrack(st.Pid)
	if p.execID == "" {
		s.closePool(p.containerID) // a sandbox's shells go with it
		s.killExecs(c)
	}
	if p.io != nil {
		p.io.wait()
	}
	c.oom.flush()
	p.order.Lock()
	p.settleAfterStart()
	p.setExited(st)
	if p.io != nil {
		p.io.close()
	}
	pid, code, at := p.exitInfo()
	s.pub.Publish(events.TopicExit, &eventsapi.TaskExit{
		ContainerID: p.containerID, ID: p.id(), Pid: pid, ExitStatus: code, ExitedAt: at,
	})
	p.order.Unlock()
	p.finish()
}

// killExecs kills the running execs of a container whose init exited and
// waits until their exits are published.
func (s *Service) killExecs(c *ctr) {
	s.mu.Lock()
	var execs []*proc
	for _, e := range c.execs {
		execs = append(execs, e)
	}
	s.mu.Unlock()
	for _, e := range execs {
		if e.running() {
			e.signal(unix.SIGKILL)
			if !e.waitDone(2 * time.Second) {
				log.Printf("container %s: exec %s did not exit 2s after SIGKILL", c.init.containerID, e.execID)
			}
		}
	}
}

func (s *Service) Start(ctx context.Context, r *taskapi.StartRequest) (*taskapi.StartResponse, error) {
	c, p, err := s.process(r.ID, r.ExecID)
	if err != nil {
		return nil, err
	}
	p.order.Lock()
	defer p.order.Unlock()
	if r.ExecID != "" {
		return s.startExec(c, p)
	}
	var sp *container.StartProcess
	if cpus, err := c.place.cpus(); err != nil {
		return nil, fmt.Errorf("container %s: %w", r.ID, err)
	} else if cpus != "" {
		sp = &container.StartProcess{CPUs: cpus}
	}
	if err := s.reaper.engine(func() error { return c.c.Start(sp) }); err != nil {
		return nil, err
	}
	s.pub.Publish(events.TopicStart, &eventsapi.TaskStart{ContainerID: r.ID, Pid: uint32(p.pid)})
	p.markStartReplied()
	s.fillPool(r.ID) // a sandbox's shells: spawned in the background, soon after this reply
	return &taskapi.StartResponse{Pid: uint32(p.pid)}, nil
}

func (s *Service) startExec(c *ctr, p *proc) (*taskapi.StartResponse, error) {
	p.mu.Lock()
	already := p.pid != 0 || p.exited
	p.mu.Unlock()
	if already {
		return nil, fmt.Errorf("exec %q already started: %w", p.execID, errPrecondition)
	}
	pio, err := s.openIO(p.stdio, p.containerID)
	if err != nil {
		return nil, err
	}
	opts := container.ExecOpts{Process: p.spec, Stdin: pio.childIn, Stdout: pio.childOut, Stderr: pio.childErr}
	if pio.consoleRemote != nil {
		opts.ConsoleFD = int(pio.consoleRemote.Fd())
	}
	var ep *container.Process
	err = s.reaper.spawn(func() (int, error) {
		var err error
		if ep, err = c.c.Exec(opts); err != nil {
			return 0, err
		}
		p.started(ep.Pid, pio)
		return ep.Pid, nil
	})
	if err != nil {
		pio.close()
		// It never ran: Wait returns now, with containerd's unknown exit
		// status, as the runc shim's does. containerd 1.6 deletes an exec
		// whose start failed by kill-and-wait, which would otherwise hang
		// (ExecSync then times out instead of failing).
		p.setExited(container.ExitStatus{Code: 255, At: time.Now()})
		p.finish()
		return nil, err
	}
	if err := pio.afterSpawn(ep.Terminal); err != nil {
		log.Printf("exec %s: terminal: %v", p.execID, err)
	}
	go s.watch(c, p, ep.Wait)
	s.pub.Publish(events.TopicExecStarted, &eventsapi.TaskExecStarted{ContainerID: p.containerID, ExecID: p.execID, Pid: uint32(ep.Pid)})
	return &taskapi.StartResponse{Pid: uint32(ep.Pid)}, nil
}

func (s *Service) Delete(ctx context.Context, r *taskapi.DeleteRequest) (*taskapi.DeleteResponse, error) {
	c, p, err := s.process(r.ID, r.ExecID)
	if err != nil {
		return nil, err
	}
	if r.ExecID != "" {
		if p.running() {
			return nil, fmt.Errorf("exec %q is running: %w", r.ExecID, errPrecondition)
		}
		s.mu.Lock()
		delete(c.execs, r.ExecID)
		s.mu.Unlock()
		pid, code, at := p.exitInfo()
		return &taskapi.DeleteResponse{Pid: pid, ExitStatus: code, ExitedAt: at}, nil
	}
	c.delMu.Lock()
	defer c.delMu.Unlock()
	if c.deleted != nil {
		return c.deleted, nil
	}
	if err := s.reaper.engine(func() error { return c.c.Delete(false) }); err != nil {
		return nil, err
	}
	s.closePool(r.ID)
	c.oom.stop()
	if !p.waitDone(10 * time.Second) {
		log.Printf("container %s: init exit not seen 10s after delete", r.ID)
	}
	if err := unmountRootfs(c.rootfs); err != nil {
		log.Printf("container %s: %v", r.ID, err)
	}
	s.mu.Lock()
	delete(s.containers, r.ID)
	s.mu.Unlock()
	pid, code, at := p.exitInfo()
	s.pub.Publish(events.TopicDelete, &eventsapi.TaskDelete{ContainerID: r.ID, ID: r.ID, Pid: pid, ExitStatus: code, ExitedAt: at})
	c.deleted = &taskapi.DeleteResponse{Pid: pid, ExitStatus: code, ExitedAt: at}
	return c.deleted, nil
}

func (s *Service) State(ctx context.Context, r *taskapi.StateRequest) (*taskapi.StateResponse, error) {
	c, p, err := s.process(r.ID, r.ExecID)
	if err != nil {
		return nil, err
	}
	pid, code, at := p.exitInfo()
	return &taskapi.StateResponse{
		ID: p.id(), ExecID: r.ExecID, Bundle: c.bundle, Pid: pid, Status: p.status(c.c),
		Stdin: p.stdio.stdin, Stdout: p.stdio.stdout, Stderr: p.stdio.stderr, Terminal: p.stdio.terminal,
		ExitStatus: code, ExitedAt: at,
	}, nil
}

func (s *Service) Kill(ctx context.Context, r *taskapi.KillRequest) (*wkt.Empty, error) {
	c, p, err := s.process(r.ID, r.ExecID)
	if err != nil {
		return nil, err
	}
	sig := unix.Signal(r.Signal)
	if r.ExecID != "" {
		return &wkt.Empty{}, p.signal(sig)
	}
	if !r.All && !p.running() {
		return nil, fmt.Errorf("container %q: process already finished: %w", r.ID, errNotFound)
	}
	if err := c.c.Kill(sig, r.All); err != nil {
		if !r.All && errors.Is(err, container.ErrNotRunning) {
			// The init is gone and watch has not recorded it yet: the
			// answer it gets once it has (containerd's CRI ignores
			// NotFound when it stops a container that ended by itself).
			return nil, fmt.Errorf("container %q: process already finished: %w", r.ID, errNotFound)
		}
		return nil, err
	}
	return &wkt.Empty{}, nil
}

func (s *Service) Wait(ctx context.Context, r *taskapi.WaitRequest) (*taskapi.WaitResponse, error) {
	_, p, err := s.process(r.ID, r.ExecID)
	if err != nil {
		return nil, err
	}
	select {
	case <-p.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	_, code, at := p.exitInfo()
	return &taskapi.WaitResponse{ExitStatus: code, ExitedAt: at}, nil
}

func (s *Service) Pids(ctx context.Context, r *taskapi.PidsRequest) (*taskapi.PidsResponse, error) {
	c, err := s.get(r.ID)
	if err != nil {
		return nil, err
	}
	pids, err := c.c.Pids()
	if err != nil {
		return nil, err
	}
	execOf := map[int]string{}
	s.mu.Lock()
	for id, e := range c.execs {
		pid, _, _ := e.exitInfo()
		execOf[int(pid)] = id
	}
	s.mu.Unlock()
	out := &taskapi.PidsResponse{}
	for _, pid := range pids {
		info := &tasktypes.ProcessInfo{Pid: uint32(pid)}
		if id, ok := execOf[pid]; ok {
			b, _ := (&options.ProcessDetails{ExecID: id}).Marshal()
			info.Info = &wkt.Any{TypeUrl: "containerd.runc.v1.ProcessDetails", Value: b}
		}
		out.Processes = append(out.Processes, info)
	}
	return out, nil
}

func (s *Service) Exec(ctx context.Context, r *taskapi.ExecProcessRequest) (*wkt.Empty, error) {
	c, err := s.get(r.ID)
	if err != nil {
		return nil, err
	}
	if r.ExecID == "" {
		return nil, fmt.Errorf("exec id must not be empty: %w", errInvalid)
	}
	var spec specs.Process
	if r.Spec == nil || json.Unmarshal(r.Spec.Value, &spec) != nil {
		return nil, fmt.Errorf("exec %q: spec is not a runtime-spec process: %w", r.ExecID, errInvalid)
	}
	p := newProc(r.ID, r.ExecID, stdio{r.Stdin, r.Stdout, r.Stderr, r.Terminal})
	p.spec = &spec
	s.mu.Lock()
	if _, ok := c.execs[r.ExecID]; ok {
		s.mu.Unlock()
		return nil, fmt.Errorf("exec %q: %w", r.ExecID, errAlreadyExists)
	}
	c.execs[r.ExecID] = p
	s.mu.Unlock()
	s.pub.Publish(events.TopicExecAdded, &eventsapi.TaskExecAdded{ContainerID: r.ID, ExecID: r.ExecID})
	return &wkt.Empty{}, nil
}

func (s *Service) ResizePty(ctx context.Context, r *taskapi.ResizePtyRequest) (*wkt.Empty, error) {
	_, p, err := s.process(r.ID, r.ExecID)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	pio, exited := p.io, p.exited
	p.mu.Unlock()
	if exited {
		// The terminal went with the process: nothing to resize. ctr 1.6
		// resizes right after start and logged an error when a short
		// process had already gone; runc's shim answers success too.
		return &wkt.Empty{}, nil
	}
	if pio == nil {
		return nil, fmt.Errorf("process %q has not started: %w", p.id(), errPrecondition)
	}
	return &wkt.Empty{}, pio.resize(r.Width, r.Height)
}

func (s *Service) CloseIO(ctx context.Context, r *taskapi.CloseIORequest) (*wkt.Empty, error) {
	_, p, err := s.process(r.ID, r.ExecID)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	pio := p.io
	p.mu.Unlock()
	if pio != nil && r.Stdin {
		pio.closeStdin()
	}
	return &wkt.Empty{}, nil
}

func (s *Service) Pause(ctx context.Context, r *taskapi.PauseRequest) (*wkt.Empty, error) {
	c, err := s.get(r.ID)
	if err != nil {
		return nil, err
	}
	if err := c.c.Pause(); err != nil {
		return nil, err
	}
	s.pub.Publish(events.TopicPaused, &eventsapi.TaskPaused{ContainerID: r.ID})
	return &wkt.Empty{}, nil
}

func (s *Service) Resume(ctx context.Context, r *taskapi.ResumeRequest) (*wkt.Empty, error) {
	c, err := s.get(r.ID)
	if err != nil {
		return nil, err
	}
	if err := c.c.Resume(); err != nil {
		return nil, err
	}
	s.pub.Publish(events.TopicResumed, &eventsapi.TaskResumed{ContainerID: r.ID})
	return &wkt.Empty{}, nil
}

func (s *Service) Checkpoint(ctx context.Context, r *taskapi.CheckpointTaskRequest) (*wkt.Empty, error) {
	return nil, fmt.Errorf("checkpoint of %q: slrt does not checkpoint containers (no CRIU support): %w", r.ID, errNotImplemented)
}

func (s *Service) Update(ctx context.Context, r *taskapi.UpdateTaskRequest) (*wkt.Empty, error) {
	c, err := s.get(r.ID)
	if err != nil {
		return nil, err
	}
	var res specs.LinuxResources
	if r.Resources == nil || json.Unmarshal(r.Resources.Value, &res) != nil {
		return nil, fmt.Errorf("update %q: resources are not runtime-spec LinuxResources: %w", r.ID, errInvalid)
	}
	return &wkt.Empty{}, c.c.Update(&res)
}

func (s *Service) Stats(ctx context.Context, r *taskapi.StatsRequest) (*taskapi.StatsResponse, error) {
	c, err := s.get(r.ID)
	if err != nil {
		return nil, err
	}
	st, err := c.c.Stats()
	if err != nil {
		return nil, err
	}
	a, err := metricsAny(st)
	if err != nil {
		return nil, err
	}
	return &taskapi.StatsResponse{Stats: a}, nil
}

func (s *Service) Connect(ctx context.Context, r *taskapi.ConnectRequest) (*taskapi.ConnectResponse, error) {
	c, err := s.get(r.ID)
	if err != nil {
		return nil, err
	}
	pid, _, _ := c.init.exitInfo()
	return &taskapi.ConnectResponse{ShimPid: uint32(os.Getpid()), TaskPid: pid}, nil
}

// Shutdown ends the shim once the pod's last container is deleted; while
// any is left (other containers of the pod) it is a no-op.
func (s *Service) Shutdown(ctx context.Context, r *taskapi.ShutdownRequest) (*wkt.Empty, error) {
	s.mu.Lock()
	n := len(s.containers)
	s.mu.Unlock()
	if n == 0 || r.Now {
		s.closePools()
		s.shutdown()
	}
	return &wkt.Empty{}, nil
}

// Containers is how many containers the shim runs (the daemon's idle exit).
func (s *Service) Containers() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.containers)
}
