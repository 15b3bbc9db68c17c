package pb_test

// These tests check the lean encoding (hack/protoc-gen-slrt) against
// protobuf-go's, message by message: protobuf-go and the protoc-gen-go code in
// shim/internal/api are the oracle, linked only into this test binary.

import (
	"bytes"
	"math"
	"math/rand"
	"sort"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	// The oracle's types register themselves by proto name.
	_ "github.com/slrt/slrt/shim/internal/api/events"
	_ "github.com/slrt/slrt/shim/internal/api/runtime/bootstrap/v1"
	_ "github.com/slrt/slrt/shim/internal/api/runtime/task/v2"
	_ "github.com/slrt/slrt/shim/internal/api/runtime/task/v3"
	_ "github.com/slrt/slrt/shim/internal/api/services/ttrpc/events/v1"
	_ "github.com/slrt/slrt/shim/internal/api/types"
	_ "github.com/slrt/slrt/shim/internal/api/types/cgroups/v1"
	_ "github.com/slrt/slrt/shim/internal/api/types/cgroups/v2"
	_ "github.com/slrt/slrt/shim/internal/api/types/runc/options"
	_ "github.com/slrt/slrt/shim/internal/api/types/task"
	_ "google.golang.org/protobuf/types/known/anypb"
	_ "google.golang.org/protobuf/types/known/emptypb"
	_ "google.golang.org/protobuf/types/known/timestamppb"

	events "github.com/slrt/slrt/shim/internal/pb/events"
	bootstrap "github.com/slrt/slrt/shim/internal/pb/runtime/bootstrap/v1"
	taskv3 "github.com/slrt/slrt/shim/internal/pb/runtime/task/v3"
	eventsvc "github.com/slrt/slrt/shim/internal/pb/services/ttrpc/events/v1"
	"github.com/slrt/slrt/shim/internal/pb/types"
	cgroupsv1 "github.com/slrt/slrt/shim/internal/pb/types/cgroups/v1"
	cgroupsv2 "github.com/slrt/slrt/shim/internal/pb/types/cgroups/v2"
	"github.com/slrt/slrt/shim/internal/pb/types/runc/options"
	"github.com/slrt/slrt/shim/internal/pb/types/task"
	"github.com/slrt/slrt/shim/internal/pb/wkt"
)

type lean interface {
	Size() int
	Marshal() ([]byte, error)
	Unmarshal([]byte) error
}

// leanTypes is every generated message, by full proto name. Task v2's
// names map to v3's messages: the shim serves both services with them
// (the two shim.proto files differ only in their package), so each v2
// message is checked against v3's lean code.
func leanTypes(t testing.TB) map[string]func() any {
	all := map[string]func() any{}
	v2 := map[string]func() any{}
	for name, newMsg := range taskv3.MessagesShimProto() {
		v2[strings.Replace(name, "containerd.task.v3.", "containerd.task.v2.", 1)] = newMsg
	}
	for _, m := range []map[string]func() any{
		events.MessagesTaskProto(), bootstrap.MessagesBootstrapProto(),
		v2, taskv3.MessagesShimProto(), eventsvc.MessagesEventsProto(),
		types.MessagesMountProto(), types.MessagesEventProto(), types.MessagesIntrospectionProto(),
		cgroupsv1.MessagesMetricsProto(), cgroupsv2.MessagesMetricsProto(), options.MessagesOciProto(),
		task.MessagesTaskProto(), wkt.MessagesAnyProto(), wkt.MessagesTimestampProto(), wkt.MessagesEmptyProto(),
	} {
		for name, newMsg := range m {
			if _, dup := all[name]; dup {
				t.Fatalf("%s generated twice", name)
			}
			all[name] = newMsg
		}
	}
	return all
}

func names(m map[string]func() any) []string {
	var ns []string
	for n := range m {
		ns = append(ns, n)
	}
	sort.Strings(ns)
	return ns
}

func oracle(t testing.TB, name string) protoreflect.MessageType {
	mt, err := protoregistry.GlobalTypes.FindMessageByName(protoreflect.FullName(name))
	if err != nil {
		t.Fatalf("protobuf-go has no %s: %v", name, err)
	}
	return mt
}

// fill sets every field of m to a random value, recursing into messages
// up to depth; zero values come up often too, since proto3 omits them.
func fill(r *rand.Rand, m protoreflect.Message, depth int) {
	fields := m.Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if r.Intn(4) == 0 {
			continue
		}
		switch {
		case fd.IsMap():
			mp := m.Mutable(fd).Map()
			for n := r.Intn(4); n > 0; n-- {
				k := scalar(r, fd.MapKey()).MapKey()
				if fd.MapValue().Kind() == protoreflect.MessageKind {
					if depth == 0 {
						continue
					}
					v := mp.NewValue()
					fill(r, v.Message(), depth-1)
					mp.Set(k, v)
				} else {
					mp.Set(k, scalar(r, fd.MapValue()))
				}
			}
		case fd.IsList():
			l := m.Mutable(fd).List()
			for n := r.Intn(4); n > 0; n-- {
				if fd.Kind() == protoreflect.MessageKind {
					if depth == 0 {
						break
					}
					v := l.NewElement()
					fill(r, v.Message(), depth-1)
					l.Append(v)
				} else {
					l.Append(scalar(r, fd))
				}
			}
		case fd.Kind() == protoreflect.MessageKind:
			if depth > 0 {
				fill(r, m.Mutable(fd).Message(), depth-1)
			}
		default:
			m.Set(fd, scalar(r, fd))
		}
	}
}

