// Command report turns the drivers' oci.json and engine.json into
// REPORT.md and the data files bench/plot.gp draws.
package main

import (
	"flag"
	"fmt"
	"log"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/slrt/slrt/bench/result"
)

// ociOut and engineOut mirror what bench/oci and bench/engine write; only
// the fields the report uses.
type ociOut struct {
	result.Run
	Machine struct {
		Kernel, CPU, OS, Cgroups, Go string
		CPUs                         int
		MemKiB                       int64
		RunFS                        string `json:"runFs"`
	} `json:"machine"`
	Runtimes []struct {
		Name, Bin, Version string
		FastStart          bool
	} `json:"runtimes"`
	Samples  []result.Sample `json:"samples"`
	Binaries []struct {
		Name, Path      string
		Bytes, LibBytes int64
		Stripped        bool
		Libs            []string
	} `json:"binaries"`
	Parked []struct {
		Runtime                 string
		Containers, Procs       int
		Threads                 int
		RssKiB, PssKiB, AnonKiB int64
	} `json:"parked"`
	Writes []struct {
		Runtime, RootKind, Lifecycle string
		Count                        int
		BytesPer                     float64
	} `json:"writes"`
}

type engineOut struct {
	result.Run
	Samples []result.Sample `json:"samples"`
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("bench/report: ")
	in := flag.String("in", "bench/results", "directory with oci.json and engine.json; REPORT.md and the plot data go there too")
	commit := flag.String("commit", "unknown", "slrt commit measured")
	mode := flag.String("mode", "full", "full or smoke (named in the report)")
	plots := flag.Bool("plots", true, "the PNG plots are made from this run's data after (bench.sh: false without gnuplot, and the existing PNGs stay)")
	flag.Parse()
	var o ociOut
	var e engineOut
	if err := result.LoadFile(filepath.Join(*in, "oci.json"), &o); err != nil {
		log.Fatal(err)
	}
	if err := result.LoadFile(filepath.Join(*in, "engine.json"), &e); err != nil {
		log.Fatal(err)
	}
	c, err := loadCtrd(*in)
	if err != nil {
		log.Fatal(err)
	}
	cr, err := loadCri(*in)
	if err != nil {
		log.Fatal(err)
	}
	if err := writeData(*in, &o, &e, c, *plots); err != nil {
		log.Fatal(err)
	}
	if err := writeCriData(*in, cr); err != nil {
		log.Fatal(err)
	}
	var w strings.Builder
	r := &report{w: &w, o: &o, e: &e, c: c, cr: cr}
	r.header(*commit, *mode, *plots)
	r.goals()
	r.cli()
	r.engine()
	if err := r.fastart(*in); err != nil {
		log.Fatal(err)
	}
	r.ctrd()
	r.cri()
	r.footprint()
	r.storage()
	r.method()
	if err := os.WriteFile(filepath.Join(*in, "REPORT.md"), []byte(w.String()), 0o644); err != nil {
		log.Fatal(err)
	}
}

type report struct {
	w  *strings.Builder
	o  *ociOut
	e  *engineOut
	c  *ctrdOut // nil: the containerd level was not measured
	cr *criOut  // nil: the CRI level was not measured
}

func (r *report) p(format string, a ...any) { fmt.Fprintf(r.w, format+"\n", a...) }

func wall(s result.Sample) float64   { return s.WallMs }
func cpu(s result.Sample) float64    { return s.CPUMs() }
func faults(s result.Sample) float64 { return float64(s.Faults()) }
func rss(s result.Sample) float64    { return float64(s.MaxRSS) / 1024 }

func f1(x float64) string {
	if math.IsNaN(x) {
		return "-"
	}
	return fmt.Sprintf("%.1f", x)
}

func f2(x float64) string {
	if math.IsNaN(x) {
		return "-"
	}
	return fmt.Sprintf("%.2f", x)
}

