package bootstrap

import (
	"sync/atomic"
	"testing"
	"time"
)

func TestReleaserFire(t *testing.T) {
	const min = 100
	for _, tc := range []struct {
		name   string
		allocs []uint64 // the counter at each fire
		frees  int
	}{
		{"nothing allocated", []uint64{0}, 0},
		{"below the minimum", []uint64{99}, 0},
		{"at the minimum", []uint64{100}, 1},
		{"counted from the last release", []uint64{150, 200, 249, 250}, 2},
		{"below, then enough over two bursts", []uint64{60, 120}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var now uint64
			frees := 0
			r := newReleaser(time.Hour, min, func() uint64 { return now }, func() { frees++ })
			for _, a := range tc.allocs {
				now = a
				r.fire()
			}
			if frees != tc.frees {
				t.Errorf("allocs %v: %d releases, want %d", tc.allocs, frees, tc.frees)
			}
		})
	}
}

// TestReleaserAfterCalls: touches keep pushing the release back; it runs
// once they stop.
func TestReleaserAfterCalls(t *testing.T) {
	var frees atomic.Int32
	r := newReleaser(20*time.Millisecond, 0, func() uint64 { return 1 }, func() { frees.Add(1) })
	defer r.stop()
	for i := 0; i < 5; i++ {
		r.touch()
		time.Sleep(time.Millisecond)
	}
	deadline := time.Now().Add(10 * time.Second)
	for frees.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // a second release would come by now
	if n := frees.Load(); n != 1 {
		t.Fatalf("%d releases after a burst of touches, want 1", n)
	}
}

// TestHeapAllocs: the runtime metric the daemon's releaser reads exists
// and counts.
func TestHeapAllocs(t *testing.T) {
	a := heapAllocs()
	sink = make([]byte, 1<<20)
	if b := heapAllocs(); b < a+1<<20 {
		t.Fatalf("heap allocs %d, then %d after a 1 MiB allocation", a, b)
	}
}

var sink []byte
