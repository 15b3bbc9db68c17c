package channel

import (
	"encoding/json"
	"reflect"
	"testing"
)

// TestEncode checks the hand-written encoding against encoding/json: a
// standard decoder must read back what json.Marshal would have sent, for
// every field and for strings that need escaping.
func TestEncode(t *testing.T) {
	tests := []struct {
		name string
		m    Message
		// same is true when the bytes must equal json.Marshal's too (it
		// escapes <, >, &, \b and \f differently, which decoders accept).
		same bool
	}{
		{"kind only", Message{Kind: KindCreated}, true},
		{"error", Message{Kind: KindError, Error: `open "/a\b": no such file`}, true},
		{"plan", Message{Kind: KindPlan, Plan: &Plan{Hostname: "h"}, Files: 3}, true},
		{"start empty", Message{Kind: KindStart, Start: &StartRequest{}}, true},
		{"start full", Message{Kind: KindStart, State: []byte(`{"ociVersion":"1.0.2"}`),
			Start: &StartRequest{Args: []string{"sh", "-c", "echo 'x'"}, Env: []string{"A=1", "B="}, Cwd: "/w", CPUs: "0-1"}}, true},
		{"empty lists omitted", Message{Kind: KindStart, Start: &StartRequest{Args: []string{}, Env: []string{}}}, true},
		{"control characters", Message{Kind: KindError, Error: "a\x00b\x1fc\n\r\td\x7f"}, true},
		{"unicode", Message{Kind: KindError, Error: "ünï ✓ 😀"}, true},
		{"html and form feed", Message{Kind: KindError, Error: "<a>&\b\f\u2028"}, false},
		{"invalid utf-8", Message{Kind: KindError, Error: "bad \xff\xfe utf8 \xe2\x82"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.m.encode()
			if err != nil {
				t.Fatal(err)
			}
			want, err := json.Marshal(&tt.m)
			if err != nil {
				t.Fatal(err)
			}
			if tt.same && string(got) != string(want) {
				t.Errorf("encode:\n got %s\nwant %s", got, want)
			}
			var a, b Message
			if err := json.Unmarshal(got, &a); err != nil {
				t.Fatalf("decode %s: %v", got, err)
			}
			if err := json.Unmarshal(want, &b); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(a, b) {
				t.Errorf("decoded differently:\n got %+v\nwant %+v", a, b)
			}
		})
	}
}

// FuzzEncodeString checks any string survives the round trip as
// encoding/json would carry it (invalid UTF-8 becomes U+FFFD alike).
func FuzzEncodeString(f *testing.F) {
	for _, s := range []string{"", "x", "\x00", "\xff", "\"\\", "ü\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m := Message{Kind: Kind(s), Error: s, Start: &StartRequest{Args: []string{s}}}
		got, err := m.encode()
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(&m)
		var a, b Message
		if err := json.Unmarshal(got, &a); err != nil {
			t.Fatalf("decode %q: %v", got, err)
		}
		if err := json.Unmarshal(want, &b); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("%q: got %+v, want %+v", s, a, b)
		}
	})
}
