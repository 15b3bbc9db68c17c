package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/slrt/slrt/bench/result"
)

// writeData writes the tab-separated files bench/plot.gp draws: one column
// per label (first line: the labels), one row per round. plots says whether
// plot.gp runs after: without it no PNG is touched (the committed ones stay,
// and the report says they are from an earlier run).
func writeData(dir string, o *ociOut, e *engineOut, c *ctrdOut, plots bool) error {
	for _, op := range []string{"run", "create", "start"} {
		if err := columns(filepath.Join(dir, "lat-"+op+".dat"), o.Samples, op, result.Labels(o.Samples, op)); err != nil {
			return err
		}
	}
	// lat-ctr.dat exists only when this run measured the containerd level
	// (plot.gp draws it when it is there); a plot of an earlier run's goes
	// only when this run's plots replace it.
	os.Remove(filepath.Join(dir, "lat-ctr.dat"))
	if plots {
		os.Remove(filepath.Join(dir, "lat-ctr.png"))
	}
	if c != nil {
		if err := columns(filepath.Join(dir, "lat-ctr.dat"), c.Samples, "ctr run", result.Labels(c.Samples, "ctr run")); err != nil {
			return err
		}
	}
	var labels []string
	for _, op := range []string{"lifecycle", "start"} {
		for _, l := range result.Labels(e.Samples, op) {
			if l == "delete" {
				continue
			}
			labels = append(labels, l)
		}
	}
	if err := columns(filepath.Join(dir, "engine.dat"), e.Samples, "", labels); err != nil {
		return err
	}

	var b strings.Builder
	b.WriteString("binary\tMB\n")
	for _, bin := range o.Binaries {
		fmt.Fprintf(&b, "%q\t%.3f\n", bin.Name, float64(bin.Bytes)/1e6)
	}
	if err := os.WriteFile(filepath.Join(dir, "footprint-size.dat"), []byte(b.String()), 0o644); err != nil {
		return err
	}

	b.Reset()
	b.WriteString("runtime\t\"peak RSS, run\"\t\"parked RSS\"\t\"parked PSS (1 parked)\"\t\"parked PSS (N parked, per container)\"\n")
	for _, rt := range o.Runtimes {
		var rss1, pss1, pssN float64
		for _, p := range o.Parked {
			if p.Runtime != rt.Name {
				continue
			}
			if p.Containers == 1 {
				rss1, pss1 = float64(p.RssKiB)/1024, float64(p.PssKiB)/1024
			} else {
				pssN = float64(p.PssKiB) / 1024
			}
		}
		peak := result.Median(result.Select(o.Samples, "run", rt.Name, rss))
		fmt.Fprintf(&b, "%q\t%.2f\t%.2f\t%.2f\t%.2f\n", rt.Name, peak, rss1, pss1, pssN)
	}
	return os.WriteFile(filepath.Join(dir, "footprint-mem.dat"), []byte(b.String()), 0o644)
}

// columns writes wall ms of op (every op when "") per label, a row per round.
func columns(path string, ss []result.Sample, op string, labels []string) error {
	cols := make([][]float64, len(labels))
	n := 0
	for i, l := range labels {
		for _, s := range ss {
			if (op == "" || s.Op == op) && s.Label == l {
				cols[i] = append(cols[i], s.WallMs)
			}
		}
		n = max(n, len(cols[i]))
	}
	var b strings.Builder
	for i, l := range labels {
		if i > 0 {
			b.WriteByte('\t')
		}
		fmt.Fprintf(&b, "%q", l)
	}
	b.WriteByte('\n')
	for row := 0; row < n; row++ {
		for i := range labels {
			if i > 0 {
				b.WriteByte('\t')
			}
			if row < len(cols[i]) {
				fmt.Fprintf(&b, "%.3f", cols[i][row])
			} else {
				b.WriteString("NaN")
			}
		}
		b.WriteByte('\n')
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
