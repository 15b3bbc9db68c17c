// Package fastart keeps containers' inits ready ahead of need: a Pool of
// parked shells (container.Shell) for one pod, refilled in the background
// after each use, so a container created (or re-created after a crash)
// starts from an init that has already been spawned into its namespaces.
// It also picks CPUs for the start-time affinity hint (cpu.go).
//
// It depends on runtime/ only; the shim owns one Pool per pod and closes
// it with the pod.
package fastart

import (
	"errors"
	"fmt"
	"sync"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/slrt/slrt/runtime/annotations"
	"github.com/slrt/slrt/runtime/container"
)

// MaxShells bounds a pool (the slrt.io/fast-start annotation's bound).
const MaxShells = annotations.MaxFastStart

// ErrClosed is returned by Take after Close.
var ErrClosed = errors.New("fast-start pool is closed")

// Config is one pool's.
type Config struct {
	// Size is how many shells the pool keeps parked, 1..MaxShells.
	Size int
	// Shell is what each shell is spawned with (container.ShellConfigFor
	// the pod's containers).
	Shell container.ShellConfig
	// Spawn, when set, wraps each spawn of a shell: it runs f (which
	// returns the new init's pid) and must return its error. A caller
	// that reaps orphans itself (the shim) records the pid there, so it
	// leaves the init to the engine.
	Spawn func(f func() (int, error)) error
	// Gone, when set, is told the pid of each shell the pool destroyed.
	Gone func(pid int)
	// Logf receives what the pool does not fail on (a spawn that failed,
	// a dead shell dropped).
	Logf func(format string, args ...any)
	// RefillDelay is how long a refill waits after a Take (default
	// DefaultRefillDelay): spawning a shell takes a few ms of CPU that
	// would otherwise compete with the container that just took one, on
	// devices with 2-4 cores. Negative: no delay.
	RefillDelay time.Duration
	// Deferred: the first fill waits for Fill, so New can be called where
	// spawning would slow a request (the shim makes the pool in the
	// sandbox's Create and fills it once the sandbox's Start is done).
	Deferred bool
	// SpawnWait bounds how long Take waits for a shell being spawned when
	// none is parked (a container created right after its pod, while the
	// first fill is under way); 0: Take never waits. A spawn takes ~4 ms
	// of the ~8 ms a normal create costs, and the create from a shell
	// about half of it (bench/fastart, "first shell" rows).
	SpawnWait time.Duration
}

// DefaultRefillDelay lets the container that took a shell get through its
// create and start first (CRI calls them back to back); a crash-looping
// container is restarted after at least 10 s.
const DefaultRefillDelay = 200 * time.Millisecond

// Pool keeps up to Size shells parked.
type Pool struct {
	cfg  Config
	wake chan struct{}
	done chan struct{}
	exit chan struct{}

	mu     sync.Mutex
	shells []*container.Shell
	closed bool
	// landed is closed when the spawn under way ends (a shell parked, or
	// the spawn failed); nil when none is.
	landed chan struct{}
}

// backoff bounds how fast a failing spawn is retried.
const (
	minBackoff = 50 * time.Millisecond
	maxBackoff = 5 * time.Second
)

// New starts a pool and its refill; the first shells are spawned in the
// background (after Fill when cfg.Deferred), so New itself costs nothing
// noticeable.
func New(cfg Config) (*Pool, error) {
	if cfg.Size < 1 || cfg.Size > MaxShells {
		return nil, fmt.Errorf("fast-start pool size %d: must be 1 to %d", cfg.Size, MaxShells)
	}
	if cfg.Spawn == nil {
		cfg.Spawn = func(f func() (int, error)) error { _, err := f(); return err }
	}
	if cfg.Gone == nil {
		cfg.Gone = func(int) {}
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	if cfg.RefillDelay == 0 {
		cfg.RefillDelay = DefaultRefillDelay
	}
	p := &Pool{cfg: cfg, wake: make(chan struct{}, 1), done: make(chan struct{}), exit: make(chan struct{})}
	go p.refill()
	if !cfg.Deferred {
		p.Fill()
	}
	return p, nil
}

// Fill starts the first fill of a Deferred pool; after that (and for
// other pools) it does nothing the refill would not do anyway. From here
// on a Take finds a spawn under way, though the refill may not have begun
// it yet.
func (p *Pool) Fill() {
	p.mu.Lock()
	p.spawning()
	p.mu.Unlock()
	p.kick()
}

// spawning marks a spawn under way, unless one is, or none is needed.
// Called with mu held.
func (p *Pool) spawning() {
	if p.landed == nil && !p.closed && len(p.shells) < p.cfg.Size {
		p.landed = make(chan struct{})
	}
}

func (p *Pool) kick() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Ready is how many shells are parked now.
func (p *Pool) Ready() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.shells)
}

