package channel

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// The wire format of a Message: binary, so that slrt-init (in C) decodes a
// Plan with a few dozen lines of bounds-checked reads instead of a JSON
// parser, and so that neither side reflects over the Plan (encoding/json
// cost ~90 page faults per process that first marshalled one).
// cmd/slrt-init/plan.h is the reference: every field is written in the
// order of the Go struct, fixed-width in host byte order (both ends run on
// one machine), strings and byte slices as u32 length + bytes, lists as u32
// count + elements, optional values (pointers) as a bool + the value.
// A field added to a struct must be added here, in plan.h and in
// cmd/slrt-init/wire.c: TestWireEveryField and TestCDecoder catch a field
// known to one side only.

// wireMagic starts every message; it is the format's version.
const wireMagic uint32 = 0x31746c73 // "slt1"

var ne = binary.NativeEndian

// kindCodes numbers the kinds on the wire (plan.h's enum msg_kind).
var kindCodes = [...]Kind{1: KindPlan, 2: KindMountsReady, 3: KindContinue, 4: KindCreated, 5: KindStart, 6: KindError}

func kindCode(k Kind) (uint8, bool) {
	for i, c := range kindCodes {
		if i > 0 && c == k {
			return uint8(i), true
		}
	}
	return 0, false
}

// encoder appends fields; the first value out of range sets err.
type encoder struct {
	b   []byte
	err error
}

func (e *encoder) u8(v uint8)   { e.b = append(e.b, v) }
func (e *encoder) u32(v uint32) { e.b = ne.AppendUint32(e.b, v) }
func (e *encoder) u64(v uint64) { e.b = ne.AppendUint64(e.b, v) }
func (e *encoder) i64(v int64)  { e.b = ne.AppendUint64(e.b, uint64(v)) }

func (e *encoder) boolean(v bool) {
	if v {
		e.u8(1)
	} else {
		e.u8(0)
	}
}

// i32 writes a Go int that must fit in 32 bits (fd numbers).
func (e *encoder) i32(field string, v int) {
	if v < math.MinInt32 || v > math.MaxInt32 {
		e.fail("%s: %d does not fit in 32 bits", field, v)
	}
	e.b = ne.AppendUint32(e.b, uint32(int32(v)))
}

// count writes a length or a uint that must fit in 32 bits.
func (e *encoder) count(field string, n uint64) {
	if n > math.MaxUint32 {
		e.fail("%s: %d does not fit in 32 bits", field, n)
	}
	e.u32(uint32(n))
}

func (e *encoder) fail(format string, args ...any) {
	if e.err == nil {
		e.err = fmt.Errorf(format, args...)
	}
}

func (e *encoder) str(s string) {
	e.u32(uint32(len(s)))
	e.b = append(e.b, s...)
}

func (e *encoder) bytes(b []byte) {
	e.u32(uint32(len(b)))
	e.b = append(e.b, b...)
}

func (e *encoder) strs(v []string) {
	e.u32(uint32(len(v)))
	for _, s := range v {
		e.str(s)
	}
}

// encode writes m in the wire format.
func (m *Message) encode() ([]byte, error) {
	code, ok := kindCode(m.Kind)
	if !ok {
		return nil, fmt.Errorf("unknown message kind %q", m.Kind)
	}
	if m.Files < 0 {
		return nil, fmt.Errorf("files: %d is negative", m.Files)
	}
	e := encoder{b: make([]byte, 0, 64+len(m.Error)+len(m.State))}
	e.u32(wireMagic)
	e.u8(code)
	e.str(m.Error)
	e.bytes(m.State)
	e.count("files", uint64(m.Files))
	e.boolean(m.Plan != nil)
	if m.Plan != nil {
		e.plan(m.Plan)
	}
	e.boolean(m.Start != nil)
	if r := m.Start; r != nil {
		e.strs(r.Args)
		// An empty Env keeps the spec's, as a missing one does.
		e.boolean(len(r.Env) > 0)
		if len(r.Env) > 0 {
			e.strs(r.Env)
		}
		e.str(r.Cwd)
		e.str(r.CPUs)
	}
	if e.err != nil {
		return nil, e.err
	}
	return e.b, nil
}

