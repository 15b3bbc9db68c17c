package cgroups

import (
	"strconv"
	"strings"

	"github.com/slrt/slrt/runtime/cgroups/statsv1"
)

// userHZ is the unit of cpuacct.stat (USER_HZ, 100 on every Linux ABI).
const userHZ = 100

// statsV1 reads the v1 controllers' files into containerd's v1 shape.
func statsV1(dirs map[string]string) (*statsv1.Metrics, error) {
	var r statReader
	out := &statsv1.Metrics{}
	if d, ok := dirs["pids"]; ok {
		out.Pids = &statsv1.PidsStat{Current: r.uint(join(d, "pids.current"))}
		// "max" means no limit, which the CRI reads as 0.
		if l := r.uint(join(d, "pids.max")); l != maxUint {
			out.Pids.Limit = l
		}
	}
	if d, ok := dirs["cpuacct"]; ok {
		u := &statsv1.CPUUsage{Total: r.uint(join(d, "cpuacct.usage"))}
		for _, f := range r.lines(join(d, "cpuacct.usage_percpu")) {
			for _, s := range f {
				if n, err := strconv.ParseUint(s, 10, 64); err == nil {
					u.PerCPU = append(u.PerCPU, n)
				}
			}
		}
		st := r.kv(join(d, "cpuacct.stat"))
		u.User = st["user"] * (1e9 / userHZ)
		u.Kernel = st["system"] * (1e9 / userHZ)
		out.CPU = &statsv1.CPUStat{Usage: u}
	}
	if d, ok := dirs["cpu"]; ok {
		st := r.kv(join(d, "cpu.stat"))
		if out.CPU == nil {
			out.CPU = &statsv1.CPUStat{}
		}
		out.CPU.Throttling = &statsv1.Throttle{
			Periods: st["nr_periods"], ThrottledPeriods: st["nr_throttled"], ThrottledTime: st["throttled_time"],
		}
	}
	if d, ok := dirs["memory"]; ok {
		out.Memory = memoryV1(&r, d)
		oc := r.kv(join(d, "memory.oom_control"))
		out.MemoryOomControl = &statsv1.MemoryOomControl{
			OomKillDisable: oc["oom_kill_disable"], UnderOom: oc["under_oom"], OomKill: oc["oom_kill"],
		}
	}
	if d, ok := dirs["blkio"]; ok {
		out.Blkio = blkioV1(&r, d)
	}
	if d, ok := dirs["hugetlb"]; ok {
		for _, size := range hugePageSizes() {
			p := join(d, "hugetlb."+size+".")
			out.Hugetlb = append(out.Hugetlb, &statsv1.HugetlbStat{
				Pagesize: size,
				Usage:    r.uint(p + "usage_in_bytes"),
				Max:      r.uint(p + "max_usage_in_bytes"),
				Failcnt:  r.uint(p + "failcnt"),
			})
		}
	}
	return out, r.err
}

const maxUint = ^uint64(0)