func scalar(r *rand.Rand, fd protoreflect.FieldDescriptor) protoreflect.Value {
	// Mostly small values, sometimes the extremes and negative ones, where
	// sign extension and zigzag differ.
	i64 := func() int64 {
		switch r.Intn(4) {
		case 0:
			return 0
		case 1:
			return int64(r.Intn(300))
		case 2:
			return -int64(r.Intn(300)) - 1
		}
		return int64(r.Uint64())
	}
	switch fd.Kind() {
	case protoreflect.BoolKind:
		return protoreflect.ValueOfBool(r.Intn(2) == 0)
	case protoreflect.EnumKind:
		vals := fd.Enum().Values()
		if r.Intn(5) == 0 {
			return protoreflect.ValueOfEnum(protoreflect.EnumNumber(i64())) // unknown to us
		}
		return protoreflect.ValueOfEnum(vals.Get(r.Intn(vals.Len())).Number())
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return protoreflect.ValueOfInt32(int32(i64()))
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return protoreflect.ValueOfInt64(i64())
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return protoreflect.ValueOfUint32(uint32(i64()))
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return protoreflect.ValueOfUint64(uint64(i64()))
	case protoreflect.FloatKind:
		return protoreflect.ValueOfFloat32([]float32{0, float32(math.Copysign(0, -1)), 1.5, -3e9, math.MaxFloat32}[r.Intn(5)])
	case protoreflect.DoubleKind:
		return protoreflect.ValueOfFloat64([]float64{0, math.Copysign(0, -1), 0.25, -7e300, math.SmallestNonzeroFloat64}[r.Intn(5)])
	case protoreflect.StringKind:
		return protoreflect.ValueOfString([]string{"", "a", "containerd", "ünï", string(bytes.Repeat([]byte("x"), 200))}[r.Intn(5)])
	case protoreflect.BytesKind:
		b := make([]byte, r.Intn(140))
		r.Read(b)
		return protoreflect.ValueOfBytes(b)
	}
	panic("unexpected kind " + fd.Kind().String())
}

// TestEveryMessageHasBothSides catches a .proto message generated by one
// generator and not the other (hack/proto.sh feeds both the same files).
func TestEveryMessageHasBothSides(t *testing.T) {
	lt := leanTypes(t)
	for _, name := range names(lt) {
		oracle(t, name)
	}
	n := 0
	protoregistry.GlobalTypes.RangeMessages(func(mt protoreflect.MessageType) bool {
		d := mt.Descriptor()
		if d.IsMapEntry() {
			return true
		}
		path := d.ParentFile().Path()
		if d.ParentFile().Package() == "ttrpc" {
			return true // ttrpc's own request.proto, linked by the oracle's stubs
		}
		if path == "google/protobuf/any.proto" || path == "google/protobuf/timestamp.proto" ||
			path == "google/protobuf/empty.proto" || !bytes.HasPrefix([]byte(path), []byte("google/")) {
			n++
			if lt[string(d.FullName())] == nil {
				t.Errorf("no lean type for %s (%s)", d.FullName(), path)
			}
		}
		return true
	})
	if n != len(lt) {
		t.Errorf("protobuf-go has %d messages of our .proto files, the lean code %d", n, len(lt))
	}
}