func (e *encoder) plan(p *Plan) {
	e.boolean(p.Exec)
	e.rootfs(&p.Rootfs)
	e.process(&p.Proc)
	e.str(p.Hostname)
	e.boolean(p.SetHostname)
	e.str(p.Domainname)
	e.boolean(p.SetDomainname)
	e.u32(uint32(len(p.Sysctls)))
	for _, kv := range p.Sysctls {
		e.str(kv.Key)
		e.str(kv.Value)
	}
	e.hooks(p.CreateCtrHooks)
	e.hooks(p.StartCtrHooks)
	e.boolean(p.Console)
	e.count("consoleRows", uint64(p.ConsoleRows))
	e.count("consoleCols", uint64(p.ConsoleCols))
	e.i32("listenFd", p.ListenFD)
	e.i32("consoleFd", p.ConsoleFD)
	e.boolean(p.NewUserNS)
	e.boolean(p.UnshareCgroupNS)
	e.boolean(p.TimeNS)
	e.u32(uint32(len(p.TimeOffsets)))
	for _, o := range p.TimeOffsets {
		e.str(o.Clock)
		e.i64(o.Secs)
		e.u32(o.Nanos)
	}
	e.i32("mountNsFd", p.MountNSFD)
	e.u32(uint32(len(p.PreserveFDs)))
	for _, fd := range p.PreserveFDs {
		e.i32("preserveFds", fd)
	}
}

func (e *encoder) hooks(hs []Hook) {
	e.u32(uint32(len(hs)))
	for _, h := range hs {
		e.str(h.Path)
		e.strs(h.Args)
		e.strs(h.Env)
		e.i64(int64(h.Timeout))
	}
}

func (e *encoder) rootfs(r *RootfsPlan) {
	e.str(r.Path)
	e.boolean(r.Readonly)
	e.u64(r.Propagation)
	e.boolean(r.NoPivot)
	e.u32(uint32(len(r.Mounts)))
	for i := range r.Mounts {
		m := &r.Mounts[i]
		e.str(m.Source)
		e.str(m.Target)
		e.str(m.Type)
		e.u64(m.Flags)
		e.u32(uint32(len(m.PropFlags)))
		for _, f := range m.PropFlags {
			e.u64(f)
		}
		e.str(m.Data)
		e.boolean(m.Bind)
		e.boolean(m.SourceIsFile)
		e.i32("sourceFd", m.SourceFD)
		e.boolean(m.IDMap)
		e.boolean(m.IDMapRecursive)
		e.i32("mountFd", m.MountFD)
		e.u64(m.RecAttrSet)
		e.u64(m.RecAttrClr)
	}
	e.u32(uint32(len(r.Devices)))
	for _, d := range r.Devices {
		e.str(d.Path)
		e.u32(d.Type)
		e.i64(d.Major)
		e.i64(d.Minor)
		e.u32(d.Mode)
		e.u32(d.UID)
		e.u32(d.GID)
	}
	e.strs(r.MaskedPaths)
	e.strs(r.ReadonlyPaths)
	e.str(r.MountLabel)
	e.boolean(r.DefaultSymlink)
	e.boolean(r.CgroupNS)
}

func (e *encoder) process(p *ProcessPlan) {
	e.strs(p.Args)
	e.strs(p.Env)
	e.str(p.Cwd)
	e.u32(p.UID)
	e.u32(p.GID)
	e.u32(uint32(len(p.AdditionalGids)))
	for _, g := range p.AdditionalGids {
		e.u32(g)
	}
	e.boolean(p.Umask != nil)
	if p.Umask != nil {
		e.u32(*p.Umask)
	}
	e.boolean(p.Caps != nil)
	if c := p.Caps; c != nil {
		e.u64(c.Bounding)
		e.u64(c.Effective)
		e.u64(c.Permitted)
		e.u64(c.Inheritable)
		e.u64(c.Ambient)
	}
	e.boolean(p.NoNewPrivileges)
	e.u32(uint32(len(p.Rlimits)))
	for _, r := range p.Rlimits {
		e.i64(int64(r.Resource))
		e.str(r.Name)
		e.u64(r.Soft)
		e.u64(r.Hard)
	}
	e.boolean(p.OOMScoreAdj != nil)
	if p.OOMScoreAdj != nil {
		e.i64(int64(*p.OOMScoreAdj))
	}
	e.str(p.ApparmorProfile)
	e.str(p.SelinuxLabel)
	e.boolean(p.Scheduler != nil)
	if s := p.Scheduler; s != nil {
		e.u32(s.Policy)
		e.u32(uint32(s.Nice))
		e.u32(s.Priority)
		e.u64(s.Flags)
		e.u64(s.Runtime)
		e.u64(s.Deadline)
		e.u64(s.Period)
	}
	e.boolean(p.IOPrio != nil)
	if io := p.IOPrio; io != nil {
		e.i64(int64(io.Class))
		e.i64(int64(io.Priority))
	}
	e.str(p.CPUs)
	e.str(p.InitialCPUs)
	e.bytes(p.Seccomp)
	e.u32(p.SeccompFlags)
	e.i32("seccompListenerFd", p.SeccompListenerFD)
	e.bytes(p.SeccompState)
}

