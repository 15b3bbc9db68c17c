package fastart_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/slrt/slrt/fastart"
	"github.com/slrt/slrt/internal/testutil"
	"github.com/slrt/slrt/runtime/container"
)

func waitReady(t *testing.T, p *fastart.Pool, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for p.Ready() != n {
		if time.Now().After(deadline) {
			t.Fatalf("pool has %d shells ready, want %d", p.Ready(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestPool: a pool fills to its size, hands out a shell that becomes a
// running container, refills, drops a shell that died, refuses a spec that
// does not fit (keeping its shells), and destroys everything on Close.
func TestPool(t *testing.T) {
	testutil.RequireRoot(t)
	root := testutil.StateRoot(t)
	testutil.Leaks(t, root)
	spec := testutil.DefaultSpec("true")
	var mu sync.Mutex
	spawned, gone := map[int]bool{}, map[int]bool{}
	p, err := fastart.New(fastart.Config{
		Size:  2,
		Shell: container.ShellConfigFor(spec),
		Spawn: func(f func() (int, error)) error {
			pid, err := f()
			if err == nil {
				mu.Lock()
				spawned[pid] = true
				mu.Unlock()
			}
			return err
		},
		Gone: func(pid int) { mu.Lock(); gone[pid] = true; mu.Unlock() },
		Logf: t.Logf,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	waitReady(t, p, 2)

	b := testutil.Bundle(t, "true")
	sh, err := p.Take(testutil.ReadSpec(t, b))
	if err != nil {
		t.Fatalf("take: %v", err)
	}
	c, err := container.Create(root, container.CreateOpts{ID: "pooled", Bundle: b, Shell: sh})
	if err != nil {
		t.Fatalf("create from the pool's shell: %v", err)
	}
	if err := c.Start(nil); err != nil {
		t.Fatal(err)
	}
	if st := c.Init().Wait(); st.Code != 0 {
		t.Errorf("exit %+v", st)
	}
	if err := c.Delete(false); err != nil {
		t.Fatal(err)
	}
	waitReady(t, p, 2)

	// A spec that does not fit: refused with the reason, nothing taken.
	other := testutil.DefaultSpec("true")
	other.Linux.Namespaces = other.Linux.Namespaces[:0:0]
	other.Linux.Namespaces = append(other.Linux.Namespaces, specs.LinuxNamespace{Type: specs.MountNamespace})
	if _, err := p.Take(other); err == nil || !strings.Contains(err.Error(), "namespace") {
		t.Errorf("take for a spec without a pid namespace: err = %v, want the reason", err)
	}
	if p.Ready() != 2 {
		t.Errorf("a refused take changed the pool: %d ready", p.Ready())
	}

	// A shell killed while parked is dropped and replaced.
	sh, err = p.Take(spec)
	if err != nil {
		t.Fatal(err)
	}
	sh.Destroy() // what a failed Create would leave
	waitReady(t, p, 2)
	mu.Lock()
	var victim int
	for pid := range spawned {
		if !gone[pid] && pid != sh.Pid() && unix.Kill(pid, 0) == nil {
			victim = pid
		}
	}
	mu.Unlock()
	if err := unix.Kill(victim, unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	for i := 0; i < 2; i++ {
		if sh, err := p.Take(spec); err == nil {
			sh.Destroy()
		}
	}
	mu.Lock()
	if !gone[victim] {
		t.Errorf("the killed shell %d was not dropped", victim)
	}
	mu.Unlock()
	waitReady(t, p, 2)

	p.Close()
	p.Close()
	if p.Ready() != 0 {
		t.Errorf("%d shells ready after Close", p.Ready())
	}
	if _, err := p.Take(spec); !errors.Is(err, fastart.ErrClosed) {
		t.Errorf("take after close: err = %v, want ErrClosed", err)
	}
	mu.Lock()
	defer mu.Unlock()
	for pid := range spawned {
		if unix.Kill(pid, 0) == nil {
			t.Errorf("shell %d outlived Close", pid)
		}
	}
}

// TestPoolSpawnFails: a pool whose shells cannot be spawned logs why and
// keeps retrying with a backoff, without leaking; Close ends it.
func TestPoolSpawnFails(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.Leaks(t, testutil.StateRoot(t))
	var mu sync.Mutex
	var logs []string
	p, err := fastart.New(fastart.Config{
		Size:  1,
		Shell: container.ShellConfig{Namespaces: []specs.LinuxNamespace{{Type: specs.MountNamespace}, {Type: specs.NetworkNamespace, Path: "/no/such/netns"}}},
		Logf:  func(f string, a ...any) { mu.Lock(); logs = append(logs, f); mu.Unlock() },
	})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if _, err := p.Take(testutil.DefaultSpec("true")); err == nil || !strings.Contains(err.Error(), "no parked shell") {
		t.Errorf("take from an empty pool: err = %v", err)
	}
	p.Close()
	mu.Lock()
	defer mu.Unlock()
	if len(logs) < 2 {
		t.Errorf("spawn failures logged %d times in 200ms, want retries", len(logs))
	}
}

func TestPoolSize(t *testing.T) {
	for _, n := range []int{0, -1, fastart.MaxShells + 1} {
		if _, err := fastart.New(fastart.Config{Size: n}); err == nil || !strings.Contains(err.Error(), "must be 1 to") {
			t.Errorf("size %d: err = %v", n, err)
		}
	}
}

// TestPoolDeferredWait: a Deferred pool spawns nothing before Fill; a
// Take that finds no parked shell while one is being spawned waits for it
// (up to SpawnWait), and gives up after SpawnWait with the reason.
func TestPoolDeferredWait(t *testing.T) {
	testutil.RequireRoot(t)
	root := testutil.StateRoot(t)
	testutil.Leaks(t, root)
	spec := testutil.DefaultSpec("true")
	for _, tc := range []struct {
		name string
		wait time.Duration
		// hold is how long the spawn is held back after a Take began
		hold  time.Duration
		taken bool
	}{
		{"waits for the shell", 20 * time.Second, 50 * time.Millisecond, true},
		{"gives up after SpawnWait", 10 * time.Millisecond, 200 * time.Millisecond, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			entered, release := make(chan struct{}), make(chan struct{})
			var spawns int
			var mu sync.Mutex
			p, err := fastart.New(fastart.Config{
				Size:     1,
				Shell:    container.ShellConfigFor(spec),
				Deferred: true,
				// the first spawn is held until released; later ones
				// (the refill after a Take) go straight through
				Spawn: func(f func() (int, error)) error {
					mu.Lock()
					spawns++
					first := spawns == 1
					mu.Unlock()
					if first {
						close(entered)
						<-release
					}
					_, err := f()
					return err
				},
				SpawnWait: tc.wait,
				Logf:      t.Logf,
			})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			if _, err := p.Take(spec); err == nil || !strings.Contains(err.Error(), "no parked shell") {
				t.Fatalf("take before Fill: %v, want no parked shell (and no wait: nothing is spawning)", err)
			}
			mu.Lock()
			if spawns != 0 {
				t.Errorf("%d spawns before Fill, want 0", spawns)
			}
			mu.Unlock()
			p.Fill()
			<-entered
			type taken struct {
				sh  *container.Shell
				err error
			}
			got := make(chan taken, 1)
			go func() {
				sh, err := p.Take(spec)
				got <- taken{sh, err}
			}()
			// The Take is under way (or soon will be) while the spawn is
			// held: it can only get a shell by waiting for this one.
			time.Sleep(tc.hold)
			close(release)
			r := <-got
			if tc.taken {
				if r.err != nil {
					t.Fatalf("take during the spawn: %v, want the shell being spawned", r.err)
				}
				r.sh.Destroy()
				return
			}
			if r.err == nil || !strings.Contains(r.err.Error(), "no parked shell") {
				t.Fatalf("take after SpawnWait: %v, want no parked shell", r.err)
			}
			waitReady(t, p, 1)
		})
	}
}

// TestPoolCloseWakesTake: Close wakes a Take waiting for a spawn, which
// returns ErrClosed; the shell spawned meanwhile is destroyed, not parked.
func TestPoolCloseWakesTake(t *testing.T) {
	testutil.RequireRoot(t)
	root := testutil.StateRoot(t)
	testutil.Leaks(t, root)
	spec := testutil.DefaultSpec("true")
	entered, release := make(chan struct{}), make(chan struct{})
	p, err := fastart.New(fastart.Config{
		Size:  1,
		Shell: container.ShellConfigFor(spec),
		Spawn: func(f func() (int, error)) error {
			close(entered)
			<-release
			_, err := f()
			return err
		},
		SpawnWait: 20 * time.Second,
		Logf:      t.Logf,
	})
	if err != nil {
		t.Fatal(err)
	}
	<-entered
	got := make(chan error, 1)
	go func() {
		_, err := p.Take(spec)
		got <- err
	}()
	closed := make(chan struct{})
	go func() { p.Close(); close(closed) }()
	if err := <-got; !errors.Is(err, fastart.ErrClosed) {
		t.Errorf("take waiting when the pool closed: %v, want ErrClosed", err)
	}
	close(release) // Close waits for the spawn under way
	<-closed
	if n := p.Ready(); n != 0 {
		t.Errorf("%d shells parked after Close", n)
	}
}