func (r *report) header(commit, mode string, plots bool) {
	m := r.o.Machine
	r.p("# slrt benchmark report")
	r.p("")
	r.p("Made by `make bench` (`bench/bench.sh`, mode **%s**) on %s, slrt commit `%s`.", mode, r.o.Started.UTC().Format("2006-01-02 15:04 MST"), commit)
	if !plots {
		r.p("")
		r.p("**Plots not regenerated** (no gnuplot on the machine that ran it): the PNGs below are from an")
		r.p("earlier run and do not show these numbers; the tables do.")
		r.p("")
	}
	r.p("The machine is shared: absolute times move with load. Read the **per-round ratios** (runtimes run")
	r.p("interleaved, so each ratio compares runs made under the same load) and the **page faults** (about")
	r.p("13 µs each on these VMs, and independent of load).")
	r.p("")
	r.p("| | |")
	r.p("|---|---|")
	r.p("| machine | %d × %s, %.1f GiB RAM, %s |", m.CPUs, m.CPU, float64(m.MemKiB)/(1<<20), m.OS)
	r.p("| kernel | %s |", m.Kernel)
	r.p("| cgroups | %s |", m.Cgroups)
	r.p("| /run | %s |", m.RunFS)
	for _, rt := range r.o.Runtimes {
		r.p("| %s | %s (`%s`) |", rt.Name, rt.Version, rt.Bin)
	}
	r.p("| Go | %s |", m.Go)
	r.p("| load average (1 5 15 min) | start %s, end %s |", r.o.LoadStart, r.e.LoadEnd)
	r.p("| rounds | CLI %d per operation, engine %d |", r.o.Runs, r.e.Runs)
	r.p("| duration | %s |", r.e.Finished.Sub(r.o.Started).Round(time.Second))
	r.p("")
}

func (r *report) binary(name string) (int64, bool) {
	for _, b := range r.o.Binaries {
		if b.Name == name {
			return b.Bytes, true
		}
	}
	return 0, false
}

func (r *report) goals() {
	ss := r.o.Samples
	runVsCrun := result.Median(result.Ratios(ss, "run", "slrt", "crun", wall))
	startVsCrun := result.Median(result.Ratios(ss, "start", "slrt", "crun", wall))
	fastVsCrun := result.Median(result.Ratios(ss, "start", "slrt --process", "crun", wall))
	inproc := result.Median(result.Select(r.e.Samples, "lifecycle", "create+start+exit", wall))
	size, _ := r.binary("slrt")
	parked := math.NaN()
	for _, p := range r.o.Parked {
		if p.Runtime == "slrt" && p.Containers == 1 {
			parked = float64(p.RssKiB) / 1024
		}
	}
	mark := func(ok bool) string {
		if ok {
			return "met"
		}
		return "**not met**"
	}
	r.p("## Goals (reported, never asserted)")
	r.p("")
	r.p("| goal | target | measured | |")
	r.p("|---|---:|---:|---|")
	r.p("| `slrt run` vs `crun run` (wall, median of per-round ratios) | ≤ 0.80x | %sx | %s |", f2(runVsCrun), mark(runVsCrun <= 0.8))
	r.p("| pre-created `slrt start` vs `crun start` | ≤ 0.70x | %sx | %s |", f2(startVsCrun), mark(startVsCrun <= 0.7))
	r.p("| pre-created `slrt start --process` vs `crun start` | ≤ 0.70x | %sx | %s |", f2(fastVsCrun), mark(fastVsCrun <= 0.7))
	r.p("| in-process create+start+exit (median) | ≤ 9.5 ms | %s ms | %s |", f1(inproc), mark(inproc <= 9.5))
	r.p("| `build/slrt` stripped | ≤ 6 MB | %.2f MB | %s |", float64(size)/1e6, mark(size <= 6e6))
	r.p("| parked pre-created container (RSS) | ≤ 2.2 MiB | %s MiB | %s |", f2(parked), mark(parked <= 2.2))
	ctrRun := r.c.ctrRunVsRunc()
	rss1, pssN, n := r.c.shimPerPod("slrt")
	r.p("| `ctr run --rm` slrt.v2 vs runc.v2+runc (wall, median of per-round ratios) | ≤ 0.50x | %sx | %s |", f2(ctrRun), mark(ctrRun <= 0.5))
	r.p("| slrt shim RSS with one pod | ≤ 6 MiB | %s MiB | %s |", f1(rss1), mark(rss1 <= 6))
	r.p("| slrt shim PSS per pod with %d pods | ≤ 6 MiB | %s MiB | %s |", n, f1(pssN), mark(pssN <= 6))
	r.criGoals(mark)
	r.p("")
}

