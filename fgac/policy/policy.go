// Package policy is the FGAC administrator's policy: named profiles, each a
// list of rules saying which privileged syscalls the agent performs for a
// container (mount a tmpfs, bind an allow-listed host path, unmount what it
// mounted, create an allow-listed device node, set the hostname), and which
// Kubernetes namespaces may use each profile.
//
// The format is JSON (see README.md, "Fine-grained access control"). Errors
// name the file, the line and the field: "fgac.json:12: profiles[0].rules[1].mount.maxSize: ...".
//
// Everything here is pure: the agent (package fgac/agent) copies a syscall's
// arguments out of the caller and asks a Profile what to do with the copy.
package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Annotations and metadata that choose a profile.
const (
	// ProfileAnnotation names the profile a container asks for.
	ProfileAnnotation = "slrt.io/fgac-profile"
	// NamespaceAnnotation is the Kubernetes namespace containerd's CRI
	// sets on every container of a pod; CRI-O sets PodNamespaceAnnotation.
	NamespaceAnnotation    = "io.kubernetes.cri.sandbox-namespace"
	PodNamespaceAnnotation = "io.kubernetes.pod.namespace"
)

// ErrDenied is wrapped by every refusal a profile makes; the agent answers
// the syscall with EPERM.
var ErrDenied = errors.New("denied by fgac policy")

// Policy is a validated policy file.
type Policy struct {
	Profiles []*Profile `json:"profiles"`

	byName map[string]*Profile
}

// Profile is a named list of rules and who may use it.
type Profile struct {
	Name string `json:"name"`
	// Namespaces are the Kubernetes namespaces whose pods may use the
	// profile ("*": any).
	Namespaces []string `json:"namespaces,omitempty"`
	// Standalone lets containers outside Kubernetes (no namespace
	// annotation: the slrt CLI, an embedded supervisor) use the profile.
	Standalone bool   `json:"standalone,omitempty"`
	Rules      []Rule `json:"rules"`
}

// Rule is exactly one of its members.
type Rule struct {
	Mount       *MountRule       `json:"mount,omitempty"`
	Umount      *UmountRule      `json:"umount,omitempty"`
	Mknod       *MknodRule       `json:"mknod,omitempty"`
	Sethostname *SethostnameRule `json:"sethostname,omitempty"`
}

// MountRule allows mount(2) of a new filesystem (FSType) or a bind mount
// of a host path (Bind) onto the Targets.
type MountRule struct {
	// FSType is the filesystem to mount: "tmpfs".
	FSType string `json:"fstype,omitempty"`
	// Bind is a host path (absolute) the agent bind-mounts.
	Bind string `json:"bind,omitempty"`
	// Source is the source the container names for Bind (default: Bind).
	Source string `json:"source,omitempty"`
	// ReadOnly forces a read-only bind mount.
	ReadOnly bool `json:"readOnly,omitempty"`
	// Recursive allows MS_REC (the host path's submounts come along).
	Recursive bool `json:"recursive,omitempty"`
	// Targets are patterns of container paths ("/mnt/*", "/data/**").
	Targets []string `json:"targets"`
	// MaxSize limits a tmpfs ("64M", "1Gi", bytes); it is also the size
	// of a tmpfs mounted without size=. Required for tmpfs.
	MaxSize string `json:"maxSize,omitempty"`
	// MaxInodes limits nr_inodes of a tmpfs (0: the kernel's default).
	MaxInodes uint64 `json:"maxInodes,omitempty"`
	// MaxMode is the most permissive mode= of a tmpfs root (default 1777).
	MaxMode string `json:"maxMode,omitempty"`
	// ForceFlags are always applied (default ["nosuid", "nodev"]; [] for
	// none). Flags that only restrict (ro, noexec, noatime, ...) are always
	// allowed.
	ForceFlags []string `json:"forceFlags"`

	maxSize uint64
	maxMode uint32
	force   uint64 // MS_* bits
}

// UmountRule allows umount2(2) of mounts the agent made on the Targets.
type UmountRule struct {
	Targets []string `json:"targets"`
}

// MknodRule allows mknod(2)/mknodat(2) of the Devices on the Targets.
type MknodRule struct {
	// Devices are "c MAJOR:MINOR" or "b MAJOR:MINOR"; MINOR may be "*".
	Devices []string `json:"devices"`
	Targets []string `json:"targets"`
	// MaxMode is the most permissive permission bits (default "0666").
	MaxMode string `json:"maxMode,omitempty"`

	devices []device
	maxMode uint32
}

// SethostnameRule allows sethostname(2) with a name matching one of Names.
type SethostnameRule struct {
	Names []string `json:"names"`
}

