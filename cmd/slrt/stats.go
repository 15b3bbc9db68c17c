package main

import (
	"github.com/slrt/slrt/runtime/cgroups"
	v1 "github.com/slrt/slrt/runtime/cgroups/statsv1"
	v2 "github.com/slrt/slrt/runtime/cgroups/statsv2"
)

// The types below are the JSON schema of runc's `events` data (runc's
// types.Stats): go-runc decodes exactly these names into the metrics
// containerd's runc shim reports, so the shape matters more than the
// source. omitempty follows runc's tags, which is why some zero values
// appear and others do not.

type statsOut struct {
	CPU               cpuStats           `json:"cpu"`
	CPUSet            struct{}           `json:"cpuset"`
	Memory            memoryStats        `json:"memory"`
	Pids              pidsStats          `json:"pids"`
	Blkio             blkioStats         `json:"blkio"`
	Hugetlb           map[string]hugetlb `json:"hugetlb"`
	IntelRdt          struct{}           `json:"intel_rdt"`
	NetworkInterfaces []struct{}         `json:"network_interfaces"`
}

type cpuStats struct {
	Usage      cpuUsage   `json:"usage,omitempty"`
	Throttling throttling `json:"throttling,omitempty"`
}

type cpuUsage struct {
	Total  uint64   `json:"total,omitempty"`
	Percpu []uint64 `json:"percpu,omitempty"`
	Kernel uint64   `json:"kernel"`
	User   uint64   `json:"user"`
}

type throttling struct {
	Periods          uint64 `json:"periods,omitempty"`
	ThrottledPeriods uint64 `json:"throttled_periods,omitempty"`
	ThrottledTime    uint64 `json:"throttled_time,omitempty"`
}

type memoryEntry struct {
	Limit   uint64 `json:"limit"`
	Usage   uint64 `json:"usage,omitempty"`
	Max     uint64 `json:"max,omitempty"`
	Failcnt uint64 `json:"failcnt"`
}

type memoryStats struct {
	Cache     uint64            `json:"cache,omitempty"`
	Usage     memoryEntry       `json:"usage,omitempty"`
	Swap      memoryEntry       `json:"swap,omitempty"`
	Kernel    memoryEntry       `json:"kernel,omitempty"`
	KernelTCP memoryEntry       `json:"kernelTCP,omitempty"`
	Raw       map[string]uint64 `json:"raw,omitempty"`
}

type pidsStats struct {
	Current uint64 `json:"current,omitempty"`
	Limit   uint64 `json:"limit,omitempty"`
}

type blkioEntry struct {
	Major uint64 `json:"major,omitempty"`
	Minor uint64 `json:"minor,omitempty"`
	Op    string `json:"op,omitempty"`
	Value uint64 `json:"value,omitempty"`
}

type blkioStats struct {
	IoServiceBytesRecursive []blkioEntry `json:"ioServiceBytesRecursive,omitempty"`
	IoServicedRecursive     []blkioEntry `json:"ioServicedRecursive,omitempty"`
}

type hugetlb struct {
	Usage   uint64 `json:"usage,omitempty"`
	Max     uint64 `json:"max,omitempty"`
	Failcnt uint64 `json:"failcnt"`
}

// event is one line of `events` output.
type event struct {
	Type string    `json:"type"`
	ID   string    `json:"id"`
	Data *statsOut `json:"data,omitempty"`
}

func convertStats(s *cgroups.Stats) *statsOut {
	out := &statsOut{Hugetlb: map[string]hugetlb{}}
	switch {
	case s.V1 != nil:
		convertV1(s.V1, out)
	case s.V2 != nil:
		convertV2(s.V2, out)
	}
	return out
}

func entry(e *v1.MemoryEntry) memoryEntry {
	if e == nil {
		return memoryEntry{}
	}
	return memoryEntry{Limit: e.Limit, Usage: e.Usage, Max: e.Max, Failcnt: e.Failcnt}
}

