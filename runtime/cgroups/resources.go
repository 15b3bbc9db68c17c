package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// setting is one value for one cgroup file: what the spec calls it (for
// errors), the controller that owns the file and the file itself.
type setting struct {
	resource string // e.g. "linux.resources.memory.limit"
	ctrl     string
	file     string
	value    string
	// optional settings are skipped when the file does not exist (knobs
	// the running kernel dropped or never had, e.g. kmem limits).
	optional bool
}

// Update applies res to the running container's cgroup.
func (m *Manager) Update(res *specs.LinuxResources) error {
	if res == nil {
		return nil
	}
	if err := m.validateMode(res); err != nil {
		return err
	}
	return m.apply(res, true)
}

func (m *Manager) apply(res *specs.LinuxResources, update bool) error {
	if m.Unified() {
		return m.applyV2(res, update)
	}
	return m.applyV1(res, update)
}

// writeSetting writes s.value to dir/s.file with an error that says what,
// where and why.
func writeSetting(dir string, s setting) error {
	p := filepath.Join(dir, s.file)
	if s.optional {
		if _, err := os.Lstat(p); errors.Is(err, os.ErrNotExist) {
			return nil
		}
	}
	if err := writeFile(p, s.value); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("set %s of cgroup %s: %s does not exist (is the %s controller enabled there?)", s.resource, dir, s.file, s.ctrl)
		}
		return fmt.Errorf("set %s of cgroup %s: write %q to %s: %w", s.resource, dir, s.value, s.file, err)
	}
	return nil
}

// writeFile writes a cgroup file in one write(2): cgroup files parse each
// write separately and O_TRUNC/O_CREAT make no sense there.
func writeFile(path, value string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, werr := f.WriteString(value)
	cerr := f.Close()
	if werr != nil {
		return werr
	}
	return cerr
}

func readString(path string) (string, error) {
	b, err := os.ReadFile(path)
	return strings.TrimSpace(string(b)), err
}

// readUint reads a single-number cgroup file; "max" reads as -1.
func readInt(path string) (int64, error) {
	s, err := readString(path)
	if err != nil {
		return 0, err
	}
	if s == "max" {
		return -1, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		// v1 "unlimited" is a huge unsigned page-rounded number.
		if u, uerr := strconv.ParseUint(s, 10, 64); uerr == nil && u > 1<<62 {
			return -1, nil
		}
		return 0, fmt.Errorf("parse %s: %w", path, err)
	}
	return v, nil
}

// readKV reads one key of a "key value" per line file (memory.events,
// memory.oom_control, cgroup.events).
func readKV(path, key string) (uint64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, " ")
		if ok && k == key {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("parse %q in %s: %w", key, path, err)
			}
			return n, nil
		}
	}
	return 0, fmt.Errorf("no %q in %s", key, path)
}

func u64(v uint64) string { return strconv.FormatUint(v, 10) }
func i64(v int64) string  { return strconv.FormatInt(v, 10) }

// maxOr renders a limit where zero or negative means "no limit" in v2 syntax.
func maxOr(v int64) string {
	if v <= 0 {
		return "max"
	}
	return i64(v)
}

// checkMemoryBeforeUpdate refuses to set a memory limit below current usage
// (linux.resources.memory.checkBeforeUpdate): the kernel would OOM-kill the
// container instead of failing the update.
func checkMemoryBeforeUpdate(mem *specs.LinuxMemory, usageFile string) error {
	if mem == nil || mem.CheckBeforeUpdate == nil || !*mem.CheckBeforeUpdate || mem.Limit == nil || *mem.Limit <= 0 {
		return nil
	}
	usage, err := readInt(usageFile)
	if err != nil {
		return fmt.Errorf("check memory usage before update: %w", err)
	}
	if usage > *mem.Limit {
		return fmt.Errorf("set linux.resources.memory.limit of cgroup %s to %d: below current usage %d (checkBeforeUpdate)", filepath.Dir(usageFile), *mem.Limit, usage)
	}
	return nil
}

// deviceRule renders one linux.resources.devices entry in the v1
// devices.allow/deny syntax: "type major:minor access".
func deviceRule(d specs.LinuxDeviceCgroup) string {
	t := d.Type
	if t == "" {
		t = "a"
	}
	num := func(p *int64) string {
		if p == nil || *p < 0 {
			return "*"
		}
		return i64(*p)
	}
	access := d.Access
	if access == "" {
		access = "rwm"
	}
	return fmt.Sprintf("%s %s:%s %s", t, num(d.Major), num(d.Minor), access)
}
