package testutil

import (
	"fmt"
	"strconv"
	"strings"
)

// MountinfoEntry is one line of /proc/PID/mountinfo (proc(5)), paths
// unescaped.
type MountinfoEntry struct {
	ID, Parent int
	Dev        string // major:minor of the filesystem
	Root       string // path of the mount's root inside its filesystem
	Point      string // mount point, relative to the reader's root
	Options    string // per-mount options
	FSType     string
	Source     string
	Super      string // per-superblock options
}

// ParseMountinfoLine parses
// "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue".
// It is the tests' reader of mount tables; the engine's own (in the C
// init) is tested against fixed values.
func ParseMountinfoLine(line string) (MountinfoEntry, error) {
	var e MountinfoEntry
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
	e.Dev = fields[2]
	e.Root = unescapeMount(fields[3])
	e.Point = unescapeMount(fields[4])
	e.Options = fields[5]
	e.FSType = tail[0]
	e.Source = unescapeMount(tail[1])
	if len(tail) > 2 {
		e.Super = tail[2]
	}
	return e, nil
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
