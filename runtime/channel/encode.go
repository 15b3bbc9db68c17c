package channel

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// encode writes m as the JSON json.Marshal would give (the same field
// names and omitempty rules), but without reflecting over Message: the
// first json.Marshal of a *Message builds encoders for every type reachable
// from it, the whole Plan included, which cost a measured ~90 page faults
// (over 1 ms here) in each `slrt start` and ~27 in each slrt-init, and both
// only send small messages. A Plan still goes through encoding/json: it is
// large, and its encoders are built where it is sent anyway.
func (m *Message) encode() ([]byte, error) {
	o := object{b: make([]byte, 0, 64+len(m.Error)+len(m.State)*4/3)}
	o.open()
	o.str("kind", string(m.Kind))
	if m.Plan != nil {
		p, err := json.Marshal(m.Plan)
		if err != nil {
			return nil, err
		}
		o.key("plan")
		o.b = append(o.b, p...)
	}
	if r := m.Start; r != nil {
		o.key("start")
		o.open()
		o.strs("args", r.Args)
		o.strs("env", r.Env)
		o.str("cwd", r.Cwd)
		o.str("cpus", r.CPUs)
		o.close()
	}
	o.str("error", m.Error)
	if len(m.State) > 0 {
		o.key("state")
		o.b = append(o.b, '"')
		o.b = base64.StdEncoding.AppendEncode(o.b, m.State)
		o.b = append(o.b, '"')
	}
	if m.Files != 0 {
		o.key("files")
		o.b = strconv.AppendInt(o.b, int64(m.Files), 10)
	}
	o.close()
	return o.b, nil
}

// object appends a JSON object's members, commas included.
type object struct {
	b     []byte
	first bool
}

func (o *object) open()  { o.b = append(o.b, '{'); o.first = true }
func (o *object) close() { o.b = append(o.b, '}'); o.first = false }

func (o *object) key(k string) {
	if !o.first {
		o.b = append(o.b, ',')
	}
	o.first = false
	o.b = appendString(o.b, k)
	o.b = append(o.b, ':')
}

// str writes a string member, omitted when empty (omitempty).
func (o *object) str(k, v string) {
	if v == "" {
		return
	}
	o.key(k)
	o.b = appendString(o.b, v)
}

// strs writes a []string member, omitted when empty (omitempty: an empty
// list and a missing one decode alike, as with json.Marshal).
func (o *object) strs(k string, v []string) {
	if len(v) == 0 {
		return
	}
	o.key(k)
	o.b = append(o.b, '[')
	for i, s := range v {
		if i > 0 {
			o.b = append(o.b, ',')
		}
		o.b = appendString(o.b, s)
	}
	o.b = append(o.b, ']')
}

// appendString appends s as a JSON string. Like encoding/json it escapes
// quotes, backslashes and control characters and turns invalid UTF-8 into
// U+FFFD, so any Go string (an error text naming a path, an argument)
// round-trips through a standard decoder.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