// Take hands out a parked shell that fits spec, for container.Create's
// Shell, and starts a refill. When there is none it returns why (empty
// pool, or what in the spec differs from the pool's shells); the caller
// then creates the container the normal way. Shells that died while
// parked are dropped.
func (p *Pool) Take(spec *specs.Spec) (*container.Shell, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, ErrClosed
	}
	var dead []*container.Shell
	for len(p.shells) > 0 && !p.shells[0].Alive() {
		dead = append(dead, p.shells[0])
		p.shells = p.shells[1:]
	}
	if len(p.shells) == 0 && p.landed != nil && p.cfg.SpawnWait > 0 {
		// A shell is on its way: waiting for it is cheaper than a
		// normal create (SpawnWait). The lock is dropped meanwhile;
		// what the pool holds afterwards is looked at afresh.
		landed := p.landed
		p.mu.Unlock()
		select {
		case <-landed:
		case <-time.After(p.cfg.SpawnWait):
		}
		p.mu.Lock()
	}
	var sh *container.Shell
	var err error
	if p.closed { // while Take waited: the dead shells are destroyed still
		err = ErrClosed
	} else if len(p.shells) == 0 {
		err = errors.New("no parked shell (the pool is refilling)")
	} else if err = p.shells[0].Fits(spec); err == nil {
		sh = p.shells[0]
		p.shells = p.shells[1:]
	}
	p.mu.Unlock()
	for _, d := range dead {
		p.cfg.Logf("fast-start: dropping shell %d, whose init exited while parked", d.Pid())
		p.destroy(d)
	}
	if sh != nil || len(dead) > 0 {
		p.kick()
	}
	return sh, err
}

func (p *Pool) destroy(sh *container.Shell) {
	sh.Destroy()
	p.cfg.Gone(sh.Pid())
}

// refill spawns shells until the pool is full, whenever woken.
func (p *Pool) refill() {
	defer close(p.exit)
	backoff := minBackoff
	first := true
	for {
		select {
		case <-p.done:
			return
		case <-p.wake:
		}
		if !first && p.cfg.RefillDelay > 0 {
			select {
			case <-p.done:
				return
			case <-time.After(p.cfg.RefillDelay):
			}
		}
		first = false
		for {
			p.mu.Lock()
			need := !p.closed && len(p.shells) < p.cfg.Size
			p.spawning()
			p.mu.Unlock()
			if !need {
				break
			}
			var sh *container.Shell
			err := p.cfg.Spawn(func() (int, error) {
				var err error
				if sh, err = container.NewShell(p.cfg.Shell); err != nil {
					return 0, err
				}
				return sh.Pid(), nil
			})
			if err != nil {
				p.land(nil)
				p.cfg.Logf("fast-start: spawn a shell: %v (retrying in %s)", err, backoff)
				select {
				case <-p.done:
					return
				case <-time.After(backoff):
				}
				backoff = min(2*backoff, maxBackoff)
				continue
			}
			backoff = minBackoff
			if !p.land(sh) {
				p.destroy(sh)
				return
			}
		}
	}
}

// land ends the spawn under way: sh (nil when it failed) is parked unless
// the pool was closed meanwhile (then it returns false, and the caller
// destroys sh), and Takes waiting for it are woken.
func (p *Pool) land(sh *container.Shell) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.landed != nil {
		close(p.landed)
		p.landed = nil
	}
	if p.closed {
		return false
	}
	if sh != nil {
		p.shells = append(p.shells, sh)
	}
	return true
}

// Close stops the refill and destroys every parked shell: none outlives
// the pod. It waits for a spawn under way, so nothing is left when it
// returns. Shells already taken belong to their containers.
func (p *Pool) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		<-p.exit
		return
	}
	p.closed = true
	shells := p.shells
	p.shells = nil
	if p.landed != nil { // wake the Takes waiting: they get ErrClosed
		close(p.landed)
		p.landed = nil
	}
	p.mu.Unlock()
	close(p.done)
	<-p.exit
	for _, sh := range shells {
		p.destroy(sh)
	}
}