// decoder reads fields strictly: every read is bounds-checked, a bool must
// be 0 or 1, a count cannot promise more elements than bytes are left, and
// nothing may follow the last field. The first failure sets err, naming
// the field by its path (plan.rootfs.mounts[2].target); later reads are
// no-ops, so the structure code stays linear.
type decoder struct {
	b    []byte
	off  int
	err  error
	path []pathElem
}

type pathElem struct {
	name string
	idx  int // -1: not a list element
}

func (d *decoder) in(name string)        { d.path = append(d.path, pathElem{name, -1}) }
func (d *decoder) at(name string, i int) { d.path = append(d.path, pathElem{name, i}) }
func (d *decoder) out()                  { d.path = d.path[:len(d.path)-1] }

func (d *decoder) where(field string) string {
	var s strings.Builder
	for _, p := range d.path {
		s.WriteString(p.name)
		if p.idx >= 0 {
			s.WriteString("[" + strconv.Itoa(p.idx) + "]")
		}
		s.WriteByte('.')
	}
	s.WriteString(field)
	return s.String()
}

func (d *decoder) fail(field, format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%s: %s", d.where(field), fmt.Sprintf(format, args...))
	}
}

func (d *decoder) take(field string, n int) []byte {
	if d.err != nil {
		return nil
	}
	if n > len(d.b)-d.off {
		d.fail(field, "needs %d bytes at offset %d, the message has %d", n, d.off, len(d.b))
		return nil
	}
	b := d.b[d.off : d.off+n]
	d.off += n
	return b
}

func (d *decoder) u8(field string) uint8 {
	if b := d.take(field, 1); b != nil {
		return b[0]
	}
	return 0
}

func (d *decoder) u32(field string) uint32 {
	if b := d.take(field, 4); b != nil {
		return ne.Uint32(b)
	}
	return 0
}

func (d *decoder) u64(field string) uint64 {
	if b := d.take(field, 8); b != nil {
		return ne.Uint64(b)
	}
	return 0
}

func (d *decoder) i64(field string) int64 { return int64(d.u64(field)) }
func (d *decoder) i32(field string) int   { return int(int32(d.u32(field))) }

func (d *decoder) boolean(field string) bool {
	v := d.u8(field)
	if v > 1 {
		d.fail(field, "bool is %d, not 0 or 1", v)
	}
	return v == 1
}

// count reads a list length; each element takes at least min bytes.
func (d *decoder) count(field string, min int) int {
	n := d.u32(field)
	if d.err == nil && uint64(n)*uint64(min) > uint64(len(d.b)-d.off) {
		d.fail(field, "%d elements cannot fit in the %d bytes left", n, len(d.b)-d.off)
		return 0
	}
	return int(n)
}

func (d *decoder) bytes(field string) []byte {
	n := d.count(field, 1)
	if n == 0 {
		return nil
	}
	b := d.take(field, n)
	if b == nil {
		return nil
	}
	return append([]byte(nil), b...)
}

func (d *decoder) str(field string) string {
	n := d.count(field, 1)
	if b := d.take(field, n); b != nil {
		return string(b)
	}
	return ""
}

func (d *decoder) strs(field string) []string {
	n := d.count(field, 4)
	if n == 0 {
		return nil
	}
	v := make([]string, n)
	for i := range v {
		d.at(field, i)
		v[i] = d.str("")
		d.out()
	}
	return v
}

