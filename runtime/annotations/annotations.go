// Package annotations parses the slrt.io/ annotations that ask for fast
// start and real-time CPU placement, in one place for every caller: the
// shim (per pod, from CRI), the `slrt` CLI and the k8s tooling.
//
// It lives under runtime/ and imports nothing of slrt's but runtime/process,
// because the shim needs it and dependencies point k8s → shim → runtime: a
// parser under k8s/ would make the shim import k8s. Annotations are part of
// the OCI config a runtime reads, so the bottom layer is where it belongs.
//
// In Kubernetes these are pod annotations; containerd copies them into
// every container's config.json when the runtime's config has
// pod_annotations = ["slrt.io/*"].
package annotations

import (
	"fmt"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/slrt/slrt/runtime/process"
)

const (
	// FastStart asks for N pre-created shells per pod: "1" to "8".
	FastStart = "slrt.io/fast-start"
	// CPUAffinity pins the workload before it execs: a CPU list ("2-3",
	// "0,2") or "auto" (the least-loaded allowed CPU at start).
	CPUAffinity = "slrt.io/cpu-affinity"
	// Sched sets a real-time policy: "fifo:PRIORITY" or "rr:PRIORITY",
	// PRIORITY 1 to 99.
	Sched = "slrt.io/sched"
)

// MaxFastStart bounds slrt.io/fast-start: each shell is a parked process
// (~2 MiB) on a device with 1-4 GiB.
const MaxFastStart = 8

// Hints are the parsed annotations; zero values mean "not asked for".
type Hints struct {
	// FastStart is how many shells to keep ready for the pod (0 = none).
	FastStart int
	// CPUAffinity is "auto" or a canonical CPU list ("" = none).
	CPUAffinity string
	// Sched is the scheduler the workload gets (nil = none).
	Sched *specs.Scheduler
}

// Parse reads the slrt.io/ hints from a container's annotations. Other
// annotations are ignored. An error names the annotation, the value and the
// forms accepted.
func Parse(a map[string]string) (Hints, error) {
	var h Hints
	if v, ok := a[FastStart]; ok {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 1 || n > MaxFastStart {
			return h, fmt.Errorf("annotation %s: %q is not a number of shells from 1 to %d", FastStart, v, MaxFastStart)
		}
		h.FastStart = n
	}
	if v, ok := a[CPUAffinity]; ok {
		v = strings.TrimSpace(v)
		if v == "auto" {
			h.CPUAffinity = v
		} else {
			set, err := process.ParseCPUs(v)
			if err != nil || v == "" {
				return h, fmt.Errorf("annotation %s: %q is neither a CPU list (e.g. \"2-3\", \"0,2\") nor \"auto\"", CPUAffinity, a[CPUAffinity])
			}
			h.CPUAffinity = process.FormatCPUs(set)
		}
	}
	if v, ok := a[Sched]; ok {
		s, err := parseSched(v)
		if err != nil {
			return h, fmt.Errorf("annotation %s: %q %v; accepted: \"fifo:PRIORITY\" or \"rr:PRIORITY\" with PRIORITY 1 to 99", Sched, v, err)
		}
		h.Sched = s
	}
	return h, nil
}

func parseSched(v string) (*specs.Scheduler, error) {
	pol, prio, ok := strings.Cut(strings.TrimSpace(v), ":")
	if !ok {
		return nil, fmt.Errorf("has no priority")
	}
	var policy specs.LinuxSchedulerPolicy
	switch strings.ToLower(pol) {
	case "fifo":
		policy = specs.SchedFIFO
	case "rr":
		policy = specs.SchedRR
	default:
		return nil, fmt.Errorf("has an unknown policy %q", pol)
	}
	n, err := strconv.Atoi(prio)
	if err != nil || n < 1 || n > 99 {
		return nil, fmt.Errorf("has a priority outside 1 to 99")
	}
	return &specs.Scheduler{Policy: policy, Priority: int32(n)}, nil
}
