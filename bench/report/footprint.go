package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/slrt/slrt/bench/result"
)

// footprintNotes is the hand-written part of the footprint section,
// relative to the repository (make bench runs from there).
const footprintNotes = "bench/notes/footprint.md"

func (r *report) footprint() {
	r.p("## 4. Footprint")
	r.p("")
	r.p("### Binaries")
	r.p("")
	r.p("| binary | bytes | MB | stripped | shared libraries (their bytes) |")
	r.p("|---|---:|---:|---|---|")
	for _, b := range r.o.Binaries {
		libs := "none (static)"
		if len(b.Libs) > 0 {
			libs = fmt.Sprintf("%s (%.2f MB)", strings.Join(b.Libs, ", "), float64(b.LibBytes)/1e6)
		}
		r.p("| %s | %d | %.2f | %v | %s |", b.Name, b.Bytes, float64(b.Bytes)/1e6, b.Stripped, libs)
	}
	r.p("")
	r.p("`slrt` embeds `slrt-init` (exec'd from a sealed memfd), so its size includes it. `slrt-installer`")
	r.p("runs only in the chart's installer image; nodes never carry it.")
	r.p("")
	// Analyses made by hand (where the bytes go, before/after a change)
	// live beside the generator, so a new run keeps them.
	if b, err := os.ReadFile(footprintNotes); err == nil {
		r.p("%s", strings.TrimSpace(string(b)))
		r.p("")
	}
	r.p("### Peak RSS per CLI invocation (MiB, median; largest single process)")
	r.p("")
	r.p("| | run | create | start |")
	r.p("|---|---:|---:|---:|")
	for _, l := range result.Labels(r.o.Samples, "start") {
		var cells []string
		for _, op := range []string{"run", "create", "start"} {
			cells = append(cells, f1(result.Median(result.Select(r.o.Samples, op, l, rss))))
		}
		r.p("| %s | %s |", l, strings.Join(cells, " | "))
	}
	r.p("")
	r.p("### A parked pre-created container")
	r.p("")
	r.p("What stays in memory between `create` and `start`: the state pid's process and its descendants,")
	r.p("from /proc/PID/smaps_rollup. With N parked at once, PSS shows how much the inits share.")
	r.p("")
	r.p("| runtime | parked at once | processes | threads | RSS MiB | anon MiB | PSS MiB per container |")
	r.p("|---|---:|---:|---:|---:|---:|---:|")
	for _, p := range r.o.Parked {
		r.p("| %s | %d | %d | %d | %.2f | %.2f | %.2f |", p.Runtime, p.Containers, p.Procs, p.Threads,
			float64(p.RssKiB)/1024, float64(p.AnonKiB)/1024, float64(p.PssKiB)/1024)
	}
	r.p("")
	r.p("![binary sizes](footprint-size.png) ![memory](footprint-mem.png)")
	r.p("")
}

func (r *report) storage() {
	r.p("## 5. Storage writes per container lifecycle")
	r.p("")
	r.p("Bytes the runtime's process tree dirtied on block-backed files (wait4 `ru_oublock` × 512, summed over")
	r.p("the commands of a lifecycle, mean over the lifecycles). It counts file data even when the file is")
	r.p("deleted before writeback (so it is an upper bound for data) and does not count journal or inode")
	r.p("updates (a lower bound for what the flash sees). `tmpfs`: state root on the private tmpfs (the fair")
	r.p("setting); `disk`: state root on the root file system, which is where `/run/<runtime>` lives on a host")
	r.p("whose /run is not a tmpfs (here /run is on: %s).", r.o.Machine.RunFS)
	r.p("")
	r.p("| runtime | state root | lifecycle | lifecycles | bytes per lifecycle |")
	r.p("|---|---|---|---:|---:|")
	for _, w := range r.o.Writes {
		r.p("| %s | %s | %s | %d | %.0f |", w.Runtime, w.RootKind, w.Lifecycle, w.Count, w.BytesPer)
	}
	r.p("")
}

func (r *report) method() {
	r.p("## Method")
	r.p("")
	r.p("- Everything runs as root in one private mount namespace with an empty file bind-mounted over")
	r.p("  `/sys/fs/cgroup/unified/cgroup.controllers` (crun 1.8.1 refuses hybrid cgroup hosts otherwise) and")
	r.p("  the state roots on a tmpfs mounted there. Every runtime gets its own `--root`.")
	r.p("- `bench/oci` fork/execs each command and reads wait4's rusage: wall (around fork to reap), user+sys,")
	r.p("  ru_maxrss, ru_minflt+ru_majflt, ru_oublock. stdio are files, never pipes. Preparation (`create`")
	r.p("  before `start`) and clean-up (`delete --force`) are untimed. One warm-up round per operation.")
	r.p("- Rounds interleave the runtimes (A B C, B C A, …); ratios pair runs of the same round.")
	r.p("- Each timed CLI command starts after 100 ms idle (`bench/oci -gap`): a process moved into a cgroup")
	r.p("  (cgroup.procs) waits for an RCU grace period unless another move happened just before, so back to")
	r.p("  back one runtime's create would pay or spare the next one's.")
	r.p("- The bundle is the busybox image's config.json with args `/bin/true`, ociVersion 1.0.2 (crun 1.8.1")
	r.p("  rejects 1.3.0) and the rootfs shared read-only; no seccomp profile.")
	r.p("- No timing is ever asserted: `make bench-smoke` (CI) fails only when a command fails or state is left")
	r.p("  behind.")
	r.p("- `bench/ctrd` times `ctr run --rm` (wall around fork to reap; CPU is ctr's own, the daemon's and")
	r.p("  the shims' work shows in the wall time only) and runs inside the private containerd's mount namespace.")
	r.p("- `bench/cri` times CRI calls (wall around each gRPC call, on the client) against the private")
	r.p("  containerd in CRI mode; pods and their cgroups are removed after each, untimed.")
}