func memoryV1(r *statReader, d string) *statsv1.MemoryStat {
	st := r.kv(join(d, "memory.stat"))
	entry := func(prefix string) *statsv1.MemoryEntry {
		// Without swap accounting or kmem there are no such files.
		if !fileExists(join(d, prefix+"usage_in_bytes")) {
			return &statsv1.MemoryEntry{}
		}
		return &statsv1.MemoryEntry{
			Usage:   r.uint(join(d, prefix+"usage_in_bytes")),
			Max:     r.uint(join(d, prefix+"max_usage_in_bytes")),
			Failcnt: r.uint(join(d, prefix+"failcnt")),
			Limit:   r.uint(join(d, prefix+"limit_in_bytes")),
		}
	}
	return &statsv1.MemoryStat{
		Cache: st["cache"], RSS: st["rss"], RSSHuge: st["rss_huge"], MappedFile: st["mapped_file"],
		Dirty: st["dirty"], Writeback: st["writeback"], PgPgIn: st["pgpgin"], PgPgOut: st["pgpgout"],
		PgFault: st["pgfault"], PgMajFault: st["pgmajfault"], InactiveAnon: st["inactive_anon"],
		ActiveAnon: st["active_anon"], InactiveFile: st["inactive_file"], ActiveFile: st["active_file"],
		Unevictable: st["unevictable"], HierarchicalMemoryLimit: st["hierarchical_memory_limit"],
		HierarchicalSwapLimit: st["hierarchical_memsw_limit"],
		TotalCache:            st["total_cache"], TotalRSS: st["total_rss"], TotalRSSHuge: st["total_rss_huge"],
		TotalMappedFile: st["total_mapped_file"], TotalDirty: st["total_dirty"],
		TotalWriteback: st["total_writeback"], TotalPgPgIn: st["total_pgpgin"],
		TotalPgPgOut: st["total_pgpgout"], TotalPgFault: st["total_pgfault"],
		TotalPgMajFault: st["total_pgmajfault"], TotalInactiveAnon: st["total_inactive_anon"],
		TotalActiveAnon: st["total_active_anon"], TotalInactiveFile: st["total_inactive_file"],
		TotalActiveFile: st["total_active_file"], TotalUnevictable: st["total_unevictable"],
		Usage:     entry("memory."),
		Swap:      entry("memory.memsw."),
		Kernel:    entry("memory.kmem."),
		KernelTCP: entry("memory.kmem.tcp."),
	}
}

// blkioV1 reads the recursive blkio counters. Without a proportional I/O
// scheduler (CFQ/BFQ) the io_* files are empty and only the throttle
// policy's counters exist, so those stand in for the two the CRI reads.
func blkioV1(r *statReader, d string) *statsv1.BlkIOStat {
	read := func(file string) []*statsv1.BlkIOEntry {
		var out []*statsv1.BlkIOEntry
		for _, f := range r.lines(join(d, file)) {
			// "MAJ:MIN Op value" or "MAJ:MIN value"; "Total value" is a sum.
			if len(f) < 2 || f[0] == "Total" {
				continue
			}
			maj, min, ok := strings.Cut(f[0], ":")
			if !ok {
				continue
			}
			e := &statsv1.BlkIOEntry{}
			e.Major, _ = strconv.ParseUint(maj, 10, 64)
			e.Minor, _ = strconv.ParseUint(min, 10, 64)
			v := f[1]
			if len(f) >= 3 {
				e.Op, v = f[1], f[2]
			}
			e.Value, _ = strconv.ParseUint(v, 10, 64)
			out = append(out, e)
		}
		return out
	}
	s := &statsv1.BlkIOStat{
		IoServiceBytesRecursive: read("blkio.io_service_bytes_recursive"),
		IoServicedRecursive:     read("blkio.io_serviced_recursive"),
		IoQueuedRecursive:       read("blkio.io_queued_recursive"),
		IoServiceTimeRecursive:  read("blkio.io_service_time_recursive"),
		IoWaitTimeRecursive:     read("blkio.io_wait_time_recursive"),
		IoMergedRecursive:       read("blkio.io_merged_recursive"),
		IoTimeRecursive:         read("blkio.time_recursive"),
		SectorsRecursive:        read("blkio.sectors_recursive"),
	}
	if len(s.IoServiceBytesRecursive) == 0 {
		s.IoServiceBytesRecursive = read("blkio.throttle.io_service_bytes_recursive")
		if len(s.IoServiceBytesRecursive) == 0 {
			s.IoServiceBytesRecursive = read("blkio.throttle.io_service_bytes")
		}
	}
	if len(s.IoServicedRecursive) == 0 {
		s.IoServicedRecursive = read("blkio.throttle.io_serviced_recursive")
		if len(s.IoServicedRecursive) == 0 {
			s.IoServicedRecursive = read("blkio.throttle.io_serviced")
		}
	}
	return s
}
