package agent

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// BenchmarkSyscall times syscalls inside a user-namespaced container, in
// the container (so ns/op is the in-container mean per syscall, without
// the container's start-up): a plain getppid; mount refused by the kernel
// (no FGAC); the same mount refused by the agent (notification, /proc
// opens, ID_VALID, copy, decision, answer: the notified round trip); and
// sethostname performed by the agent (plus a thrown-away thread and setns).
// Give a fixed count, as each run starts a container:
//
//	go test -run XXX -bench Syscall -benchtime 20000x ./fgac/agent/
func BenchmarkSyscall(b *testing.B) {
	for _, bc := range []struct {
		name, kind string
		fgac       bool
	}{
		{"getppid", "getppid", true},
		{"mount-kernel-denied", "mount", false},
		{"mount-agent-denied", "mount", true},
		{"sethostname-emulated", "hostname", true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			e := newEnv(b)
			edit := func(*specs.Spec) {}
			if bc.fgac {
				edit = e.withProfile
			}
			bundle := e.bundle(380000, scratch, edit, fmt.Sprintf("fgacprobe bench %s %d", bc.kind, b.N))
			out := strings.TrimSpace(e.run("fgac-bench", bundle))
			f := strings.Fields(out)
			ns, err := strconv.ParseFloat(f[len(f)-1], 64)
			if err != nil || len(f) != 3 {
				b.Fatalf("probe: %q", out)
			}
			b.ReportMetric(ns, "ns/op")
		})
	}
}