// cli writes one table per operation.
func (r *report) cli() {
	ss := r.o.Samples
	r.p("## 1. OCI CLI level")
	r.p("")
	r.p("One bundle for all (busybox, `/bin/true`, read-only root, the image's namespaces, mounts and devices")
	r.p("rule). `run` = create + start + wait + delete in one command; `create` alone; `start` of a")
	r.p("pre-created container (returns once the workload is exec'd); `slrt --process` is `slrt start")
	r.p("--process FILE` with `{\"args\":[\"/bin/true\"]}` (fast start: the process is given at start).")
	r.p("CPU, peak RSS and faults come from wait4's rusage: the command and the children it reaped (the parked")
	r.p("init of `create` is not reaped by it, so its cost shows in neither create nor start).")
	r.p("Ratios: median over rounds of (label / peer) in the same round; below 1 means slrt is faster.")
	r.p("")
	for _, op := range []string{"run", "create", "start"} {
		r.p("### %s", op)
		r.p("")
		r.p("| | wall ms median | wall p10–p90 | CPU ms | peak RSS MiB | page faults | wall / runc | wall / crun | faults / crun |")
		r.p("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
		for _, l := range result.Labels(ss, op) {
			w := result.Select(ss, op, l, wall)
			r.p("| %s | %s | %s–%s | %s | %s | %.0f | %s | %s | %s |", l,
				f1(result.Median(w)), f1(result.Quantile(w, 0.1)), f1(result.Quantile(w, 0.9)),
				f1(result.Median(result.Select(ss, op, l, cpu))),
				f1(result.Median(result.Select(ss, op, l, rss))),
				result.Median(result.Select(ss, op, l, faults)),
				f2(result.Median(result.Ratios(ss, op, l, "runc", wall))),
				f2(result.Median(result.Ratios(ss, op, l, "crun", wall))),
				f2(result.Median(result.Ratios(ss, op, l, "crun", faults))))
		}
		r.p("")
		r.p("![%s latency](lat-%s.png)", op, op)
		r.p("")
	}
}

func (r *report) engine() {
	ss := r.e.Samples
	r.p("## 2. Engine in-process (what the shim pays)")
	r.p("")
	r.p("`bench/engine` drives `runtime/container` in one long-lived process, as the shim will: Create, Start,")
	r.p("Init().Wait() and Delete of `/bin/true`; and Start of a container created beforehand (untimed), up to")
	r.p("the workload's exit. Faults and CPU are this process plus the inits it reaped; for the start rows")
	r.p("that includes the init's own set-up during the untimed create (it is accounted when reaped).")
	r.p("Allocations are Go heap allocations of the operation (runtime.MemStats).")
	r.p("")
	r.p("| | wall ms median | p10–p90 | p99 | CPU ms | page faults | allocs | alloc KiB |")
	r.p("|---|---:|---:|---:|---:|---:|---:|---:|")
	for _, op := range []string{"lifecycle", "start"} {
		for _, l := range result.Labels(ss, op) {
			w := result.Select(ss, op, l, wall)
			r.p("| %s | %s | %s–%s | %s | %s | %.0f | %.0f | %.0f |", l,
				f2(result.Median(w)), f1(result.Quantile(w, 0.1)), f1(result.Quantile(w, 0.9)), f1(result.Quantile(w, 0.99)),
				f1(result.Median(result.Select(ss, op, l, cpu))),
				result.Median(result.Select(ss, op, l, faults)),
				result.Median(result.Select(ss, op, l, func(s result.Sample) float64 { return float64(s.Mallocs) })),
				result.Median(result.Select(ss, op, l, func(s result.Sample) float64 { return float64(s.AllocBytes) / 1024 })))
		}
	}
	r.p("")
	r.p("![engine latency](engine.png)")
	r.p("")
}
