package main

import (
	"bufio"
	"debug/elf"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// binary is the on-disk footprint of one executable.
type binary struct {
	Name     string   `json:"name"`
	Path     string   `json:"path"`
	Bytes    int64    `json:"bytes"`
	Stripped bool     `json:"stripped"` // no .symtab
	Libs     []string `json:"libs,omitempty"`
	LibBytes int64    `json:"libBytes,omitempty"` // the shared libraries it needs, resolved under /lib and /usr/lib
}

// sizeOf reads size, symbol table presence and DT_NEEDED from the ELF.
func sizeOf(name, path string) (binary, error) {
	b := binary{Name: name, Path: path}
	fi, err := os.Stat(path)
	if err != nil {
		return b, err
	}
	b.Bytes = fi.Size()
	f, err := elf.Open(path)
	if err != nil {
		return b, fmt.Errorf("%s: %w", path, err)
	}
	defer f.Close()
	b.Stripped = f.Section(".symtab") == nil
	b.Libs, _ = f.ImportedLibraries()
	for _, l := range b.Libs {
		for _, dir := range []string{"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/lib", "/usr/lib"} {
			if fi, err := os.Stat(filepath.Join(dir, l)); err == nil {
				b.LibBytes += fi.Size()
				break
			}
		}
	}
	return b, nil
}

// parked is the memory a pre-created container holds while it waits for
// start: its parked init and any process under it.
type parked struct {
	Runtime    string `json:"runtime"`
	Containers int    `json:"containers"`
	Procs      int    `json:"procs"`   // processes per container
	Threads    int    `json:"threads"` // per container
	// Per container, in KiB.
	RssKiB  int64 `json:"rssKiB"`
	PssKiB  int64 `json:"pssKiB"`
	AnonKiB int64 `json:"anonKiB"`
}

// parkedMemory creates n containers with rt, sums what their parked
// processes hold (smaps_rollup) and deletes them. PSS with n > 1 shows how
// much of the init the containers share (the binary's pages).
func (b *bench) parkedMemory(rt *runtime, n int) (parked, error) {
	p := parked{Runtime: rt.Name, Containers: n}
	ids := make([]string, n)
	defer func() {
		for _, id := range ids {
			if id != "" {
				b.r.do(rt.Bin, rt.args("delete", "--force", id)...)
			}
		}
	}()
	for i := range ids {
		id := fmt.Sprintf("bench-parked-%d", i)
		if err := b.r.do(rt.Bin, rt.args("create", "--bundle", b.bundle, id)...); err != nil {
			return p, err
		}
		ids[i] = id
	}
	var rss, pss, anon int64
	for _, id := range ids {
		pid, err := b.r.statePid(rt, id)
		if err != nil {
			return p, err
		}
		for _, q := range append([]int{pid}, descendants(pid)...) {
			m, err := smapsRollup(q)
			if err != nil {
				return p, err
			}
			rss += m["Rss"]
			pss += m["Pss"]
			anon += m["Anonymous"]
			p.Threads += threads(q)
			p.Procs++
		}
	}
	p.RssKiB, p.PssKiB, p.AnonKiB = rss/int64(n), pss/int64(n), anon/int64(n)
	p.Threads /= n
	p.Procs /= n
	return p, nil
}

// smapsRollup returns the kB fields of /proc/PID/smaps_rollup.
func smapsRollup(pid int) (map[string]int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m := map[string]int64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fs := strings.Fields(v)
		if len(fs) == 2 && fs[1] == "kB" {
			n, _ := strconv.ParseInt(fs[0], 10, 64)
			m[k] = n
		}
	}
	return m, sc.Err()
}

func threads(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "Threads:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	return 0
}

// descendants of pid, from the ppid field of every /proc/N/stat.
func descendants(pid int) []int {
	ents, _ := os.ReadDir("/proc")
	children := map[int][]int{}
	for _, e := range ents {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", n))
		if err != nil {
			continue
		}
		// The comm field may hold spaces and parentheses: fields
		// start after the last ')'.
		s := string(b)
		fs := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fs) > 1 {
			pp, _ := strconv.Atoi(fs[1])
			children[pp] = append(children[pp], n)
		}
	}
	var out []int
	todo := children[pid]
	for len(todo) > 0 {
		q := todo[0]
		todo = todo[1:]
		out = append(out, q)
		todo = append(todo, children[q]...)
	}
	return out
}