type device struct {
	block        bool
	major, minor uint32
	anyMinor     bool
}

// Load reads and validates the policy file at path.
func Load(path string) (*Policy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("fgac policy: %w", err)
	}
	return Parse(path, data)
}

// Parse validates data; name (the file name) prefixes every error.
func Parse(name string, data []byte) (*Policy, error) {
	pos, err := positions(data)
	if err != nil {
		return nil, fmt.Errorf("%s:%w", name, err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var p Policy
	if err := dec.Decode(&p); err != nil {
		return nil, decodeError(name, data, pos, err)
	}
	if err := p.validate(); err != nil {
		var fe *fieldError
		if errors.As(err, &fe) {
			return nil, fmt.Errorf("%s:%d: %s: %s", name, pos.line(fe.path), fe.path, fe.msg)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &p, nil
}

// fieldError is a validation error at a JSON path ("profiles[0].name").
type fieldError struct {
	path, msg string
}

func (e *fieldError) Error() string { return e.path + ": " + e.msg }

func bad(path, format string, args ...any) error {
	return &fieldError{path, fmt.Sprintf(format, args...)}
}

// validName reports whether s is a profile or namespace name: 1 to 64 of
// [a-z0-9._-], starting and ending with a letter or digit. A loop, not a
// regexp: the {0,62} repetition compiled into a 62-fold program at package
// init, a measured 40 page faults and 44 KB in every slrt command.
func validName(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case (c == '.' || c == '_' || c == '-') && i > 0 && i < len(s)-1:
		default:
			return false
		}
	}
	return true
}

func (p *Policy) validate() error {
	if len(p.Profiles) == 0 {
		return bad("profiles", "no profiles")
	}
	p.byName = map[string]*Profile{}
	for i, pr := range p.Profiles {
		at := fmt.Sprintf("profiles[%d]", i)
		if pr == nil {
			return bad(at, "null profile")
		}
		if !validName(pr.Name) {
			return bad(at+".name", "%q is not a profile name (lower-case letters, digits, '.', '_', '-'; at most 64)", pr.Name)
		}
		if p.byName[pr.Name] != nil {
			return bad(at+".name", "profile %q defined twice", pr.Name)
		}
		p.byName[pr.Name] = pr
		for j, ns := range pr.Namespaces {
			if ns != "*" && !validName(ns) {
				return bad(fmt.Sprintf("%s.namespaces[%d]", at, j), "%q is not a Kubernetes namespace or \"*\"", ns)
			}
		}
		if len(pr.Namespaces) == 0 && !pr.Standalone {
			return bad(at, "profile %q can be used by nobody: give namespaces or standalone: true", pr.Name)
		}
		if len(pr.Rules) == 0 {
			return bad(at+".rules", "no rules")
		}
		for j := range pr.Rules {
			if err := pr.Rules[j].validate(fmt.Sprintf("%s.rules[%d]", at, j)); err != nil {
				return err
			}
		}
	}
	return nil
}

func (r *Rule) validate(at string) error {
	n := 0
	for _, set := range []bool{r.Mount != nil, r.Umount != nil, r.Mknod != nil, r.Sethostname != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return bad(at, "a rule has exactly one of mount, umount, mknod, sethostname (it has %d)", n)
	}
	switch {
	case r.Mount != nil:
		return r.Mount.validate(at + ".mount")
	case r.Umount != nil:
		return validTargets(at+".umount.targets", r.Umount.Targets)
	case r.Mknod != nil:
		return r.Mknod.validate(at + ".mknod")
	default:
		if len(r.Sethostname.Names) == 0 {
			return bad(at+".sethostname.names", "no names (\"*\" allows any)")
		}
		for i, n := range r.Sethostname.Names {
			if _, err := matchName(n, ""); err != nil || n == "" || len(n) > 64 {
				return bad(fmt.Sprintf("%s.sethostname.names[%d]", at, i), "%q is not a hostname pattern", n)
			}
		}
		return nil
	}
}

func (m *MountRule) validate(at string) error {
	if err := validTargets(at+".targets", m.Targets); err != nil {
		return err
	}
	if m.ForceFlags == nil {
		m.force = msNosuid | msNodev
	}
	for i, f := range m.ForceFlags {
		bit, ok := restrictFlags[f]
		if !ok {
			return bad(fmt.Sprintf("%s.forceFlags[%d]", at, i), "%q is not one of %s", f, restrictFlagNames())
		}
		m.force |= bit
	}
	switch {
	case m.FSType != "" && m.Bind != "":
		return bad(at, "fstype and bind exclude each other")
	case m.Bind != "":
		if !cleanAbs(m.Bind) {
			return bad(at+".bind", "%q is not a clean absolute host path", m.Bind)
		}
		if m.Source == "" {
			m.Source = m.Bind
		}
		if !cleanAbs(m.Source) {
			return bad(at+".source", "%q is not a clean absolute path", m.Source)
		}
		if m.MaxSize != "" || m.MaxInodes != 0 || m.MaxMode != "" {
			return bad(at, "maxSize, maxInodes and maxMode apply to tmpfs, not to bind")
		}
		return nil
	case m.FSType == "tmpfs":
		if m.Source != "" || m.ReadOnly || m.Recursive {
			return bad(at, "source, readOnly and recursive apply to bind, not to tmpfs (use forceFlags: [\"ro\"])")
		}
		if m.MaxSize == "" {
			return bad(at+".maxSize", "required for tmpfs (a tmpfs without size= may take half the memory)")
		}
		var err error
		if m.maxSize, err = ParseSize(m.MaxSize); err != nil || m.maxSize == 0 {
			return bad(at+".maxSize", "%q is not a size (bytes, or a number with k, M, G, optionally followed by i)", m.MaxSize)
		}
		if m.maxMode, err = parseMode(m.MaxMode, 0o1777); err != nil {
			return bad(at+".maxMode", "%v", err)
		}
		return nil
	case m.FSType == "":
		return bad(at, "needs fstype or bind")
	default:
		return bad(at+".fstype", "%q is not supported (this agent mounts tmpfs, and binds)", m.FSType)
	}
}

func (m *MknodRule) validate(at string) error {
	if err := validTargets(at+".targets", m.Targets); err != nil {
		return err
	}
	if len(m.Devices) == 0 {
		return bad(at+".devices", "no devices")
	}
	for i, d := range m.Devices {
		dev, err := parseDevice(d)
		if err != nil {
			return bad(fmt.Sprintf("%s.devices[%d]", at, i), "%v", err)
		}
		m.devices = append(m.devices, dev)
	}
	var err error
	if m.maxMode, err = parseMode(m.MaxMode, 0o666); err != nil {
		return bad(at+".maxMode", "%v", err)
	}
	return nil
}

func validTargets(at string, targets []string) error {
	if len(targets) == 0 {
		return bad(at, "no targets")
	}
	for i, t := range targets {
		if err := validPattern(t); err != nil {
			return bad(fmt.Sprintf("%s[%d]", at, i), "%v", err)
		}
	}
	return nil
}

// parseDevice reads "c 1:3", "b 7:*".
func parseDevice(s string) (device, error) {
	var d device
	kind, nums, ok := strings.Cut(s, " ")
	switch kind {
	case "c":
	case "b":
		d.block = true
	default:
		ok = false
	}
	maj, mnr, ok2 := strings.Cut(nums, ":")
	if !ok || !ok2 {
		return d, fmt.Errorf("%q is not \"c MAJOR:MINOR\" or \"b MAJOR:MINOR\"", s)
	}
	var err error
	if d.major, err = parseUint32(maj); err != nil {
		return d, fmt.Errorf("%q: major: %v", s, err)
	}
	if mnr == "*" {
		d.anyMinor = true
	} else if d.minor, err = parseUint32(mnr); err != nil {
		return d, fmt.Errorf("%q: minor: %v", s, err)
	}
	return d, nil
}

// parseMode reads an octal mode string; "" is def.
func parseMode(s string, def uint32) (uint32, error) {
	if s == "" {
		return def, nil
	}
	var m uint32
	for _, c := range s {
		if c < '0' || c > '7' || m > 0o7777 {
			return 0, fmt.Errorf("%q is not an octal mode (e.g. \"1777\")", s)
		}
		m = m*8 + uint32(c-'0')
	}
	if m > 0o7777 {
		return 0, fmt.Errorf("%q is not an octal mode (at most 7777)", s)
	}
	return m, nil
}

// Profile returns the profile called name, or nil.
func (p *Policy) Profile(name string) *Profile { return p.byName[name] }

// Syscalls are the syscalls the profile's rules need notified.
func (pr *Profile) Syscalls() []string {
	var out []string
	add := func(names ...string) {
		for _, n := range names {
			found := false
			for _, o := range out {
				found = found || o == n
			}
			if !found {
				out = append(out, n)
			}
		}
	}
	for _, r := range pr.Rules {
		switch {
		case r.Mount != nil:
			add("mount")
		case r.Umount != nil:
			add("umount2")
		case r.Mknod != nil:
			add("mknod", "mknodat")
		case r.Sethostname != nil:
			add("sethostname")
		}
	}
	return out
}
