package cgroups

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/slrt/slrt/runtime/cgroups/statsv1"
	"github.com/slrt/slrt/runtime/cgroups/statsv2"
)

// Stats are the cgroup's metrics in the shape of containerd's types the CRI
// decodes: V1 on hosts whose controllers are on v1 (legacy, hybrid), else V2.
type Stats struct {
	V1 *statsv1.Metrics `json:"v1,omitempty"`
	V2 *statsv2.Metrics `json:"v2,omitempty"`
}

// Stats reads the cgroup's metrics. Files the kernel lacks (swap
// accounting off, no hugepages, no PSI) leave their fields zero; a cgroup
// that is gone is an error.
func (m *Manager) Stats() (*Stats, error) {
	if m.Unified() {
		if _, err := os.Stat(m.v2dir); err != nil {
			return nil, fmt.Errorf("read stats of cgroup %s: %w", m.v2dir, err)
		}
		s, err := statsV2(m.v2dir)
		if err != nil {
			return nil, fmt.Errorf("read stats of cgroup %s: %w", m.v2dir, err)
		}
		return &Stats{V2: s}, nil
	}
	if c, ok := m.pidsController(); ok {
		if _, err := os.Stat(m.v1dirs[c]); err != nil {
			return nil, fmt.Errorf("read stats of cgroup %s: %w", m.loc, err)
		}
	}
	s, err := statsV1(m.v1dirs)
	if err != nil {
		return nil, fmt.Errorf("read stats of cgroup %s: %w", m.loc, err)
	}
	return &Stats{V1: s}, nil
}

// statReader reads cgroup files, remembering the first error other than a
// missing file so a caller can fill a whole struct and check once.
type statReader struct{ err error }

func (r *statReader) keep(err error) bool {
	if err == nil {
		return true
	}
	if !errors.Is(err, fs.ErrNotExist) && r.err == nil {
		r.err = err
	}
	return false
}

// uint reads a one-number file; "max" reads as math.MaxUint64.
func (r *statReader) uint(path string) uint64 {
	s, err := readString(path)
	if !r.keep(err) {
		return 0
	}
	if s == "max" {
		return math.MaxUint64
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		r.keep(fmt.Errorf("parse %s: %w", path, err))
		return 0
	}
	return v
}

// kv reads a flat-keyed file ("key value" lines: memory.stat, cpu.stat,
// memory.events, ...) into a map.
func (r *statReader) kv(path string) map[string]uint64 {
	out := map[string]uint64{}
	f, err := os.Open(path)
	if !r.keep(err) {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		if n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64); err == nil {
			out[k] = n
		}
	}
	r.keep(sc.Err())
	return out
}

// lines reads a file's lines, each split into fields.
func (r *statReader) lines(path string) [][]string {
	b, err := os.ReadFile(path)
	if !r.keep(err) {
		return nil
	}
	var out [][]string
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) > 0 {
			out = append(out, f)
		}
	}
	return out
}

// hugePageSizes lists the host's huge page sizes as cgroup files name them
// ("2MB", "1GB"), from /sys/kernel/mm/hugepages/hugepages-<n>kB.
func hugePageSizes() []string {
	entries, err := os.ReadDir("/sys/kernel/mm/hugepages")
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		kb, ok := strings.CutPrefix(e.Name(), "hugepages-")
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSuffix(kb, "kB"), 10, 64)
		if err != nil {
			continue
		}
		out = append(out, pageSizeName(n<<10))
	}
	return out
}

// pageSizeName renders a page size in bytes the way the hugetlb
// controller's file names do: the largest binary unit that divides it.
func pageSizeName(b uint64) string {
	units := []string{"B", "KB", "MB", "GB", "TB", "PB"}
	i := 0
	for b >= 1024 && b%1024 == 0 && i < len(units)-1 {
		b /= 1024
		i++
	}
	return strconv.FormatUint(b, 10) + units[i]
}

func join(dir, file string) string { return filepath.Join(dir, file) }
