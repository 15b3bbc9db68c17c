// Package result holds what the benchmark drivers (bench/oci, bench/engine)
// write as JSON and bench/report reads back, and the order statistics the
// report is made of.
//
// Times on the shared, noisy benchmark machines move with load; the report
// therefore leans on per-round ratios of interleaved runs and on page-fault
// counts, which do not depend on load.
package result

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sort"
	"strings"
	"time"
)

// Load is the 1, 5 and 15 minute load averages from /proc/loadavg.
type Load [3]float64

func (l Load) String() string { return fmt.Sprintf("%.2f %.2f %.2f", l[0], l[1], l[2]) }

// ReadLoad reads /proc/loadavg; zeros when it cannot.
func ReadLoad() Load {
	var l Load
	b, err := os.ReadFile("/proc/loadavg")
	if err == nil {
		fmt.Sscan(string(b), &l[0], &l[1], &l[2])
	}
	return l
}

// Run is what every driver records about its own run.
type Run struct {
	Started   time.Time `json:"started"`
	Finished  time.Time `json:"finished"`
	LoadStart Load      `json:"loadStart"`
	LoadEnd   Load      `json:"loadEnd"`
	Runs      int       `json:"runs"`
}

// Sample is one timed command (CLI level) or one timed operation
// (in-process). CPU and faults include the children the command reaped.
type Sample struct {
	Op      string  `json:"op"`
	Label   string  `json:"label"` // who ran it: "slrt", "runc", "slrt --process", ...
	Round   int     `json:"round"`
	WallMs  float64 `json:"wallMs"`
	UserMs  float64 `json:"userMs"`
	SysMs   float64 `json:"sysMs"`
	MaxRSS  int64   `json:"maxRssKiB"` // largest single process waited for
	MinFlt  int64   `json:"minflt"`
	MajFlt  int64   `json:"majflt"`
	Written int64   `json:"writtenBytes"` // ru_oublock * 512: bytes dirtied on block-backed files
	// In-process only: heap allocations of the operation.
	Mallocs    uint64 `json:"mallocs,omitempty"`
	AllocBytes uint64 `json:"allocBytes,omitempty"`
}

// CPUMs is user+sys.
func (s Sample) CPUMs() float64 { return s.UserMs + s.SysMs }

// Faults is minor+major page faults.
func (s Sample) Faults() int64 { return s.MinFlt + s.MajFlt }

// Save writes v as indented JSON to path.
func Save(path string, v any) error {
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// LoadFile reads the JSON in path into v.
func LoadFile(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode %s: %w", path, err)
	}
	return nil
}

// Quantile is the q-quantile (0..1) of xs by linear interpolation between
// closest ranks; NaN for no data. xs is not modified.
func Quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	pos := q * float64(len(s)-1)
	lo := int(math.Floor(pos))
	hi := int(math.Ceil(pos))
	return s[lo] + (s[hi]-s[lo])*(pos-float64(lo))
}

// Median is Quantile(xs, 0.5).
func Median(xs []float64) float64 { return Quantile(xs, 0.5) }

// Select returns f of every sample with the given op and label, in round
// order.
func Select(ss []Sample, op, label string, f func(Sample) float64) []float64 {
	var out []float64
	for _, s := range ss {
		if s.Op == op && s.Label == label {
			out = append(out, f(s))
		}
	}
	return out
}

// Ratios pairs the samples of a and b taken in the same round of op and
// returns f(a)/f(b) for each round both have.
func Ratios(ss []Sample, op, a, b string, f func(Sample) float64) []float64 {
	byRound := map[int]float64{}
	for _, s := range ss {
		if s.Op == op && s.Label == b {
			byRound[s.Round] = f(s)
		}
	}
	var out []float64
	for _, s := range ss {
		if s.Op != op || s.Label != a {
			continue
		}
		if d, ok := byRound[s.Round]; ok && d > 0 {
			out = append(out, f(s)/d)
		}
	}
	return out
}

// Labels lists the distinct labels of op in first-seen order.
func Labels(ss []Sample, op string) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range ss {
		if s.Op == op && !seen[s.Label] {
			seen[s.Label] = true
			out = append(out, s.Label)
		}
	}
	return out
}

// Slug makes a label usable in a file name.
func Slug(s string) string {
	return strings.NewReplacer(" ", "", "-", "", "/", "_", "+", "_").Replace(s)
}

// FastStart is fastart.json: bench/fastart writes it, bench/report reads it.
type FastStart struct {
	Run
	Samples []Sample `json:"samples"`
	// Memory of parked processes, KiB, one entry per process measured.
	ShellRSS     []float64 `json:"shellRssKiB"`
	ShellPSS     []float64 `json:"shellPssKiB"`
	CreatedRSS   []float64 `json:"createdRssKiB"`
	CreatedPSS   []float64 `json:"createdPssKiB"`
	ShellSpawnMs []float64 `json:"shellSpawnMs"`
}
