package process

import (
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// maxCPU is the first CPU number a unix.CPUSet cannot hold.
const maxCPU = len(unix.CPUSet{}) * 64

// ParseCPUs parses a Linux CPU list ("0-2,5", as in cpuset.cpus,
// execCPUAffinity and the start-with-process "cpus" field). Spaces around
// items and a trailing newline (as read from /sys) are accepted; an empty
// list is an error, because an empty affinity mask is one the kernel
// rejects and the caller means "inherit" by leaving the field out.
func ParseCPUs(list string) (unix.CPUSet, error) {
	var set unix.CPUSet
	s := strings.TrimSpace(list)
	if s == "" {
		return set, fmt.Errorf("cpu list %q: empty", list)
	}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			return set, fmt.Errorf("cpu list %q: empty item", list)
		}
		lo, hi, isRange := strings.Cut(item, "-")
		first, err := parseCPU(lo)
		if err != nil {
			return set, fmt.Errorf("cpu list %q: %w", list, err)
		}
		last := first
		if isRange {
			if last, err = parseCPU(hi); err != nil {
				return set, fmt.Errorf("cpu list %q: %w", list, err)
			}
			if last < first {
				return set, fmt.Errorf("cpu list %q: range %q ends before it starts", list, item)
			}
		}
		for c := first; c <= last; c++ {
			set.Set(c)
		}
	}
	return set, nil
}

func parseCPU(s string) (int, error) {
	s = strings.TrimSpace(s)
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || strings.HasPrefix(s, "+") {
		return 0, fmt.Errorf("invalid CPU number %q", s)
	}
	if n >= maxCPU {
		return 0, fmt.Errorf("CPU %d out of range (max %d)", n, maxCPU-1)
	}
	return n, nil
}

// FormatCPUs is the inverse of ParseCPUs, with runs folded into ranges
// ("0-2,5"); an empty set formats as "".
func FormatCPUs(set unix.CPUSet) string {
	var b strings.Builder
	for c := 0; c < maxCPU; c++ {
		if !set.IsSet(c) {
			continue
		}
		end := c
		for end+1 < maxCPU && set.IsSet(end+1) {
			end++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(c))
		if end > c {
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(end))
		}
		c = end
	}
	return b.String()
}
