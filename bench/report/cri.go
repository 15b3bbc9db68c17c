package main

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/slrt/slrt/bench/result"
)

// criOut mirrors what bench/cri writes (cri.json); only the fields the
// report uses.
type criOut struct {
	result.Run
	Containerd string   `json:"containerd"`
	Image      string   `json:"image"`
	Command    []string `json:"command"`
	Variants   []struct {
		Label, Handler string
		Annotations    map[string]string
		Image          string // the stamp image of a first-instruction variant
	} `json:"variants"`
	Samples []result.Sample `json:"samples"`
}

// The labels bench/cri gives slrt's handler, its fast-start variant and
// the runc handler (bench/cri.sh: -handlers sl,runc).
const (
	criSl   = "sl"
	criFast = "sl fast-start"
	criRunc = "runc"
	criCrun = "crun"
)

// loadCri reads cri.json; nil when this run did not measure the CRI level.
func loadCri(dir string) (*criOut, error) {
	var c criOut
	err := result.LoadFile(filepath.Join(dir, "cri.json"), &c)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// ratio is the median per-round ratio a/b of op; NaN without data.
func (c *criOut) ratio(op, a, b string) float64 {
	if c == nil {
		return math.NaN()
	}
	return result.Median(result.Ratios(c.Samples, op, a, b, wall))
}

// criGoals writes the Goals rows of the CRI level.
func (r *report) criGoals(mark func(bool) string) {
	c := r.cr
	if c == nil {
		r.p("| CRI pod start (RunPodSandbox + CreateContainer + StartContainer) `sl` vs `runc` handler | ≤ 0.6x | not measured in this run | |")
		r.p("| CRI CreateContainer+StartContainer with `slrt.io/fast-start` vs without | ≥ 2x faster | not measured in this run | |")
		return
	}
	start := c.ratio("pod start", criSl, criRunc)
	fast := 1 / c.ratio("create+start", criFast, criSl)
	r.p("| CRI pod start (RunPodSandbox + CreateContainer + StartContainer) `sl` vs `runc` handler (median of per-round ratios) | ≤ 0.6x | %sx | %s |", f2(start), mark(start <= 0.6))
	r.p("| CRI CreateContainer+StartContainer with `slrt.io/fast-start` vs without (how many times faster) | ≥ 2x faster | %sx | %s |", f2(fast), mark(fast >= 2))
}

func (r *report) cri() {
	c := r.cr
	r.p("## 3b. CRI level")
	r.p("")
	if c == nil {
		r.p("Not measured in this run (containerd 2.4.2 not built for the smoke, or `SLRT_BENCH_CRI=0`).")
		r.p("")
		return
	}
	r.p("`bench/cri.sh`: a private containerd %s in CRI mode (test/e2e/containerd.sh with `SLRT_CRI=1`: CNI", c.Containerd)
	r.p("bridge, handlers `sl` = io.containerd.slrt.v2 and `runc` = io.containerd.runc.v2 with the host's runc; `crun`,")
	r.p("when measured, is the same runc shim running crun through `bench/crun-oci10` as in §3), driven")
	r.p("by `bench/cri`, a CRI client over gRPC, as kubelet drives it. Per pod: RunPodSandbox; then CreateContainer +")
	r.p("StartContainer of `%s` (image `%s`, kubelet's masked and", shellJoin(c.Command), c.Image)
	r.p("read-only paths); the container exits with 1 after 300 ms (a crash) and, once ContainerStatus says EXITED,")
	r.p("its replacement (attempt 1) is created and started in the same pod, as kubelet restarts it (**restart**).")
	r.p("Then the pod is stopped and removed. %d rounds after one untimed round (load %s → %s); each round runs", c.Runs, c.LoadStart, c.LoadEnd)
	r.p("one pod of every variant in turn, so ratios are per round. **pod start** = RunPodSandbox + create+start;")
	r.p("CreateContainer and StartContainer are the two halves of the first container's create+start.")
	r.p("The fast-start variant's timed creates begin with the pod's pool full (as at steady state) and each is")
	r.p("checked to have been made from one of the parked shells (its init's pid was a shell's).")
	r.p("")
	r.p("| variant | handler | pod annotations | image |")
	r.p("|---|---|---|---|")
	for _, v := range c.Variants {
		var ann []string
		for k, val := range v.Annotations {
			ann = append(ann, "`"+k+": \""+val+"\"`")
		}
		sort.Strings(ann)
		img := v.Image
		if img == "" {
			img = c.Image
		}
		r.p("| %s | %s | %s | %s |", v.Label, v.Handler, strings.Join(ann, ", "), img)
	}
	r.p("")
	r.p("| | variant | p50 ms | p10–p90 | p99 ms | / runc | / crun | / sl |")
	r.p("|---|---|---:|---:|---:|---:|---:|---:|")
	for _, op := range []string{"RunPodSandbox", "create+start", "CreateContainer", "StartContainer", "restart", "pod start"} {
		for _, l := range result.Labels(c.Samples, op) {
			w := result.Select(c.Samples, op, l, wall)
			vs := func(base string) string {
				if l == base {
					return ""
				}
				return f2(c.ratio(op, l, base)) + "x"
			}
			r.p("| %s | %s | %s | %s–%s | %s | %s | %s | %s |", op, l, f1(result.Median(w)),
				f1(result.Quantile(w, 0.1)), f1(result.Quantile(w, 0.9)), f1(result.Quantile(w, 0.99)),
				vs(criRunc), vs(criCrun), vs(criSl))
		}
	}
	r.p("")
	r.p("Ratios are medians of per-round ratios (below 1: faster than the column's variant). With %d rounds the", c.Runs)
	r.p("p99 is close to the slowest round. The CRI plugin's own work (the image's snapshot, the spec, the CNI")
	r.p("ADD of a sandbox, containerd's task API) is in every variant's time alike, so the same saving in the")
	r.p("shim is a smaller ratio here than in-process (§2b). Fast start, as times faster than `sl` (median of")
	r.p("per-round ratios): %sx for create+start, %sx for a restart.",
		f2(1/c.ratio("create+start", criFast, criSl)), f2(1/c.ratio("restart", criFast, criSl)))
	r.p("")
	c.firstInstruction(r)
	r.p("![CRI latency](lat-cri.png)")
	r.p("")
}

// opFirst is bench/cri's op for StartContainer to the workload's first
// instruction.
const opFirst = "first instruction"

// firstInstruction writes the first-instruction rows, when the run has
// them: their own table, since their pods run another image and only the
// start is timed.
func (c *criOut) firstInstruction(r *report) {
	labels := result.Labels(c.Samples, opFirst)
	if len(labels) == 0 {
		return
	}
	// The reference is the variant without a hint (runc's), the base for
	// the hint's cost slrt's normal start with it.
	var ref, base string
	for _, v := range c.Variants {
		if v.Image == "" {
			continue
		}
		if _, hinted := v.Annotations["slrt.io/cpu-affinity"]; !hinted && ref == "" {
			ref = v.Label
		}
		if _, fast := v.Annotations["slrt.io/fast-start"]; !fast && base == "" && v.Handler == criSl {
			base = v.Label
		}
	}
	r.p("**StartContainer to the workload's first instruction**, in the same rounds: pods whose container is")
	r.p("`test/e2e/imgsrc/stamp.c` (a static program without libc that reads `CLOCK_REALTIME` first thing in its")
	r.p("`_start`, then prints it with its `sched_getaffinity` and exits), timed from the client's clock just")
	r.p("before StartContainer to that stamp, read back from the container's log. `sl` runs it with the pod")
	r.p("annotation `slrt.io/cpu-affinity`, with and without fast start (each round fails unless the workload")
	r.p("reports exactly the hinted CPUs); the other handlers without a hint, as the reference.")
	r.p("")
	r.p("| | variant | p50 ms | p10–p90 | p99 ms | / %s | / %s |", ref, base)
	r.p("|---|---|---:|---:|---:|---:|---:|")
	for _, l := range labels {
		w := result.Select(c.Samples, opFirst, l, wall)
		vs := func(b string) string {
			if l == b || b == "" {
				return ""
			}
			return f2(c.ratio(opFirst, l, b)) + "x"
		}
		r.p("| %s | %s | %s | %s–%s | %s | %s | %s |", opFirst, l, f1(result.Median(w)),
			f1(result.Quantile(w, 0.1)), f1(result.Quantile(w, 0.9)), f1(result.Quantile(w, 0.99)), vs(ref), vs(base))
	}
	r.p("")
}

// criPlots are the CRI ops bench/plot.gp draws in lat-cri.png, one panel
// each, and the files it reads them from.
var criPlots = []struct{ op, file string }{
	{"pod start", "lat-cri-pod.dat"},
	{"create+start", "lat-cri-create.dat"},
	{"restart", "lat-cri-restart.dat"},
	{opFirst, "lat-cri-first.dat"},
}

// writeCriData writes the per-variant latency columns of lat-cri.png; with
// no CRI run (c nil) it removes them, and plot.gp then leaves the PNG as
// it is.
func writeCriData(dir string, c *criOut) error {
	for _, pl := range criPlots {
		path := filepath.Join(dir, pl.file)
		if c == nil {
			if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			continue
		}
		if err := columns(path, c.Samples, pl.op, result.Labels(c.Samples, pl.op)); err != nil {
			return fmt.Errorf("%s: %w", pl.file, err)
		}
	}
	return nil
}

// shellJoin writes args as a shell would need them typed.
func shellJoin(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = a
		if strings.ContainsAny(a, " ;'\"$") {
			q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(q, " ")
}
