package task

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/slrt/slrt/runtime/cgroups"
	cgroupsv1 "github.com/slrt/slrt/shim/internal/pb/types/cgroups/v1"
	cgroupsv2 "github.com/slrt/slrt/shim/internal/pb/types/cgroups/v2"
	"github.com/slrt/slrt/shim/internal/pb/wkt"
)

// The type names containerd's typeurl gives containerd/cgroups' metrics
// (no type.googleapis.com/ prefix), which the CRI switches on. Our
// generated messages carry another proto package (hack/proto.sh says why),
// so the names are spelt here rather than taken from the descriptors.
const (
	metricsV1Type = "io.containerd.cgroups.v1.Metrics"
	metricsV2Type = "io.containerd.cgroups.v2.Metrics"
)

// metricsAny wraps the engine's cgroup stats in the Any the CRI decodes.
func metricsAny(st any) (*wkt.Any, error) {
	s, ok := st.(*cgroups.Stats)
	if !ok || s == nil {
		return nil, fmt.Errorf("stats: unexpected type %T", st)
	}
	var (
		m        interface{ Marshal() ([]byte, error) }
		typeName string
	)
	switch {
	case s.V2 != nil:
		v := &cgroupsv2.Metrics{}
		copyFields(reflect.ValueOf(v).Elem(), reflect.ValueOf(s.V2).Elem())
		m, typeName = v, metricsV2Type
	case s.V1 != nil:
		v := &cgroupsv1.Metrics{}
		copyFields(reflect.ValueOf(v).Elem(), reflect.ValueOf(s.V1).Elem())
		m, typeName = v, metricsV1Type
	default:
		return nil, fmt.Errorf("stats: no metrics")
	}
	b, err := (m).Marshal()
	if err != nil {
		return nil, fmt.Errorf("encode metrics: %w", err)
	}
	return &wkt.Any{TypeUrl: typeName, Value: b}, nil
}

// copyFields copies the engine's plain metrics (runtime/cgroups/statsv1,
// statsv2) into the generated messages. The two were made from the same
// .proto and differ only in acronym case (CPU/Cpu, RSS/Rss), so fields pair
// up by case-insensitive name; pointers, slices and scalars are copied
// structurally. stats_test.go checks that every field pairs up, so a field
// added on one side only fails a test instead of being dropped silently.
func copyFields(dst, src reflect.Value) {
	switch src.Kind() {
	case reflect.Pointer:
		if src.IsNil() {
			return
		}
		dst.Set(reflect.New(dst.Type().Elem()))
		copyFields(dst.Elem(), src.Elem())
	case reflect.Slice:
		if src.IsNil() {
			return
		}
		dst.Set(reflect.MakeSlice(dst.Type(), src.Len(), src.Len()))
		for i := 0; i < src.Len(); i++ {
			copyFields(dst.Index(i), src.Index(i))
		}
	case reflect.Struct:
		st := src.Type()
		for i := 0; i < st.NumField(); i++ {
			name := st.Field(i).Name
			f := dst.FieldByNameFunc(func(n string) bool { return strings.EqualFold(n, name) })
			if f.IsValid() && f.CanSet() {
				copyFields(f, src.Field(i))
			}
		}
	default:
		if src.Kind() == dst.Kind() {
			dst.Set(src.Convert(dst.Type()))
		}
	}
}
