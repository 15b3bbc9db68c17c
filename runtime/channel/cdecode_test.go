package channel

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"

	"github.com/slrt/slrt/internal/cdriver"
)

// buildCDecoder compiles cmd/slrt-init's decoder with its test driver
// (test/decode.c).
func buildCDecoder(t *testing.T) string {
	t.Helper()
	return cdriver.Build(t, t.TempDir(), "decode", "wire.c", "err.c")
}

// leaf is one value of a message in wire order, with its Go path.
type leaf struct{ path, value string }

// escape prints bytes as test/decode.c does.
func escape(b []byte) string {
	var s strings.Builder
	for _, c := range b {
		if c >= 0x20 && c < 0x7f && c != '\\' {
			s.WriteByte(c)
		} else {
			fmt.Fprintf(&s, "\\x%02x", c)
		}
	}
	return s.String()
}

func b01(v bool) string {
	if v {
		return "1"
	}
	return "0"
}

// walk lists the values of v the way the wire carries them: a list is its
// count then its elements, a pointer is 0/1 then its value. It reflects
// over the Go structs, so a Go field the C side does not decode shifts
// every value after it.
func walk(path string, v reflect.Value, out *[]leaf) {
	add := func(s string) { *out = append(*out, leaf{path, s}) }
	switch v.Kind() {
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			walk(path+"."+v.Type().Field(i).Name, v.Field(i), out)
		}
	case reflect.Pointer:
		add(b01(!v.IsNil()))
		if !v.IsNil() {
			walk(path, v.Elem(), out)
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			add(escape(v.Bytes()))
			return
		}
		add(fmt.Sprint(v.Len()))
		for i := 0; i < v.Len(); i++ {
			walk(fmt.Sprintf("%s[%d]", path, i), v.Index(i), out)
		}
	case reflect.String:
		add(escape([]byte(v.String())))
	case reflect.Bool:
		add(b01(v.Bool()))
	case reflect.Int, reflect.Int32, reflect.Int64:
		add(fmt.Sprint(v.Int()))
	case reflect.Uint, reflect.Uint32, reflect.Uint64:
		add(fmt.Sprint(v.Uint()))
	default:
		panic("walk: no rule for " + v.Type().String())
	}
}

// leaves lists m in wire order (plan.h's struct message).
func leaves(m *Message) []leaf {
	code, _ := kindCode(m.Kind)
	out := []leaf{{"Kind", fmt.Sprint(code)}, {"Error", escape([]byte(m.Error))},
		{"State", escape(m.State)}, {"Files", fmt.Sprint(m.Files)}}
	walk("Plan", reflect.ValueOf(m.Plan), &out)
	out = append(out, leaf{"Start", b01(m.Start != nil)})
	if r := m.Start; r != nil {
		walk("Start.Args", reflect.ValueOf(r.Args), &out)
		out = append(out, leaf{"Start.Env", b01(len(r.Env) > 0)})
		if len(r.Env) > 0 {
			walk("Start.Env", reflect.ValueOf(r.Env), &out)
		}
		out = append(out, leaf{"Start.Cwd", r.Cwd}, leaf{"Start.CPUs", r.CPUs})
	}
	return out
}

func runCDecoder(t *testing.T, bin string, b []byte) (string, error) {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Stdin = bytes.NewReader(b)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	return string(out), err
}

// TestCDecoder encodes messages in Go and has the C init's decoder print
// what it read: every value must match, in order.
func TestCDecoder(t *testing.T) {
	bin := buildCDecoder(t)
	neg := -17
	for _, tt := range []struct {
		name string
		m    *Message
	}{
		{"every field", fullMessage()},
		{"empty plan", &Message{Kind: KindPlan, Plan: &Plan{}}},
		{"continue", &Message{Kind: KindContinue, State: []byte("{\"id\":\"x\"}\n")}},
		{"start", &Message{Kind: KindStart, Start: &StartRequest{Args: []string{"sh", "-c", "é\\"}, Cwd: "/"}}},
		{"negative", &Message{Kind: KindPlan, Plan: &Plan{Proc: ProcessPlan{OOMScoreAdj: &neg,
			Scheduler: &Scheduler{Nice: -3}}, MountNSFD: -1}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.m.encode()
			if err != nil {
				t.Fatal(err)
			}
			out, err := runCDecoder(t, bin, b)
			if err != nil {
				t.Fatalf("C decoder: %v\n%s", err, out)
			}
			got := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			want := leaves(tt.m)
			for i := range want {
				if i >= len(got) {
					t.Fatalf("C decoder stopped before %s (value %d of %d)", want[i].path, i, len(want))
				}
				if got[i] != want[i].value {
					t.Fatalf("%s: C decoded %q, Go sent %q (value %d)", want[i].path, got[i], want[i].value, i)
				}
			}
			if len(got) > len(want) {
				t.Fatalf("C decoder printed %d values, Go sent %d", len(got), len(want))
			}
		})
	}
}

// TestCDecoderRefuses checks the C decoder's strictness on what the Go
// decoder refuses too, and on a NUL inside a string (C would cut it).
func TestCDecoderRefuses(t *testing.T) {
	bin := buildCDecoder(t)
	full, err := fullMessage().encode()
	if err != nil {
		t.Fatal(err)
	}
	nul, err := (&Message{Kind: KindStart, Start: &StartRequest{Args: []string{"a\x00b"}}}).encode()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		b    []byte
		want string
	}{
		{"bad magic", []byte(`{"kind":"plan"}`), "magic: 0x696b227b is not a slrt message"},
		{"trailing", append(append([]byte(nil), full...), 1), "1 bytes follow the last field"},
		{"nul in string", nul, "start args: a NUL byte inside the string"},
		{"huge count", append(append([]byte(nil), full[:4+1]...), 0xff, 0xff, 0xff, 0x7f), "error: 2147483647 elements cannot fit"},
	}
	for n := 0; n < len(full); n += 7 {
		cases = append(cases, struct {
			name string
			b    []byte
			want string
		}{fmt.Sprintf("cut at %d", n), full[:n], "decode message"})
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			out, err := runCDecoder(t, bin, tt.b)
			if err == nil {
				t.Fatalf("C decoder accepted it:\n%.300s", out)
			}
			if !strings.Contains(out, tt.want) {
				t.Fatalf("got %q, want it to contain %q", out, tt.want)
			}
		})
	}
}
