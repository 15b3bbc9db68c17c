package cgroups

import (
	"strconv"
	"strings"

	"github.com/slrt/slrt/runtime/cgroups/statsv2"
)

// statsV2 reads a v2 cgroup's files into containerd's v2 shape. Files of a
// controller not enabled for the cgroup are simply absent.
func statsV2(dir string) (*statsv2.Metrics, error) {
	var r statReader
	out := &statsv2.Metrics{}
	if fileExists(join(dir, "pids.current")) {
		out.Pids = &statsv2.PidsStat{Current: r.uint(join(dir, "pids.current"))}
		if l := r.uint(join(dir, "pids.max")); l != maxUint {
			out.Pids.Limit = l
		}
	}
	// cpu.stat's usage lines are there even without the cpu controller.
	cs := r.kv(join(dir, "cpu.stat"))
	out.CPU = &statsv2.CPUStat{
		UsageUsec: cs["usage_usec"], UserUsec: cs["user_usec"], SystemUsec: cs["system_usec"],
		NrPeriods: cs["nr_periods"], NrThrottled: cs["nr_throttled"], ThrottledUsec: cs["throttled_usec"],
		NrBursts: cs["nr_bursts"], BurstUsec: cs["burst_usec"],
		PSI: psi(&r, join(dir, "cpu.pressure")),
	}
	if fileExists(join(dir, "memory.current")) {
		st := r.kv(join(dir, "memory.stat"))
		mem := &statsv2.MemoryStat{
			Anon: st["anon"], File: st["file"], KernelStack: st["kernel_stack"], Slab: st["slab"],
			Sock: st["sock"], Shmem: st["shmem"], FileMapped: st["file_mapped"], FileDirty: st["file_dirty"],
			FileWriteback: st["file_writeback"], AnonThp: st["anon_thp"], InactiveAnon: st["inactive_anon"],
			ActiveAnon: st["active_anon"], InactiveFile: st["inactive_file"], ActiveFile: st["active_file"],
			Unevictable: st["unevictable"], SlabReclaimable: st["slab_reclaimable"],
			SlabUnreclaimable: st["slab_unreclaimable"], Pgfault: st["pgfault"], Pgmajfault: st["pgmajfault"],
			WorkingsetRefault: st["workingset_refault"], WorkingsetActivate: st["workingset_activate"],
			WorkingsetNodereclaim: st["workingset_nodereclaim"], Pgrefill: st["pgrefill"],
			Pgscan: st["pgscan"], Pgsteal: st["pgsteal"], Pgactivate: st["pgactivate"],
			Pgdeactivate: st["pgdeactivate"], Pglazyfree: st["pglazyfree"], Pglazyfreed: st["pglazyfreed"],
			ThpFaultAlloc: st["thp_fault_alloc"], ThpCollapseAlloc: st["thp_collapse_alloc"],
			Usage:      r.uint(join(dir, "memory.current")),
			UsageLimit: r.uint(join(dir, "memory.max")),
			MaxUsage:   r.uint(join(dir, "memory.peak")),
			PSI:        psi(&r, join(dir, "memory.pressure")),
		}
		if fileExists(join(dir, "memory.swap.current")) {
			mem.SwapUsage = r.uint(join(dir, "memory.swap.current"))
			mem.SwapLimit = r.uint(join(dir, "memory.swap.max"))
			mem.SwapMaxUsage = r.uint(join(dir, "memory.swap.peak"))
		}
		out.Memory = mem
		ev := r.kv(join(dir, "memory.events"))
		out.MemoryEvents = &statsv2.MemoryEvents{
			Low: ev["low"], High: ev["high"], Max: ev["max"], Oom: ev["oom"],
			OomKill: ev["oom_kill"], OomGroupKill: ev["oom_group_kill"],
		}
	}
	if fileExists(join(dir, "io.stat")) {
		io := &statsv2.IOStat{PSI: psi(&r, join(dir, "io.pressure"))}
		for _, f := range r.lines(join(dir, "io.stat")) {
			// "MAJ:MIN rbytes=N wbytes=N rios=N wios=N dbytes=N dios=N"
			maj, min, ok := strings.Cut(f[0], ":")
			if !ok {
				continue
			}
			e := &statsv2.IOEntry{}
			e.Major, _ = strconv.ParseUint(maj, 10, 64)
			e.Minor, _ = strconv.ParseUint(min, 10, 64)
			for _, kv := range f[1:] {
				k, v, _ := strings.Cut(kv, "=")
				n, _ := strconv.ParseUint(v, 10, 64)
				switch k {
				case "rbytes":
					e.Rbytes = n
				case "wbytes":
					e.Wbytes = n
				case "rios":
					e.Rios = n
				case "wios":
					e.Wios = n
				}
			}
			io.Usage = append(io.Usage, e)
		}
		out.Io = io
	}
	for _, size := range hugePageSizes() {
		p := join(dir, "hugetlb."+size+".")
		if !fileExists(p + "current") {
			continue
		}
		out.Hugetlb = append(out.Hugetlb, &statsv2.HugeTlbStat{
			Pagesize: size,
			Current:  r.uint(p + "current"),
			Max:      r.uint(p + "max"),
			Failcnt:  r.kv(p + "events")["max"],
		})
	}
	return out, r.err
}

// psi reads a pressure file ("some avg10=0.00 avg60=0.00 avg300=0.00
// total=0", and a "full" line); nil when the kernel has no PSI.
func psi(r *statReader, path string) *statsv2.PSIStats {
	if !fileExists(path) {
		return nil
	}
	out := &statsv2.PSIStats{}
	for _, f := range r.lines(path) {
		d := &statsv2.PSIData{}
		for _, kv := range f[1:] {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "avg10":
				d.Avg10, _ = strconv.ParseFloat(v, 64)
			case "avg60":
				d.Avg60, _ = strconv.ParseFloat(v, 64)
			case "avg300":
				d.Avg300, _ = strconv.ParseFloat(v, 64)
			case "total":
				d.Total, _ = strconv.ParseUint(v, 10, 64)
			}
		}
		switch f[0] {
		case "some":
			out.Some = d
		case "full":
			out.Full = d
		}
	}
	return out
}
