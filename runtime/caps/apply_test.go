package caps

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/slrt/slrt/runtime/channel"
)

// onThrowawayThread runs fn on a locked OS thread that is never unlocked:
// the Go runtime then ends that thread with the goroutine, so the
// per-thread capability changes fn makes do not leak into the test binary.
func onThrowawayThread(fn func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		done <- fn()
	}()
	return <-done
}

// threadCaps reads the Cap* lines of the calling thread's status.
func threadCaps() (map[string]uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/self/task/%d/status", unix.Gettid()))
	if err != nil {
		return nil, err
	}
	out := map[string]uint64{}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || !strings.HasPrefix(k, "Cap") {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", line, err)
		}
		out[k] = n
	}
	return out, nil
}

func needSetpcap(t *testing.T) {
	t.Helper()
	eff, _, _, err := Get()
	if err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() != 0 || eff&(1<<unix.CAP_SETPCAP) == 0 {
		t.Skip("needs root with CAP_SETPCAP")
	}
}

func TestLastCap(t *testing.T) {
	last, err := LastCap()
	if err != nil {
		t.Fatal(err)
	}
	if last < unix.CAP_AUDIT_READ || last > 63 {
		t.Errorf("LastCap = %d, implausible", last)
	}
}

func TestApplyOnThread(t *testing.T) {
	needSetpcap(t)
	kill, chown, nbs := uint64(1<<unix.CAP_KILL), uint64(1<<unix.CAP_CHOWN), uint64(1<<unix.CAP_NET_BIND_SERVICE)
	c := &channel.Caps{
		Bounding:    kill | chown | nbs | 1<<unix.CAP_SETPCAP,
		Effective:   kill | chown,
		Permitted:   kill | chown | nbs,
		Inheritable: kill | nbs,
		// CHOWN is ambient but not inheritable: Apply must leave it out, not fail.
		Ambient: kill | chown,
	}
	var got map[string]uint64
	err := onThrowawayThread(func() error {
		if err := DropBounding(c); err != nil {
			return err
		}
		if err := DropBounding(c); err != nil { // idempotent
			return fmt.Errorf("second DropBounding: %w", err)
		}
		if err := Apply(c); err != nil {
			return err
		}
		var err error
		got, err = threadCaps()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]uint64{
		"CapBnd": c.Bounding,
		"CapEff": c.Effective,
		"CapPrm": c.Permitted,
		"CapInh": c.Inheritable,
		"CapAmb": kill,
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s = %#x (%v), want %#x (%v)", k, got[k], List(got[k]), w, List(w))
		}
	}
}

func TestApplyErrors(t *testing.T) {
	needSetpcap(t)
	err := onThrowawayThread(func() error {
		if err := DropBounding(&channel.Caps{Bounding: 1 << unix.CAP_KILL}); err != nil {
			return err
		}
		// Nothing left to drop: succeeds even without CAP_SETPCAP now.
		if err := DropBounding(&channel.Caps{Bounding: 1 << unix.CAP_KILL}); err != nil {
			return err
		}
		err := Set(0, 1<<unix.CAP_KILL, 1<<unix.CAP_SYS_ADMIN)
		if err == nil || !strings.Contains(err.Error(), "inheritable within the bounding set") {
			return fmt.Errorf("Set with inheritable outside the bounding set: err = %v", err)
		}
		if err := Set(0, 1<<unix.CAP_KILL, 0); err != nil {
			return err
		}
		// Raising a permitted set once lowered is impossible.
		err = Set(0, 1<<unix.CAP_KILL|1<<unix.CAP_CHOWN, 0)
		if err == nil || !strings.Contains(err.Error(), "capset") {
			return fmt.Errorf("Set raising permitted: err = %v", err)
		}
		err = SetAmbient(1 << unix.CAP_KILL)
		if err == nil || !strings.Contains(err.Error(), "raise ambient CAP_KILL") {
			return fmt.Errorf("SetAmbient of a non-inheritable cap: err = %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
