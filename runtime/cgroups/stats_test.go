package cgroups

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/slrt/slrt/runtime/cgroups/statsv1"
	"github.com/slrt/slrt/runtime/cgroups/statsv2"
)

// writeFiles makes dir/name = content for each entry.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestStatsV1Files reads v1 controller files as the kernel writes them.
func TestStatsV1Files(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"pids/pids.current":                               "3\n",
		"pids/pids.max":                                   "max\n",
		"cpuacct/cpuacct.usage":                           "123456789\n",
		"cpuacct/cpuacct.usage_percpu":                    "100 200 \n",
		"cpuacct/cpuacct.stat":                            "user 5\nsystem 7\n",
		"cpu/cpu.stat":                                    "nr_periods 10\nnr_throttled 2\nthrottled_time 999\n",
		"memory/memory.stat":                              "cache 4096\nrss 8192\ntotal_inactive_file 1024\npgfault 11\nhierarchical_memsw_limit 9223372036854771712\n",
		"memory/memory.usage_in_bytes":                    "65536\n",
		"memory/memory.max_usage_in_bytes":                "131072\n",
		"memory/memory.failcnt":                           "1\n",
		"memory/memory.limit_in_bytes":                    "33554432\n",
		"memory/memory.oom_control":                       "oom_kill_disable 0\nunder_oom 0\noom_kill 4\n",
		"blkio/blkio.io_service_bytes_recursive":          "",
		"blkio/blkio.throttle.io_service_bytes_recursive": "8:0 Read 4096\n8:0 Write 512\n8:0 Total 4608\nTotal 4608\n",
		"blkio/blkio.time_recursive":                      "8:0 77\n",
	})
	dirs := map[string]string{}
	for _, c := range []string{"pids", "cpuacct", "cpu", "memory", "blkio"} {
		dirs[c] = filepath.Join(root, c)
	}
	got, err := statsV1(dirs)
	if err != nil {
		t.Fatal(err)
	}
	want := &statsv1.Metrics{
		Pids: &statsv1.PidsStat{Current: 3},
		CPU: &statsv1.CPUStat{
			Usage:      &statsv1.CPUUsage{Total: 123456789, PerCPU: []uint64{100, 200}, User: 50000000, Kernel: 70000000},
			Throttling: &statsv1.Throttle{Periods: 10, ThrottledPeriods: 2, ThrottledTime: 999},
		},
		Memory: &statsv1.MemoryStat{
			Cache: 4096, RSS: 8192, TotalInactiveFile: 1024, PgFault: 11, HierarchicalSwapLimit: 9223372036854771712,
			Usage: &statsv1.MemoryEntry{Usage: 65536, Max: 131072, Failcnt: 1, Limit: 33554432},
			// No memsw/kmem files: swap accounting off, as here.
			Swap: &statsv1.MemoryEntry{}, Kernel: &statsv1.MemoryEntry{}, KernelTCP: &statsv1.MemoryEntry{},
		},
		MemoryOomControl: &statsv1.MemoryOomControl{OomKill: 4},
		Blkio: &statsv1.BlkIOStat{
			IoServiceBytesRecursive: []*statsv1.BlkIOEntry{{Major: 8, Minor: 0, Op: "Read", Value: 4096}, {Major: 8, Op: "Write", Value: 512}, {Major: 8, Op: "Total", Value: 4608}},
			IoTimeRecursive:         []*statsv1.BlkIOEntry{{Major: 8, Value: 77}},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("statsV1:\n got %s\nwant %s", dump(got), dump(want))
	}

	// A file that exists but does not parse is an error naming it.
	writeFiles(t, root, map[string]string{"pids/pids.current": "lots\n"})
	if _, err := statsV1(dirs); err == nil || !strings.Contains(err.Error(), "pids.current") {
		t.Errorf("bad pids.current: err = %v", err)
	}
}

// TestStatsV2Files reads a v2 cgroup's files as the kernel writes them.
func TestStatsV2Files(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"pids.current":        "2\n",
		"pids.max":            "100\n",
		"cpu.stat":            "usage_usec 500\nuser_usec 300\nsystem_usec 200\nnr_periods 4\nnr_throttled 1\nthrottled_usec 9\nnr_bursts 0\nburst_usec 0\n",
		"cpu.pressure":        "some avg10=1.50 avg60=0.25 avg300=0.00 total=1234\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
		"memory.current":      "1048576\n",
		"memory.max":          "max\n",
		"memory.peak":         "2097152\n",
		"memory.stat":         "anon 4096\nfile 8192\ninactive_file 512\npgfault 7\npgmajfault 1\n",
		"memory.events":       "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\noom_group_kill 0\n",
		"memory.swap.current": "0\n",
		"memory.swap.max":     "max\n",
		"io.stat":             "8:0 rbytes=4096 wbytes=512 rios=2 wios=1 dbytes=0 dios=0\n",
	})
	got, err := statsV2(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := &statsv2.Metrics{
		Pids: &statsv2.PidsStat{Current: 2, Limit: 100},
		CPU: &statsv2.CPUStat{UsageUsec: 500, UserUsec: 300, SystemUsec: 200, NrPeriods: 4, NrThrottled: 1, ThrottledUsec: 9,
			PSI: &statsv2.PSIStats{Some: &statsv2.PSIData{Avg10: 1.5, Avg60: 0.25, Total: 1234}, Full: &statsv2.PSIData{}}},
		Memory: &statsv2.MemoryStat{Anon: 4096, File: 8192, InactiveFile: 512, Pgfault: 7, Pgmajfault: 1,
			Usage: 1048576, UsageLimit: math.MaxUint64, MaxUsage: 2097152, SwapLimit: math.MaxUint64},
		MemoryEvents: &statsv2.MemoryEvents{Max: 3, Oom: 1, OomKill: 1},
		Io:           &statsv2.IOStat{Usage: []*statsv2.IOEntry{{Major: 8, Rbytes: 4096, Wbytes: 512, Rios: 2, Wios: 1}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("statsV2:\n got %s\nwant %s", dump(got), dump(want))
	}
}

func TestPageSizeName(t *testing.T) {
	for _, tt := range []struct {
		bytes uint64
		want  string
	}{{2 << 20, "2MB"}, {1 << 30, "1GB"}, {64 << 10, "64KB"}, {32 << 20, "32MB"}} {
		if got := pageSizeName(tt.bytes); got != tt.want {
			t.Errorf("pageSizeName(%d) = %q, want %q", tt.bytes, got, tt.want)
		}
	}
}

func dump(v any) string {
	b, _ := json.MarshalIndent(v, "", " ")
	return string(b)
}
