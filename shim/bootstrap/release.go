package bootstrap

import (
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"time"
)

// A shim lives as long as its pod and is idle nearly all that time, but
// each burst of calls (an exec probe, a container restart) allocates: ~170
// KB per exec measured here. Go keeps the heap it grew (its collector's
// smallest goal is 4 MB) and the freed pages for reuse, so after 50 execs
// into one pod a shim held 6.4-6.6 MiB of anonymous memory instead of the
// 2.3 it started with. Once the calls stop, the releaser collects and
// hands the free pages back to the kernel: 3.9-4.2 MiB after the same 50
// execs, the same idle, and `ctr run` latency within the noise (bench/ctrd
// A/B, three runs; see bench/notes/footprint.md).
//
// Not after every burst: a collection costs the GC's own first-use memory
// (0.27 MiB measured on an idle shim) and a millisecond of CPU, more than
// it frees when little was allocated, as when a pod was only created (~1
// MB). So it runs only once minAlloc bytes were allocated since the last
// one. A lower GOGC instead (25) held 4.6 MiB after the execs but 3.3
// idle: the collector ran during the pod's creation already.
const (
	releaseDelay    = time.Second
	releaseMinAlloc = 2 << 20
)

// releaser runs free after delay without a touch, when at least minAlloc
// bytes were allocated (allocs is cumulative) since the last run.
type releaser struct {
	delay    time.Duration
	minAlloc uint64
	allocs   func() uint64
	free     func()

	timer *time.Timer
	mu    sync.Mutex
	last  uint64 // allocs at the last free
}

func newReleaser(delay time.Duration, minAlloc uint64, allocs func() uint64, free func()) *releaser {
	r := &releaser{delay: delay, minAlloc: minAlloc, allocs: allocs, free: free}
	r.timer = time.AfterFunc(delay, r.fire)
	r.timer.Stop()
	return r
}

// memReleaser is the daemon's: the runtime's heap allocation counter and
// debug.FreeOSMemory (a collection, then every free page returned). The
// counter comes from runtime/metrics (28 KB of binary): ReadMemStats'
// TotalAlloc costs none, but its first call grew an idle shim's anonymous
// memory by 0.5 MiB (measured: 2.85 vs 2.32 MiB), more than the releaser is
// there to save on a quiet pod.
func memReleaser() *releaser {
	return newReleaser(releaseDelay, releaseMinAlloc, heapAllocs, debug.FreeOSMemory)
}

func heapAllocs() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// touch notes a call: the release waits for delay after the last one.
func (r *releaser) touch() { r.timer.Reset(r.delay) }

// stop cancels a pending release.
func (r *releaser) stop() { r.timer.Stop() }

func (r *releaser) fire() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.allocs()-r.last < r.minAlloc {
		return
	}
	r.free()
	r.last = r.allocs()
}
