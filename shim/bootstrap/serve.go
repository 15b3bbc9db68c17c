package bootstrap

import (
	"context"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/slrt/slrt/runtime/container"
	"github.com/slrt/slrt/shim/events"
	"github.com/slrt/slrt/shim/internal/ttrpc"
	"github.com/slrt/slrt/shim/task"
)

// IdleTimeout is how long a daemon waits for its first call: a start that
// containerd rejected (or that lost a race) must not leave a shim behind.
var IdleTimeout = 10 * time.Second

// StateRoot is the engine's state root for a namespace: tmpfs, never the
// CLI's /run/slrt. $SLRT_SHIM_ROOT moves it (tests).
func StateRoot(namespace string) string {
	base := os.Getenv("SLRT_SHIM_ROOT")
	if base == "" {
		base = "/run/slrt-shim"
	}
	return filepath.Join(base, namespace)
}

// Serve is the daemon: it serves the task API on the listener start passed
// as fd 3 until containerd shuts it down.
func Serve(f *Flags) error {
	if w := logFifo("."); w != nil {
		unix.Dup3(int(w.Fd()), 2, 0)
		w.Close()
	}
	log.SetPrefix(fmt.Sprintf("slrt-shim[%d] ", os.Getpid()))
	container.Warnf = log.Printf
	// Orphans of containers that share our pid namespace come to us.
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("become child subreaper: %w", err)
	}
	l, err := net.FileListener(os.NewFile(3, "shim-socket"))
	if err != nil {
		return fmt.Errorf("shim socket (fd 3): %w", err)
	}
	path := socketFromAddress(f.Socket)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pub := events.New(os.Getenv("TTRPC_ADDRESS"), f.Namespace)
	defer pub.Close()
	svc := task.New(StateRoot(f.Namespace), f.Namespace, pub, cancel)

	var calls atomic.Int64
	rel := memReleaser() // hands memory back after bursts of calls: release.go
	defer rel.stop()
	srv := ttrpc.NewServer(ttrpc.WithInterceptor(
		func(ctx context.Context, _ string, call func(context.Context) (ttrpc.Message, error)) (ttrpc.Message, error) {
			calls.Add(1)
			defer rel.touch() // from the end of the call: a long one is part of the burst
			return call(ctx)
		}))
	svc.Register(srv)

	sigs := make(chan os.Signal, 32)
	signal.Notify(sigs, unix.SIGCHLD, unix.SIGPIPE)
	go func() {
		for s := range sigs {
			if s == unix.SIGCHLD {
				svc.ReapOrphans()
			}
		}
	}()
	go func() {
		select {
		case <-time.After(IdleTimeout):
			if calls.Load() == 0 && svc.Containers() == 0 {
				log.Printf("no call in %s: exiting", IdleTimeout)
				cancel()
			}
		case <-ctx.Done():
		}
	}()
	go func() {
		<-ctx.Done()
		// Let the Shutdown reply reach containerd first.
		time.Sleep(50 * time.Millisecond)
		srv.Close()
	}()
	err = srv.Serve(ctx, l)
	if path != "" {
		os.Remove(path)
	}
	os.Remove(StateRoot(f.Namespace)) // only when empty: other pods' shims share it
	if err == ttrpc.ErrServerClosed || ctx.Err() != nil {
		return nil
	}
	return err
}
