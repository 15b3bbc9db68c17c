package shim_test

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// TestShimFootprint reports the shim's memory with 1 and 10 running
// containers of one pod (issue 4's footprint figures). It measures, it does
// not judge: run it with SLRT_SHIM_FOOTPRINT=1, and SLRT_SHIM_BIN set to
// the binary nodes get (make shim), e.g.
//
//	make shim && SLRT_SHIM_BIN=$PWD/build/containerd-shim-slrt-v2 \
//	  SLRT_SHIM_FOOTPRINT=1 go test -run Footprint -v ./shim/
func TestShimFootprint(t *testing.T) {
	if os.Getenv("SLRT_SHIM_FOOTPRINT") == "" {
		t.Skip("set SLRT_SHIM_FOOTPRINT=1 to measure")
	}
	h := newHarness(t, "footprint")
	for i := 1; i <= 10; i++ {
		id := fmt.Sprintf("c%d", i)
		h.create(id, h.bundle(nil, "sleep", "1000"), nil)
		h.startTask(id, "")
		if i == 1 || i == 10 {
			time.Sleep(time.Second) // let the Go runtime settle
			t.Logf("shim with %2d running containers: %s", i, memory(t, h.pid))
		}
	}
}

// memory is Rss and Pss from /proc/PID/smaps_rollup.
func memory(t *testing.T, pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) == 3 && (f[0] == "Rss:" || f[0] == "Pss:" || f[0] == "Pss_Anon:" || f[0] == "Pss_File:") {
			out = append(out, f[0]+" "+f[1]+" kB")
		}
	}
	return strings.Join(out, ", ")
}
