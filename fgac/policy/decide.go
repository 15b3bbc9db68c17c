package policy

import (
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
)

// mount(2) flags (linux/mount.h); the values are the same on every
// architecture.
const (
	msRdonly      = 0x1
	msNosuid      = 0x2
	msNodev       = 0x4
	msNoexec      = 0x8
	msSilent      = 0x8000
	msNoatime     = 0x400
	msNodiratime  = 0x800
	msBind        = 0x1000
	msRec         = 0x4000
	msRelatime    = 0x200000
	msStrictatime = 0x1000000
	msMgcMask     = 0xffff0000
	msMgcVal      = 0xc0ed0000
)

// restrictFlags only take rights away: a caller may always add them.
var restrictFlags = map[string]uint64{
	"ro": msRdonly, "nosuid": msNosuid, "nodev": msNodev, "noexec": msNoexec,
	"noatime": msNoatime, "nodiratime": msNodiratime, "relatime": msRelatime, "strictatime": msStrictatime,
}

func restrictFlagNames() string {
	names := make([]string, 0, len(restrictFlags))
	for n := range restrictFlags {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

const restrictMask = msRdonly | msNosuid | msNodev | msNoexec | msNoatime | msNodiratime | msRelatime | msStrictatime

// MountRequest is a mount(2) call as copied out of the caller.
type MountRequest struct {
	Source, Target, FSType string
	Flags                  uint64
	// Data is the filesystem's option string (tmpfs: "size=1m,mode=755").
	Data string
}

// MountPlan is what the agent mounts for an allowed request.
type MountPlan struct {
	// Target is the request's target, cleaned.
	Target string
	// Bind is the host path to bind-mount ("" for a new filesystem).
	Bind      string
	Recursive bool
	// FSType and Options (fsconfig key=value pairs, in order) make a new
	// filesystem. Options hold no uid/gid: those are in UID and GID, in
	// the container's ids, for the agent to map (-1: the caller's own).
	FSType   string
	Options  [][2]string
	UID, GID int64
	// Flags are the MS_ restrict flags (ro, nosuid, ...) of the mount.
	Flags uint64
}

// Mount decides a mount(2) request: the first rule that allows it gives the
// plan; otherwise the error wraps ErrDenied and says why the closest rule
// refused.
func (pr *Profile) Mount(req MountRequest) (MountPlan, error) {
	flags := req.Flags
	if flags&msMgcMask == msMgcVal { // the pre-2.4 magic, ignored by the kernel
		flags &^= msMgcMask
	}
	flags &^= msSilent
	target, err := cleanTarget(req.Target)
	if err != nil {
		return MountPlan{}, err
	}
	why := fmt.Errorf("%w: mount target %s matches no pattern of profile %q", ErrDenied, target, pr.Name)
	for _, r := range pr.Rules {
		m := r.Mount
		if m == nil || !matchAny(m.Targets, target) {
			continue
		}
		var plan MountPlan
		if m.Bind != "" {
			plan, err = m.bind(req, target, flags)
		} else {
			plan, err = m.tmpfs(req, target, flags)
		}
		if err == nil {
			return plan, nil
		}
		why = fmt.Errorf("%w: %s: %v", ErrDenied, target, err)
	}
	return MountPlan{}, why
}

func (m *MountRule) bind(req MountRequest, target string, flags uint64) (MountPlan, error) {
	if flags&msBind == 0 {
		return MountPlan{}, fmt.Errorf("not a bind mount")
	}
	if rest := flags &^ (msBind | msRec | restrictMask); rest != 0 {
		return MountPlan{}, fmt.Errorf("mount flags %#x not allowed", rest)
	}
	if flags&msRec != 0 && !m.Recursive {
		return MountPlan{}, fmt.Errorf("recursive bind of %s not allowed", m.Bind)
	}
	if path.Clean(req.Source) != m.Source || !path.IsAbs(req.Source) {
		return MountPlan{}, fmt.Errorf("bind source %q is not %s", req.Source, m.Source)
	}
	plan := MountPlan{Target: target, Bind: m.Bind, Recursive: flags&msRec != 0, UID: -1, GID: -1,
		Flags: flags&restrictMask | m.force}
	if m.ReadOnly {
		plan.Flags |= msRdonly
	}
	return plan, nil
}

func (m *MountRule) tmpfs(req MountRequest, target string, flags uint64) (MountPlan, error) {
	if req.FSType != m.FSType {
		return MountPlan{}, fmt.Errorf("filesystem type %q is not %s", req.FSType, m.FSType)
	}
	if rest := flags &^ restrictMask; rest != 0 {
		return MountPlan{}, fmt.Errorf("mount flags %#x not allowed (bind, remount, move and propagation changes are not emulated)", rest)
	}
	plan := MountPlan{Target: target, FSType: m.FSType, UID: -1, GID: -1, Flags: flags | m.force}
	size, mode := m.maxSize, uint32(0o1777)&m.maxMode
	var inodes uint64
	for _, opt := range strings.Split(req.Data, ",") {
		if opt == "" {
			continue
		}
		k, v, _ := strings.Cut(opt, "=")
		var err error
		switch k {
		case "size":
			if size, err = ParseSize(v); err != nil || size == 0 || size > m.maxSize {
				return MountPlan{}, fmt.Errorf("size=%s: the profile allows at most %s (and no 0 or %%)", v, m.MaxSize)
			}
		case "nr_inodes":
			if inodes, err = ParseSize(v); err != nil || (m.MaxInodes > 0 && (inodes == 0 || inodes > m.MaxInodes)) {
				return MountPlan{}, fmt.Errorf("nr_inodes=%s: the profile allows at most %d", v, m.MaxInodes)
			}
		case "mode":
			var md uint32
			if md, err = parseMode(v, 0); err != nil || md&^m.maxMode != 0 {
				return MountPlan{}, fmt.Errorf("mode=%s: the profile allows at most %04o", v, m.maxMode)
			}
			mode = md
		case "uid", "gid":
			id, err := strconv.ParseUint(v, 10, 32)
			if err != nil {
				return MountPlan{}, fmt.Errorf("%s=%s is not a number", k, v)
			}
			if k == "uid" {
				plan.UID = int64(id)
			} else {
				plan.GID = int64(id)
			}
		default:
			return MountPlan{}, fmt.Errorf("tmpfs option %q not allowed", k)
		}
	}
	if inodes == 0 && m.MaxInodes > 0 {
		inodes = m.MaxInodes
	}
	plan.Options = append(plan.Options, [2]string{"size", strconv.FormatUint(size, 10)},
		[2]string{"mode", strconv.FormatUint(uint64(mode), 8)})
	if inodes > 0 {
		plan.Options = append(plan.Options, [2]string{"nr_inodes", strconv.FormatUint(inodes, 10)})
	}
	return plan, nil
}

// Umount decides umount2(2) of target; the agent also checks that it made
// the mount there.
func (pr *Profile) Umount(target string) (string, error) {
	t, err := cleanTarget(target)
	if err != nil {
		return "", err
	}
	for _, r := range pr.Rules {
		if r.Umount != nil && matchAny(r.Umount.Targets, t) {
			return t, nil
		}
	}
	return "", fmt.Errorf("%w: no umount rule of profile %q matches %s", ErrDenied, pr.Name, t)
}

// Mknod decides mknod of a device node: block is S_IFBLK (else S_IFCHR),
// perm the permission bits of the mode.
func (pr *Profile) Mknod(target string, block bool, perm, major, minor uint32) (string, error) {
	t, err := cleanTarget(target)
	if err != nil {
		return "", err
	}
	kind := "c"
	if block {
		kind = "b"
	}
	why := fmt.Errorf("%w: no mknod rule of profile %q allows %s %d:%d", ErrDenied, pr.Name, kind, major, minor)
	for _, r := range pr.Rules {
		m := r.Mknod
		if m == nil {
			continue
		}
		for _, d := range m.devices {
			if d.block != block || d.major != major || (!d.anyMinor && d.minor != minor) {
				continue
			}
			switch {
			case !matchAny(m.Targets, t):
				why = fmt.Errorf("%w: mknod target %s matches no pattern of profile %q", ErrDenied, t, pr.Name)
			case perm&^m.maxMode != 0:
				why = fmt.Errorf("%w: mknod mode %04o exceeds %04o", ErrDenied, perm, m.maxMode)
			default:
				return t, nil
			}
		}
	}
	return "", why
}

// Sethostname decides sethostname(2).
func (pr *Profile) Sethostname(name string) error {
	for _, r := range pr.Rules {
		if r.Sethostname == nil {
			continue
		}
		for _, pat := range r.Sethostname.Names {
			if ok, _ := matchName(pat, name); ok {
				return nil
			}
		}
	}
	return fmt.Errorf("%w: no sethostname rule of profile %q allows %q", ErrDenied, pr.Name, name)
}

// matchName matches a hostname pattern; a valid hostname has no '/'.
func matchName(pat, name string) (bool, error) {
	if strings.ContainsRune(name, '/') {
		return false, nil
	}
	return path.Match(pat, name)
}

// cleanTarget accepts absolute paths only: a relative one would need the
// caller's working directory as the container sees it, which the agent
// cannot name reliably.
func cleanTarget(p string) (string, error) {
	if !path.IsAbs(p) {
		return "", fmt.Errorf("%w: %q is not an absolute path", ErrDenied, p)
	}
	return path.Clean(p), nil
}

func cleanAbs(p string) bool { return path.IsAbs(p) && path.Clean(p) == p }

// validPattern: an absolute clean path whose components are path.Match
// patterns; a last component "**" matches any path below its parent.
func validPattern(p string) error {
	if !cleanAbs(p) {
		return fmt.Errorf("%q is not a clean absolute path pattern", p)
	}
	for i, c := range strings.Split(p[1:], "/") {
		if c == "**" && i != strings.Count(p, "/")-1 {
			return fmt.Errorf("%q: ** may only end a pattern", p)
		}
		if _, err := path.Match(c, c); err != nil {
			return fmt.Errorf("%q: %v", p, err)
		}
	}
	return nil
}

func matchAny(patterns []string, p string) bool {
	for _, pat := range patterns {
		if matchPath(pat, p) {
			return true
		}
	}
	return false
}

func matchPath(pat, p string) bool {
	if dir, ok := strings.CutSuffix(pat, "/**"); ok {
		if dir == "" {
			return p != "/"
		}
		return matchPrefix(dir, p)
	}
	ok, _ := path.Match(pat, p)
	return ok
}

// matchPrefix: dir (a pattern) matches a proper ancestor of p.
func matchPrefix(dir, p string) bool {
	n := strings.Count(dir, "/")
	parts := strings.Split(p, "/")
	if len(parts) <= n+1 {
		return false
	}
	ok, _ := path.Match(dir, strings.Join(parts[:n+1], "/"))
	return ok
}

// ParseSize reads a size as tmpfs does ("64M", "1g", "4096"), also taking
// "Mi"-style suffixes; units are powers of 1024.
func ParseSize(s string) (uint64, error) {
	num := strings.TrimSuffix(s, "i")
	shift := 0
	if num != "" {
		switch num[len(num)-1] {
		case 'k', 'K':
			shift = 10
		case 'm', 'M':
			shift = 20
		case 'g', 'G':
			shift = 30
		}
	}
	if shift > 0 {
		num = num[:len(num)-1]
	} else if num != s {
		return 0, fmt.Errorf("size %q: bad unit", s)
	}
	n, err := strconv.ParseUint(num, 10, 64)
	if err != nil || n > (1<<63)>>shift {
		return 0, fmt.Errorf("size %q is not a number of bytes, k, M or G", s)
	}
	return n << shift, nil
}

func parseUint32(s string) (uint32, error) {
	n, err := strconv.ParseUint(s, 10, 32)
	return uint32(n), err
}