// decodeMessage reads one message in the wire format.
func decodeMessage(b []byte) (*Message, error) {
	d := decoder{b: b}
	if magic := d.u32("magic"); d.err == nil && magic != wireMagic {
		return nil, fmt.Errorf("magic: %#x is not a slrt message (want %#x)", magic, wireMagic)
	}
	var m Message
	code := d.u8("kind")
	if d.err == nil {
		if int(code) >= len(kindCodes) || code == 0 {
			return nil, fmt.Errorf("kind: unknown code %d", code)
		}
		m.Kind = kindCodes[code]
	}
	m.Error = d.str("error")
	m.State = d.bytes("state")
	m.Files = int(d.u32("files"))
	if d.boolean("plan") {
		m.Plan = new(Plan)
		d.in("plan")
		d.plan(m.Plan)
		d.out()
	}
	if d.boolean("start") {
		r := new(StartRequest)
		d.in("start")
		r.Args = d.strs("args")
		if d.boolean("env") {
			r.Env = d.strs("env")
		}
		r.Cwd = d.str("cwd")
		r.CPUs = d.str("cpus")
		d.out()
		m.Start = r
	}
	if d.err == nil && d.off != len(d.b) {
		return nil, fmt.Errorf("%d bytes follow the last field", len(d.b)-d.off)
	}
	if d.err != nil {
		return nil, d.err
	}
	return &m, nil
}

func (d *decoder) plan(p *Plan) {
	p.Exec = d.boolean("exec")
	d.in("rootfs")
	d.rootfs(&p.Rootfs)
	d.out()
	d.in("process")
	d.process(&p.Proc)
	d.out()
	p.Hostname = d.str("hostname")
	p.SetHostname = d.boolean("setHostname")
	p.Domainname = d.str("domainname")
	p.SetDomainname = d.boolean("setDomainname")
	if n := d.count("sysctls", 8); n > 0 {
		p.Sysctls = make([]KV, n)
		for i := range p.Sysctls {
			d.at("sysctls", i)
			p.Sysctls[i] = KV{Key: d.str("k"), Value: d.str("v")}
			d.out()
		}
	}
	p.CreateCtrHooks = d.hooks("createContainerHooks")
	p.StartCtrHooks = d.hooks("startContainerHooks")
	p.Console = d.boolean("console")
	p.ConsoleRows = uint(d.u32("consoleRows"))
	p.ConsoleCols = uint(d.u32("consoleCols"))
	p.ListenFD = d.i32("listenFd")
	p.ConsoleFD = d.i32("consoleFd")
	p.NewUserNS = d.boolean("newUserNS")
	p.UnshareCgroupNS = d.boolean("unshareCgroupNS")
	p.TimeNS = d.boolean("timeNS")
	if n := d.count("timeOffsets", 16); n > 0 {
		p.TimeOffsets = make([]TimeOffset, n)
		for i := range p.TimeOffsets {
			d.at("timeOffsets", i)
			o := &p.TimeOffsets[i]
			o.Clock = d.str("clock")
			o.Secs = d.i64("secs")
			o.Nanos = d.u32("nanos")
			d.out()
		}
	}
	p.MountNSFD = d.i32("mountNsFd")
	if n := d.count("preserveFds", 4); n > 0 {
		p.PreserveFDs = make([]int, n)
		for i := range p.PreserveFDs {
			p.PreserveFDs[i] = d.i32("preserveFds")
		}
	}
}

func (d *decoder) hooks(field string) []Hook {
	n := d.count(field, 20)
	if n == 0 {
		return nil
	}
	hs := make([]Hook, n)
	for i := range hs {
		d.at(field, i)
		h := &hs[i]
		h.Path = d.str("path")
		h.Args = d.strs("args")
		h.Env = d.strs("env")
		h.Timeout = int(d.i64("timeout"))
		d.out()
	}
	return hs
}

