package main

import (
	"errors"
	"io/fs"
	"math"
	"path/filepath"

	"github.com/slrt/slrt/bench/result"
)

// ctrdOut mirrors what bench/ctrd writes (ctrd.json); only the fields the
// report uses.
type ctrdOut struct {
	result.Run
	Containerd string `json:"containerd"`
	Image      string `json:"image"`
	Runtimes   []struct {
		Label, Runtime, Binary, Shim, Version string
	} `json:"runtimes"`
	Samples []result.Sample `json:"samples"`
	Shims   []struct {
		Label                             string
		Pods, Execs, Shims                int
		RssKiB, PssKiB, AnonKiB, MemfdKiB int64
	} `json:"shims"`
}

// loadCtrd reads ctrd.json; nil when this run did not measure the
// containerd level.
func loadCtrd(dir string) (*ctrdOut, error) {
	var c ctrdOut
	err := result.LoadFile(filepath.Join(dir, "ctrd.json"), &c)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// ctrRunVsRunc is the median per-round ratio of slrt's `ctr run` to runc's.
func (c *ctrdOut) ctrRunVsRunc() float64 {
	if c == nil {
		return math.NaN()
	}
	return result.Median(result.Ratios(c.Samples, "ctr run", "slrt", "runc", wall))
}

// shimPerPod is the slrt shim's RSS with one pod, and its PSS per pod at
// the largest pod count measured, in MiB.
func (c *ctrdOut) shimPerPod(label string) (rss1, pssN float64, n int) {
	rss1, pssN = math.NaN(), math.NaN()
	if c == nil {
		return
	}
	for _, s := range c.Shims {
		if s.Label != label || s.Execs > 0 {
			continue
		}
		if s.Pods == 1 {
			rss1 = float64(s.RssKiB) / 1024
		}
		if s.Pods >= n {
			n, pssN = s.Pods, float64(s.PssKiB)/1024/float64(s.Pods)
		}
	}
	return
}

func (r *report) ctrd() {
	c := r.c
	r.p("## 3. containerd level")
	r.p("")
	if c == nil {
		r.p("Not measured in this run (containerd 2.4.2 not built for the smoke, or `SLRT_BENCH_CTRD=0`).")
		r.p("")
		return
	}
	r.p("`bench/ctrd.sh`: a private containerd %s (test/e2e/containerd.sh, its own root, state, sockets and", c.Containerd)
	r.p("mount namespace), image `%s`; `ctr run --rm IMAGE ID /bin/true`, %d interleaved rounds after", c.Image, c.Runs)
	r.p("one untimed round. Each runtime starts its own shim per container, as for a pod.")
	r.p("")
	r.p("| | runtime type | OCI runtime | versions |")
	r.p("|---|---|---|---|")
	for _, rt := range c.Runtimes {
		bin := rt.Binary
		if bin == "" {
			bin = "in the shim"
		}
		r.p("| %s | %s | %s | %s |", rt.Label, rt.Runtime, bin, rt.Version)
	}
	r.p("")
	r.p("crun 1.8.1 refuses the ociVersion 1.2.1 that containerd 2.x writes (\"unknown version specified\"), so")
	r.p("the runc shim runs it through `bench/crun-oci10/crun-oci10.c`, a small static wrapper that rewrites the")
	r.p("bundle's ociVersion to 1.0.2 and execs crun: one more exec per crun call.")
	r.p("")
	r.p("| `ctr run --rm` | wall ms median | wall p10–p90 | ctr CPU ms | wall / runc | wall / crun |")
	r.p("|---|---:|---:|---:|---:|---:|")
	for _, l := range result.Labels(c.Samples, "ctr run") {
		w := result.Select(c.Samples, "ctr run", l, wall)
		r.p("| %s | %s | %s–%s | %s | %s | %s |", l, f1(result.Median(w)), f1(result.Quantile(w, 0.1)), f1(result.Quantile(w, 0.9)),
			f1(result.Median(result.Select(c.Samples, "ctr run", l, cpu))),
			f2(result.Median(result.Ratios(c.Samples, "ctr run", l, "runc", wall))),
			f2(result.Median(result.Ratios(c.Samples, "ctr run", l, "crun", wall))))
	}
	r.p("")
	r.p("![ctr run latency](lat-ctr.png)")
	r.p("")
	r.p("Shim memory with running pods (one `sleep` container each, so one shim each), summed over the shims")
	r.p("from `/proc/PID/smaps_rollup`; the containers' own processes are not counted. PSS shares the pages")
	r.p("the shims have in common (the binary) among them; anonymous memory (heap, stacks) is each shim's own.")
	r.p("The row with execs is the one-pod shim again after that many `ctr task exec` of /bin/true into its")
	r.p("pod (as probes would). memfd: the pages of the memfds the shims hold (slrt's sealed copy of")
	r.p("slrt-init, one per shim), shmem that no smaps of the shim counts since it never maps them. The runc")
	r.p("shim's figures hold for crun too. `bench/notes/footprint.md` has where a shim's memory goes.")
	r.p("")
	r.p("| shim | pods | execs | RSS MiB | PSS MiB | anon MiB | memfd MiB | RSS per pod | PSS per pod |")
	r.p("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, s := range c.Shims {
		name := "containerd-shim-runc-v2"
		switch s.Label {
		case "slrt":
			name = "containerd-shim-slrt-v2"
		case "slrt-b":
			name = "containerd-shim-slrt-v2 (B)"
		}
		rss, pss, anon := float64(s.RssKiB)/1024, float64(s.PssKiB)/1024, float64(s.AnonKiB)/1024
		an, mfd := f1(anon), f1(float64(s.MemfdKiB)/1024)
		if s.AnonKiB == 0 {
			an, mfd = "-", "-" // a ctrd.json from before they were recorded
		}
		r.p("| %s | %d | %d | %s | %s | %s | %s | %s | %s |", name, s.Pods, s.Execs, f1(rss), f1(pss), an, mfd, f2(rss/float64(s.Pods)), f2(pss/float64(s.Pods)))
	}
	r.p("")
}
