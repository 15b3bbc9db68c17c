package rootfs

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// mountEntry is one line of /proc/PID/mountinfo (proc(5)).
type mountEntry struct {
	ID, Parent int
	Root       string // path of the mount's root inside its filesystem
	Point      string // mount point, relative to the reader's root
	Options    string // per-mount options
	FSType     string
	Source     string
	Super      string // per-superblock options
}

func readMountinfo(path string) ([]mountEntry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read mount table: %w", err)
	}
	defer f.Close()
	var out []mountEntry
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		e, err := parseMountinfoLine(sc.Text())
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", path, err)
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return out, nil
}

// parseMountinfoLine parses
// "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue".
func parseMountinfoLine(line string) (mountEntry, error) {
	var e mountEntry
	pre, post, ok := strings.Cut(line, " - ")
	fields := strings.Fields(pre)
	tail := strings.Fields(post)
	if !ok || len(fields) < 6 || len(tail) < 2 {
		return e, fmt.Errorf("bad mountinfo line %q", line)
	}
	var err error
	if e.ID, err = strconv.Atoi(fields[0]); err != nil {
		return e, fmt.Errorf("bad mount id in %q", line)
	}
	if e.Parent, err = strconv.Atoi(fields[1]); err != nil {
		return e, fmt.Errorf("bad parent id in %q", line)
	}
	e.Root = unescapeOctal(fields[3])
	e.Point = unescapeOctal(fields[4])
	e.Options = fields[5]
	e.FSType = tail[0]
	e.Source = unescapeOctal(tail[1])
	if len(tail) > 2 {
		e.Super = tail[2]
	}
	return e, nil
}

// unescapeOctal undoes the kernel's \040-style escaping of space, tab,
// newline and backslash in mountinfo paths.
func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