func (d *decoder) rootfs(r *RootfsPlan) {
	r.Path = d.str("path")
	r.Readonly = d.boolean("readonly")
	r.Propagation = d.u64("propagation")
	r.NoPivot = d.boolean("noPivot")
	if n := d.count("mounts", 56); n > 0 {
		r.Mounts = make([]Mount, n)
		for i := range r.Mounts {
			d.at("mounts", i)
			m := &r.Mounts[i]
			m.Source = d.str("source")
			m.Target = d.str("target")
			m.Type = d.str("type")
			m.Flags = d.u64("flags")
			if k := d.count("propFlags", 8); k > 0 {
				m.PropFlags = make([]uint64, k)
				for j := range m.PropFlags {
					m.PropFlags[j] = d.u64("propFlags")
				}
			}
			m.Data = d.str("data")
			m.Bind = d.boolean("bind")
			m.SourceIsFile = d.boolean("sourceIsFile")
			m.SourceFD = d.i32("sourceFd")
			m.IDMap = d.boolean("idmap")
			m.IDMapRecursive = d.boolean("idmapRecursive")
			m.MountFD = d.i32("mountFd")
			m.RecAttrSet = d.u64("recAttrSet")
			m.RecAttrClr = d.u64("recAttrClr")
			d.out()
		}
	}
	if n := d.count("devices", 36); n > 0 {
		r.Devices = make([]Device, n)
		for i := range r.Devices {
			d.at("devices", i)
			v := &r.Devices[i]
			v.Path = d.str("path")
			v.Type = d.u32("type")
			v.Major = d.i64("major")
			v.Minor = d.i64("minor")
			v.Mode = d.u32("mode")
			v.UID = d.u32("uid")
			v.GID = d.u32("gid")
			d.out()
		}
	}
	r.MaskedPaths = d.strs("maskedPaths")
	r.ReadonlyPaths = d.strs("readonlyPaths")
	r.MountLabel = d.str("mountLabel")
	r.DefaultSymlink = d.boolean("defaultSymlinks")
	r.CgroupNS = d.boolean("cgroupNS")
}

func (d *decoder) process(p *ProcessPlan) {
	p.Args = d.strs("args")
	p.Env = d.strs("env")
	p.Cwd = d.str("cwd")
	p.UID = d.u32("uid")
	p.GID = d.u32("gid")
	if n := d.count("additionalGids", 4); n > 0 {
		p.AdditionalGids = make([]uint32, n)
		for i := range p.AdditionalGids {
			p.AdditionalGids[i] = d.u32("additionalGids")
		}
	}
	if d.boolean("umask") {
		u := d.u32("umask")
		p.Umask = &u
	}
	if d.boolean("caps") {
		d.in("caps")
		p.Caps = &Caps{
			Bounding:    d.u64("bounding"),
			Effective:   d.u64("effective"),
			Permitted:   d.u64("permitted"),
			Inheritable: d.u64("inheritable"),
			Ambient:     d.u64("ambient"),
		}
		d.out()
	}
	p.NoNewPrivileges = d.boolean("noNewPrivileges")
	if n := d.count("rlimits", 28); n > 0 {
		p.Rlimits = make([]Rlimit, n)
		for i := range p.Rlimits {
			d.at("rlimits", i)
			r := &p.Rlimits[i]
			r.Resource = int(d.i64("resource"))
			r.Name = d.str("name")
			r.Soft = d.u64("soft")
			r.Hard = d.u64("hard")
			d.out()
		}
	}
	if d.boolean("oomScoreAdj") {
		v := int(d.i64("oomScoreAdj"))
		p.OOMScoreAdj = &v
	}
	p.ApparmorProfile = d.str("apparmorProfile")
	p.SelinuxLabel = d.str("selinuxLabel")
	if d.boolean("scheduler") {
		d.in("scheduler")
		p.Scheduler = &Scheduler{
			Policy:   d.u32("policy"),
			Nice:     int32(d.u32("nice")),
			Priority: d.u32("priority"),
			Flags:    d.u64("flags"),
			Runtime:  d.u64("runtime"),
			Deadline: d.u64("deadline"),
			Period:   d.u64("period"),
		}
		d.out()
	}
	if d.boolean("ioPrio") {
		d.in("ioPrio")
		p.IOPrio = &IOPrio{Class: int(d.i64("class")), Priority: int(d.i64("priority"))}
		d.out()
	}
	p.CPUs = d.str("cpus")
	p.InitialCPUs = d.str("initialCpus")
	p.Seccomp = d.bytes("seccomp")
	p.SeccompFlags = d.u32("seccompFlags")
	p.SeccompListenerFD = d.i32("seccompListenerFd")
	p.SeccompState = d.bytes("seccompState")
}
