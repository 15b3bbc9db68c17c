// Package agent is the FGAC seccomp agent: it receives the notify fds of
// containers (the runtime-spec listener protocol: one
// ContainerProcessState with the fd, on a unix socket) and performs the
// notified syscalls its policy allows on the containers' behalf; everything
// else fails with EPERM.
//
// Safety (DESIGN.md decision 6, seccomp_unotify(2)): /proc/PID is opened,
// then ID_VALID checked, so everything read later is the caller's and not a
// reused pid's; pointer arguments are copied once and the decision and the
// action both use the copy; ID_VALID is checked again right before acting;
// paths resolve inside the caller's root without symlinks (openat2
// RESOLVE_IN_ROOT on /proc/PID/root); mounts attach in the caller's mount
// namespace from a thrown-away thread after unshare(CLONE_FS), with the
// caller's filesystem credentials; FLAG_CONTINUE is answered only for
// decisions on register arguments (mknod of a FIFO).
package agent

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"

	"github.com/slrt/slrt/fgac/policy"
)

// errGone: the caller died or was interrupted before the agent acted.
var errGone = errors.New("caller gone (notification no longer valid)")

// Agent serves one policy on one socket.
type Agent struct {
	// Logf logs decisions and errors (nil: nothing).
	Logf func(format string, args ...any)

	policyPath string
	policy     atomic.Pointer[policy.Policy]
	stopping   chan struct{}
	stopOnce   sync.Once
	wg         sync.WaitGroup

	mu     sync.Mutex
	conns  map[*conn]struct{}
	mounts map[uint64]*mountSet // by mount namespace inode
}

// mountSet are the mounts the agent made in one mount namespace (unique
// mount ids), kept while a process of it is connected.
type mountSet struct {
	users int
	ids   map[uint64]string
}

// New loads the policy at path: an agent never starts without a valid one.
func New(policyPath string) (*Agent, error) {
	p, err := policy.Load(policyPath)
	if err != nil {
		return nil, err
	}
	a := &Agent{policyPath: policyPath, stopping: make(chan struct{}),
		conns: map[*conn]struct{}{}, mounts: map[uint64]*mountSet{}}
	a.policy.Store(p)
	return a, nil
}

// Reload reads the policy file again. A bad file leaves the current
// policy in force; the error says why.
func (a *Agent) Reload() error {
	p, err := policy.Load(a.policyPath)
	if err != nil {
		a.logf("reload: keeping the current policy: %v", err)
		return err
	}
	a.policy.Store(p)
	a.logf("reload: policy %s loaded (%d profiles)", a.policyPath, len(p.Profiles))
	return nil
}

// Policy is the policy in force.
func (a *Agent) Policy() *policy.Policy { return a.policy.Load() }

func (a *Agent) logf(format string, args ...any) {
	if a.Logf != nil {
		a.Logf(format, args...)
	}
}

// Listen makes the agent's socket at path, usable by root only (anyone
// who can connect can hand the agent a notify fd), replacing a stale one.
func Listen(path string) (*net.UnixListener, error) {
	if st, err := os.Lstat(path); err == nil && st.Mode()&os.ModeSocket != 0 {
		os.Remove(path)
	}
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("fgac: listen on %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, fmt.Errorf("fgac: chmod %s: %w", path, err)
	}
	return l, nil
}

// Serve accepts containers on l until Shutdown, one goroutine per
// connection (a container's init, or a process exec'd into it). It
// returns after Shutdown, once every connection is done.
func (a *Agent) Serve(l *net.UnixListener) error {
	go func() {
		<-a.stopping
		l.Close()
	}()
	for {
		uc, err := l.AcceptUnix()
		if err != nil {
			select {
			case <-a.stopping:
				a.wg.Wait()
				return nil
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			a.wg.Wait()
			return fmt.Errorf("fgac: accept: %w", err)
		}
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			a.serveConn(uc)
		}()
	}
}

// Shutdown stops accepting, answers every pending notification with EPERM
// and closes the notify fds (later notified syscalls then fail with ENOSYS
// in the kernel: no container is left blocked). Serve returns when done.
func (a *Agent) Shutdown() {
	a.stopOnce.Do(func() {
		close(a.stopping)
		a.mu.Lock()
		for c := range a.conns {
			c.wake()
		}
		a.mu.Unlock()
	})
}

func (a *Agent) addConn(c *conn) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	select {
	case <-a.stopping:
		return false
	default:
	}
	a.conns[c] = struct{}{}
	if c.mntns != 0 {
		ms := a.mounts[c.mntns]
		if ms == nil {
			ms = &mountSet{ids: map[uint64]string{}}
			a.mounts[c.mntns] = ms
		}
		ms.users++
	}
	return true
}

func (a *Agent) removeConn(c *conn) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.conns, c)
	if ms := a.mounts[c.mntns]; ms != nil {
		if ms.users--; ms.users <= 0 {
			delete(a.mounts, c.mntns)
		}
	}
}

func (a *Agent) recordMount(mntns, id uint64, target string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if ms := a.mounts[mntns]; ms != nil {
		ms.ids[id] = target
	}
}

func (a *Agent) isMine(mntns, id uint64) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	ms := a.mounts[mntns]
	return ms != nil && ms.ids[id] != ""
}

func (a *Agent) forgetMount(mntns, id uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if ms := a.mounts[mntns]; ms != nil {
		delete(ms.ids, id)
	}
}
