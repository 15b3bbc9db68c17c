package task

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	v1stats "github.com/containerd/cgroups/v3/cgroup1/stats"
	v2stats "github.com/containerd/cgroups/v3/cgroup2/stats"
	"google.golang.org/protobuf/proto"

	"github.com/slrt/slrt/runtime/cgroups"
	"github.com/slrt/slrt/runtime/cgroups/statsv1"
	"github.com/slrt/slrt/runtime/cgroups/statsv2"
	cgroupsv1 "github.com/slrt/slrt/shim/internal/pb/types/cgroups/v1"
	cgroupsv2 "github.com/slrt/slrt/shim/internal/pb/types/cgroups/v2"
)

// fill sets every field reachable from v to a distinct non-zero value
// (two elements per list), so a field lost or misnumbered anywhere shows.
func fill(v reflect.Value, n *uint64) {
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), n)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		fill(v.Index(0), n)
		fill(v.Index(1), n)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), n)
			}
		}
	case reflect.Uint64, reflect.Uint32:
		*n++
		v.SetUint(*n)
	case reflect.Float64:
		*n++
		v.SetFloat(float64(*n) + 0.5)
	case reflect.String:
		*n++
		v.SetString(fmt.Sprintf("s%d", *n))
	default:
		panic("fill: unhandled kind " + v.Kind().String())
	}
}

// sameFields compares want (our plain metrics) with got (decoded by
// containerd's own generated code) field by field, pairing names without
// regard to acronym case, and reports every field of either side that has
// no partner or a different value.
func sameFields(t *testing.T, path string, want, got reflect.Value) {
	t.Helper()
	switch want.Kind() {
	case reflect.Pointer:
		if want.IsNil() != got.IsNil() {
			t.Errorf("%s: nil %v, decoded nil %v", path, want.IsNil(), got.IsNil())
			return
		}
		if !want.IsNil() {
			sameFields(t, path, want.Elem(), got.Elem())
		}
	case reflect.Slice:
		if want.Len() != got.Len() {
			t.Errorf("%s: %d elements, decoded %d", path, want.Len(), got.Len())
			return
		}
		for i := 0; i < want.Len(); i++ {
			sameFields(t, fmt.Sprintf("%s[%d]", path, i), want.Index(i), got.Index(i))
		}
	case reflect.Struct:
		paired := map[string]bool{}
		for i := 0; i < want.NumField(); i++ {
			name := want.Type().Field(i).Name
			f, ok := got.Type().FieldByNameFunc(func(n string) bool { return strings.EqualFold(n, name) })
			if !ok {
				t.Errorf("%s.%s: containerd's %s has no such field", path, name, got.Type())
				continue
			}
			paired[f.Name] = true
			sameFields(t, path+"."+name, want.Field(i), got.FieldByIndex(f.Index))
		}
		for i := 0; i < got.NumField(); i++ {
			if f := got.Type().Field(i); f.IsExported() && !paired[f.Name] {
				t.Errorf("%s.%s: containerd's field is missing from %s", path, f.Name, want.Type())
			}
		}
	default:
		if want.Interface() != got.Convert(want.Type()).Interface() {
			t.Errorf("%s = %v, decoded %v", path, want.Interface(), got.Interface())
		}
	}
}

// TestMetricsWireFormat encodes fully populated metrics the way Stats does
// and decodes them with containerd/cgroups' own generated types (what the
// CRI runs), so every field number, type and the Any's type name are
// checked against containerd's .proto.
func TestMetricsWireFormat(t *testing.T) {
	var n uint64
	plain1, plain2 := &statsv1.Metrics{}, &statsv2.Metrics{}
	fill(reflect.ValueOf(plain1).Elem(), &n)
	fill(reflect.ValueOf(plain2).Elem(), &n)
	for _, tt := range []struct {
		stats    *cgroups.Stats
		typeName string
		plain    any
		decoded  proto.Message
	}{
		{&cgroups.Stats{V1: plain1}, "io.containerd.cgroups.v1.Metrics", plain1, &v1stats.Metrics{}},
		{&cgroups.Stats{V2: plain2}, "io.containerd.cgroups.v2.Metrics", plain2, &v2stats.Metrics{}},
	} {
		t.Run(tt.typeName, func(t *testing.T) {
			a, err := metricsAny(tt.stats)
			if err != nil {
				t.Fatal(err)
			}
			if a.TypeUrl != tt.typeName {
				t.Errorf("type %q, want %q", a.TypeUrl, tt.typeName)
			}
			if string(proto.MessageName(tt.decoded)) != tt.typeName {
				t.Fatalf("containerd names its type %q", proto.MessageName(tt.decoded))
			}
			if err := proto.Unmarshal(a.Value, tt.decoded); err != nil {
				t.Fatal(err)
			}
			if u := tt.decoded.ProtoReflect().GetUnknown(); len(u) > 0 {
				t.Errorf("containerd's decoder found %d bytes of fields it does not know", len(u))
			}
			sameFields(t, "Metrics", reflect.ValueOf(tt.plain), reflect.ValueOf(tt.decoded))
		})
	}
}

// TestMetricsTypesPairUp: every field of our plain and generated types has
// a partner on the other side (copyFields would drop it silently).
func TestMetricsTypesPairUp(t *testing.T) {
	var check func(plain, gen reflect.Type, seen map[reflect.Type]bool)
	check = func(plain, gen reflect.Type, seen map[reflect.Type]bool) {
		for plain.Kind() == reflect.Pointer || plain.Kind() == reflect.Slice {
			plain, gen = plain.Elem(), gen.Elem()
		}
		if plain.Kind() != reflect.Struct || seen[plain] {
			return
		}
		seen[plain] = true
		n := 0
		for i := 0; i < plain.NumField(); i++ {
			name := plain.Field(i).Name
			f, ok := gen.FieldByNameFunc(func(s string) bool { return strings.EqualFold(s, name) })
			if !ok {
				t.Errorf("%s.%s has no field in %s", plain, name, gen)
				continue
			}
			n++
			check(plain.Field(i).Type, f.Type, seen)
		}
		exported := 0
		for i := 0; i < gen.NumField(); i++ {
			if gen.Field(i).IsExported() {
				exported++
			}
		}
		if exported != n {
			t.Errorf("%s has %d fields, %s has %d", plain, n, gen, exported)
		}
	}
	check(reflect.TypeOf(statsv1.Metrics{}), reflect.TypeOf(cgroupsv1.Metrics{}), map[reflect.Type]bool{})
	check(reflect.TypeOf(statsv2.Metrics{}), reflect.TypeOf(cgroupsv2.Metrics{}), map[reflect.Type]bool{})
}

func TestMetricsAnyBadInput(t *testing.T) {
	for _, st := range []any{nil, "x", &cgroups.Stats{}} {
		if _, err := metricsAny(st); err == nil {
			t.Errorf("metricsAny(%#v): no error", st)
		}
	}
}