func convertV1(m *v1.Metrics, out *statsOut) {
	if c := m.CPU; c != nil {
		if u := c.Usage; u != nil {
			out.CPU.Usage = cpuUsage{Total: u.Total, Percpu: u.PerCPU, Kernel: u.Kernel, User: u.User}
		}
		if t := c.Throttling; t != nil {
			out.CPU.Throttling = throttling{t.Periods, t.ThrottledPeriods, t.ThrottledTime}
		}
	}
	if mem := m.Memory; mem != nil {
		out.Memory = memoryStats{
			Cache: mem.Cache, Usage: entry(mem.Usage), Swap: entry(mem.Swap),
			Kernel: entry(mem.Kernel), KernelTCP: entry(mem.KernelTCP),
			Raw: map[string]uint64{
				"cache": mem.Cache, "rss": mem.RSS, "rss_huge": mem.RSSHuge,
				"mapped_file": mem.MappedFile, "dirty": mem.Dirty, "writeback": mem.Writeback,
				"pgpgin": mem.PgPgIn, "pgpgout": mem.PgPgOut, "pgfault": mem.PgFault,
				"pgmajfault": mem.PgMajFault, "inactive_anon": mem.InactiveAnon,
				"active_anon": mem.ActiveAnon, "inactive_file": mem.InactiveFile,
				"active_file": mem.ActiveFile, "unevictable": mem.Unevictable,
				"hierarchical_memory_limit": mem.HierarchicalMemoryLimit,
				"hierarchical_memsw_limit":  mem.HierarchicalSwapLimit,
				"total_cache":               mem.TotalCache, "total_rss": mem.TotalRSS,
				"total_rss_huge": mem.TotalRSSHuge, "total_mapped_file": mem.TotalMappedFile,
				"total_dirty": mem.TotalDirty, "total_writeback": mem.TotalWriteback,
				"total_pgpgin": mem.TotalPgPgIn, "total_pgpgout": mem.TotalPgPgOut,
				"total_pgfault": mem.TotalPgFault, "total_pgmajfault": mem.TotalPgMajFault,
				"total_inactive_anon": mem.TotalInactiveAnon, "total_active_anon": mem.TotalActiveAnon,
				"total_inactive_file": mem.TotalInactiveFile, "total_active_file": mem.TotalActiveFile,
				"total_unevictable": mem.TotalUnevictable,
			},
		}
	}
	if p := m.Pids; p != nil {
		out.Pids = pidsStats{Current: p.Current, Limit: p.Limit}
	}
	if b := m.Blkio; b != nil {
		for _, e := range b.IoServiceBytesRecursive {
			out.Blkio.IoServiceBytesRecursive = append(out.Blkio.IoServiceBytesRecursive, blkioEntry{e.Major, e.Minor, e.Op, e.Value})
		}
		for _, e := range b.IoServicedRecursive {
			out.Blkio.IoServicedRecursive = append(out.Blkio.IoServicedRecursive, blkioEntry{e.Major, e.Minor, e.Op, e.Value})
		}
	}
	for _, h := range m.Hugetlb {
		out.Hugetlb[h.Pagesize] = hugetlb{Usage: h.Usage, Max: h.Max, Failcnt: h.Failcnt}
	}
}

// convertV2 maps v2 metrics the way runc does on a v2 host: times from
// microseconds to nanoseconds, the memory "max" as the limit, and the
// oom/max event counters as failcnt.
func convertV2(m *v2.Metrics, out *statsOut) {
	if c := m.CPU; c != nil {
		out.CPU.Usage = cpuUsage{Total: c.UsageUsec * 1000, Kernel: c.SystemUsec * 1000, User: c.UserUsec * 1000}
		out.CPU.Throttling = throttling{c.NrPeriods, c.NrThrottled, c.ThrottledUsec * 1000}
	}
	if mem := m.Memory; mem != nil {
		var failcnt uint64
		if ev := m.MemoryEvents; ev != nil {
			failcnt = ev.Max
		}
		out.Memory = memoryStats{
			Cache: mem.File,
			Usage: memoryEntry{Limit: mem.UsageLimit, Usage: mem.Usage, Max: mem.MaxUsage, Failcnt: failcnt},
			Swap:  memoryEntry{Limit: mem.SwapLimit, Usage: mem.SwapUsage, Max: mem.SwapMaxUsage},
			Raw: map[string]uint64{
				"anon": mem.Anon, "file": mem.File, "kernel_stack": mem.KernelStack,
				"slab": mem.Slab, "sock": mem.Sock, "shmem": mem.Shmem,
				"file_mapped": mem.FileMapped, "file_dirty": mem.FileDirty,
				"file_writeback": mem.FileWriteback, "anon_thp": mem.AnonThp,
				"inactive_anon": mem.InactiveAnon, "active_anon": mem.ActiveAnon,
				"inactive_file": mem.InactiveFile, "active_file": mem.ActiveFile,
				"unevictable": mem.Unevictable, "pgfault": mem.Pgfault, "pgmajfault": mem.Pgmajfault,
			},
		}
	}
	if p := m.Pids; p != nil {
		out.Pids = pidsStats{Current: p.Current, Limit: p.Limit}
	}
	if io := m.Io; io != nil {
		for _, e := range io.Usage {
			out.Blkio.IoServiceBytesRecursive = append(out.Blkio.IoServiceBytesRecursive,
				blkioEntry{e.Major, e.Minor, "Read", e.Rbytes}, blkioEntry{e.Major, e.Minor, "Write", e.Wbytes})
			out.Blkio.IoServicedRecursive = append(out.Blkio.IoServicedRecursive,
				blkioEntry{e.Major, e.Minor, "Read", e.Rios}, blkioEntry{e.Major, e.Minor, "Write", e.Wios})
		}
	}
	for _, h := range m.Hugetlb {
		out.Hugetlb[h.Pagesize] = hugetlb{Usage: h.Current, Max: h.Max}
	}
}