// TestWireEquality encodes random messages with one implementation and
// decodes them with the other, both ways, for every message type.
func TestWireEquality(t *testing.T) {
	lt := leanTypes(t)
	for _, name := range names(lt) {
		t.Run(name, func(t *testing.T) {
			mt := oracle(t, name)
			r := rand.New(rand.NewSource(int64(len(name))))
			for i := 0; i < 200; i++ {
				orig := mt.New()
				fill(r, orig, 3)
				want, err := proto.MarshalOptions{Deterministic: true}.Marshal(orig.Interface())
				if err != nil {
					t.Fatal(err)
				}
				// protobuf-go -> lean -> protobuf-go.
				l := lt[name]().(lean)
				if err := l.Unmarshal(want); err != nil {
					t.Fatalf("lean Unmarshal of protobuf-go's %x: %v", want, err)
				}
				if got := l.Size(); got != len(want) {
					t.Errorf("lean Size %d, protobuf-go wrote %d bytes", got, len(want))
				}
				got, err := l.Marshal()
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != len(want) {
					t.Errorf("lean wrote %d bytes, protobuf-go %d", len(got), len(want))
				}
				back := mt.New()
				if err := proto.Unmarshal(got, back.Interface()); err != nil {
					t.Fatalf("protobuf-go cannot decode lean's %x: %v", got, err)
				}
				if !proto.Equal(orig.Interface(), back.Interface()) {
					t.Fatalf("round trip through lean changed the message:\n  sent %v\n  got  %v", orig, back)
				}
				// Without maps (whose order Go randomizes) the bytes agree too.
				if !hasMap(mt.Descriptor()) && !bytes.Equal(got, want) {
					t.Errorf("lean wrote\n  %x\nprotobuf-go\n  %x", got, want)
				}

				// An unknown field (a newer containerd) is skipped, as is a
				// known number with a foreign wire type.
				extra := protowire.AppendTag(append([]byte{}, want...), 1999, protowire.BytesType)
				extra = protowire.AppendString(extra, "from the future")
				extra = protowire.AppendTag(extra, 2000, protowire.Fixed64Type)
				extra = protowire.AppendFixed64(extra, 7)
				l2 := lt[name]().(lean)
				if err := l2.Unmarshal(extra); err != nil {
					t.Fatalf("lean Unmarshal with unknown fields: %v", err)
				}
				if again, _ := l2.Marshal(); len(again) != len(want) {
					t.Errorf("unknown fields kept: %d bytes, want %d", len(again), len(want))
				}
			}
		})
	}
}

func hasMap(d protoreflect.MessageDescriptor) bool {
	return hasMapSeen(d, map[protoreflect.FullName]bool{})
}

func hasMapSeen(d protoreflect.MessageDescriptor, seen map[protoreflect.FullName]bool) bool {
	if seen[d.FullName()] {
		return false
	}
	seen[d.FullName()] = true
	fs := d.Fields()
	for i := 0; i < fs.Len(); i++ {
		f := fs.Get(i)
		if f.IsMap() {
			return true
		}
		if f.Message() != nil && hasMapSeen(f.Message(), seen) {
			return true
		}
	}
	return false
}

// TestUnmarshalBadInput: truncated and malformed input is an error naming
// the message, never a panic or a silent partial decode.
func TestUnmarshalBadInput(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"truncated tag", []byte{0x80}, "containerd.task.v3.CreateTaskRequest"},
		{"truncated length", []byte{0x0a, 0x05, 'a'}, "containerd.task.v3.CreateTaskRequest.id"},
		{"field number zero", []byte{0x02, 0x00}, "containerd.task.v3.CreateTaskRequest"},
		{"bad nested mount", []byte{0x1a, 0x02, 0x0a, 0x09}, "containerd.types.Mount.type"},
		{"truncated unknown field", []byte{0xfa, 0x3e, 0x09}, "containerd.task.v3.CreateTaskRequest"},
		{"end group without start", []byte{0x0c}, "containerd.task.v3.CreateTaskRequest"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var m taskv3.CreateTaskRequest
			err := m.Unmarshal(tc.in)
			if err == nil {
				t.Fatalf("Unmarshal(%x) succeeded: %+v", tc.in, &m)
			}
			if !bytes.Contains([]byte(err.Error()), []byte(tc.want)) {
				t.Errorf("error %q does not name %s", err, tc.want)
			}
			if oracleErr := proto.Unmarshal(tc.in, oracle(t, "containerd.task.v3.CreateTaskRequest").New().Interface()); oracleErr == nil {
				t.Errorf("protobuf-go accepts %x", tc.in)
			}
		})
	}
}

// FuzzUnmarshal: whatever protobuf-go accepts, the lean code accepts and
// re-encodes to the same message (unknown fields dropped); and nothing
// panics.
func FuzzUnmarshal(f *testing.F) {
	lt := leanTypes(f)
	ns := names(lt)
	r := rand.New(rand.NewSource(1))
	for i, name := range ns {
		m := oracle(f, name).New()
		fill(r, m, 2)
		b, _ := proto.Marshal(m.Interface())
		f.Add(uint16(i), b)
	}
	f.Fuzz(func(t *testing.T, which uint16, in []byte) {
		name := ns[int(which)%len(ns)]
		l := lt[name]().(lean)
		leanErr := l.Unmarshal(in)
		want := oracle(t, name).New()
		if err := (proto.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(in, want.Interface()); err != nil {
			return // protobuf-go also checks UTF-8, which we do not
		}
		if leanErr != nil {
			t.Fatalf("%s: protobuf-go accepts %x, lean: %v", name, in, leanErr)
		}
		out, _ := l.Marshal()
		got := oracle(t, name).New()
		if err := proto.Unmarshal(out, got.Interface()); err != nil {
			t.Fatalf("%s: protobuf-go cannot decode lean's re-encoding %x: %v", name, out, err)
		}
		if !proto.Equal(want.Interface(), got.Interface()) {
			t.Fatalf("%s: lean decoded %x as\n  %v\nprotobuf-go as\n  %v", name, in, got, want)
		}
	})
}
