package container_test

import (
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/slrt/slrt/runtime/container"
)

// TestOOMKillCount: the count is 0 for a fresh container and at least 1
// once its init was OOM-killed, as soon as the init's exit is seen.
func TestOOMKillCount(t *testing.T) {
	e := newEnv(t)
	limit := int64(16 << 20)
	b := bundleWith(t, func(s *specs.Spec) {
		s.Linux.Resources.Memory = &specs.LinuxMemory{Limit: &limit, Swap: &limit}
	}, "sh", "-c", "dd if=/dev/zero of=/dev/null bs=64M count=1")
	c, err := container.Create(e.root, container.CreateOpts{ID: "oomcount", Bundle: b})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Delete(true)
	if n, err := c.OOMKillCount(); err != nil || n != 0 {
		t.Fatalf("OOMKillCount before start = %d, %v; want 0", n, err)
	}
	if err := c.Start(nil); err != nil {
		t.Fatal(err)
	}
	st := c.Init().Wait()
	if n, err := c.OOMKillCount(); err != nil || n < 1 {
		t.Errorf("OOMKillCount after the init exited (%+v) = %d, %v; want >= 1", st, n, err)
	}
}
