package main

import (
	"errors"
	"io/fs"
	"path/filepath"

	"github.com/slrt/slrt/bench/result"
)

// firstNormal is the reference of the during-the-first-spawn rows.
const firstNormal = "create+start during the first spawn, the normal way"

// fastart writes the fast-start section when the run measured it
// (fastart.json in dir).
func (r *report) fastart(dir string) error {
	var f result.FastStart
	err := result.LoadFile(filepath.Join(dir, "fastart.json"), &f)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	ss := f.Samples
	r.p("## 2b. Fast start (in-process, what the shim pays)")
	r.p("")
	r.p("`bench/fastart`, %d interleaved rounds (load %s → %s). A container made from a parked shell", f.Runs, f.LoadStart, f.LoadEnd)
	r.p("(`container.Shell`, taken from a `fastart.Pool` that is full again before each round, as a pod's")
	r.p("pool is at steady state) against the normal path: create+start of `/bin/true` (what CRI's")
	r.p("CreateContainer+StartContainer cost the shim) and on to its exit; and Start")
	r.p("alone (it returns when the init has reached execve: the workload's first instruction) with and")
	r.p("without a CPU hint. The ratio is the median of per-round ratios. **During the first spawn**: a")
	r.p("create+start that arrives as a new pool (a pod just started) begins spawning its first shell, either")
	r.p("made the normal way beside the spawn or waiting for that shell (`fastart.Config.SpawnWait`, what the")
	r.p("shim does), timed from the pool's creation: the worst case for waiting.")
	r.p("")
	r.p("| | wall ms p50 | p99 | ratio to the normal path |")
	r.p("|---|---:|---:|---:|")
	for _, row := range []struct{ op, label, base string }{
		{"create", "create+start", ""},
		{"create", "create+start from a shell", "create+start"},
		{"lifecycle", "create+start+exit", ""},
		{"lifecycle", "create+start+exit from a shell", "create+start+exit"},
		{"start", "start", ""},
		{"start", "start, cpu-affinity 0", "start"},
		{"start", "start, cpu-affinity auto", "start"},
		{"first", firstNormal, ""},
		{"first", "create+start during the first spawn, waiting for it", firstNormal},
	} {
		w := result.Select(ss, row.op, row.label, wall)
		if len(w) == 0 {
			continue // a fastart.json from before these rows
		}
		ratio := "1"
		if row.base != "" {
			ratio = f2(result.Median(result.Ratios(ss, row.op, row.label, row.base, wall))) + "x"
		}
		r.p("| %s | %s | %s | %s |", row.label, f2(result.Median(w)), f1(result.Quantile(w, 0.99)), ratio)
	}
	r.p("")
	r.p("Memory of %d parked processes each (KiB, median; PSS shares the init's pages among them):", len(f.ShellRSS))
	r.p("")
	r.p("| | RSS | PSS | goal |")
	r.p("|---|---:|---:|---|")
	r.p("| parked shell | %.0f | %.0f | RSS ≤ 2253 (2.2 MiB) |", result.Median(f.ShellRSS), result.Median(f.ShellPSS))
	r.p("| parked pre-created container | %.0f | %.0f | |", result.Median(f.CreatedRSS), result.Median(f.CreatedPSS))
	r.p("")
	r.p("Spawning a shell (in the background, off any request's path): %s ms median.", f2(result.Median(f.ShellSpawnMs)))
	r.p("")
	return nil
}
