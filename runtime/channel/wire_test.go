package channel

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// fill sets every field reachable from v to a distinct non-zero value
// (lists get two elements, pointers are allocated), so a field the codec
// forgets comes back zero and fails the comparison.
func fill(v reflect.Value, n *int) {
	*n++
	switch v.Kind() {
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			fill(v.Field(i), n)
		}
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), n)
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			v.SetBytes([]byte(fmt.Sprintf("b%d\x00\xff", *n)))
			return
		}
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		fill(v.Index(0), n)
		fill(v.Index(1), n)
	case reflect.String:
		v.SetString(fmt.Sprintf("s%d", *n))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int32, reflect.Int64:
		v.SetInt(int64(*n))
	case reflect.Uint, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(*n))
	default:
		panic("fill: no rule for " + v.Type().String())
	}
}

func fullMessage() *Message {
	var p Plan
	n := 0
	fill(reflect.ValueOf(&p).Elem(), &n)
	return &Message{
		Kind:  KindPlan,
		Plan:  &p,
		Start: &StartRequest{Args: []string{"a", "b"}, Env: []string{"E=1"}, Cwd: "/w", CPUs: "0-1"},
		Error: "e\n\"x\"",
		State: []byte(`{"id":"c"}`),
		Files: 7,
	}
}

// TestWireEveryField round-trips a message whose every field is set: a
// field added to a struct but not to the codec fails here.
func TestWireEveryField(t *testing.T) {
	m := fullMessage()
	b, err := m.encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeMessage(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, m) {
		t.Fatalf("round trip changed the message:\n got %+v\nwant %+v", got, m)
	}
}

func TestWireRoundTrip(t *testing.T) {
	neg := -1000
	for _, tt := range []struct {
		name    string
		m, want Message
	}{
		{name: "kinds only", m: Message{Kind: KindMountsReady}},
		{name: "continue with state", m: Message{Kind: KindContinue, State: []byte("{}")}},
		{name: "error text", m: Message{Kind: KindError, Error: "mount /x: \xff\x00 invalid"}},
		{name: "start empty", m: Message{Kind: KindStart, Start: &StartRequest{}}},
		{name: "empty env keeps the spec's",
			m:    Message{Kind: KindStart, Start: &StartRequest{Args: []string{}, Env: []string{}}},
			want: Message{Kind: KindStart, Start: &StartRequest{}}},
		{name: "empty plan", m: Message{Kind: KindPlan, Plan: &Plan{}}},
		{name: "negative values", m: Message{Kind: KindPlan, Plan: &Plan{
			Proc:        ProcessPlan{OOMScoreAdj: &neg, Scheduler: &Scheduler{Nice: -20}},
			TimeOffsets: []TimeOffset{{Clock: "boottime", Secs: -5}},
			Rootfs:      RootfsPlan{Devices: []Device{{Path: "/dev/x", Major: -1}}},
		}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.m.encode()
			if err != nil {
				t.Fatal(err)
			}
			got, err := decodeMessage(b)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			if want.Kind == "" {
				want = tt.m
			}
			if !reflect.DeepEqual(*got, want) {
				t.Fatalf("got %+v, want %+v", *got, want)
			}
		})
	}
}

func TestWireEncodeErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		m    Message
		want string
	}{
		{"unknown kind", Message{Kind: "bogus"}, `unknown message kind "bogus"`},
		{"fd too large", Message{Kind: KindPlan, Plan: &Plan{ListenFD: 1 << 40}}, "listenFd: 1099511627776 does not fit in 32 bits"},
		{"negative files", Message{Kind: KindPlan, Files: -1}, "files: -1 is negative"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.m.encode()
			if err == nil || err.Error() != tt.want {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
		})
	}
}

// TestWireDecodeErrors checks that a malformed message is refused with an
// error naming the field where it went wrong.
func TestWireDecodeErrors(t *testing.T) {
	good, err := fullMessage().encode()
	if err != nil {
		t.Fatal(err)
	}
	small, _ := (&Message{Kind: KindStart, Start: &StartRequest{Args: []string{"sh"}}}).encode()
	patch := func(b []byte, off int, v ...byte) []byte {
		c := append([]byte(nil), b...)
		copy(c[off:], v)
		return c
	}
	for _, tt := range []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "magic: needs 4 bytes at offset 0, the message has 0"},
		{"bad magic", []byte("{\"kind\":\"plan\"}"), "magic: 0x696b227b is not a slrt message"},
		{"kind zero", patch(small, 4, 0), "kind: unknown code 0"},
		{"kind unknown", patch(small, 4, 99), "kind: unknown code 99"},
		{"bool not 0 or 1", patch(small, 4+1+4+4+4, 2), "plan: bool is 2, not 0 or 1"},
		{"huge count", patch(small, 4+1+4+4+4+1+1, 0xff, 0xff, 0xff, 0x7f), "start.args: 2147483647 elements cannot fit"},
		{"trailing bytes", append(append([]byte(nil), small...), 0), "1 bytes follow the last field"},
		{"truncated plan", good[:200], "plan."},
		{"truncated start", small[:len(small)-1], "start.cpus: needs 4 bytes"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m, err := decodeMessage(tt.b)
			if err == nil {
				t.Fatalf("decoded %+v, want an error", m)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

// TestWireTruncatedEverywhere cuts a full message at every length: each
// cut must be refused, never panic.
func TestWireTruncatedEverywhere(t *testing.T) {
	b, err := fullMessage().encode()
	if err != nil {
		t.Fatal(err)
	}
	for n := 0; n < len(b); n++ {
		if _, err := decodeMessage(b[:n]); err == nil {
			t.Fatalf("a message cut to %d of %d bytes decoded", n, len(b))
		}
	}
}

// FuzzDecode feeds the decoder what a container's init could send: it
// must never panic or allocate past the input, and what it accepts must
// re-encode to the same bytes.
func FuzzDecode(f *testing.F) {
	for _, m := range []*Message{fullMessage(), {Kind: KindError, Error: "x"}, {Kind: KindCreated}} {
		b, err := m.encode()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeMessage(b)
		if err != nil {
			return
		}
		again, err := m.encode()
		if err != nil {
			t.Fatalf("decoded message does not encode: %v", err)
		}
		m2, err := decodeMessage(again)
		if err != nil || !reflect.DeepEqual(m, m2) {
			t.Fatalf("re-encoded message decodes differently: %v", err)
		}
	})
}
