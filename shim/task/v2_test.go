package task

import (
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"

	v2 "github.com/slrt/slrt/shim/internal/api/runtime/task/v2"
	v3 "github.com/slrt/slrt/shim/internal/api/runtime/task/v3"
)

// TestV2MatchesV3 guards the v2 registration: v3 messages decode v2
// requests only while every message has the same fields (number, kind,
// cardinality, message type modulo the package).
func TestV2MatchesV3(t *testing.T) {
	f2, f3 := v2.File_runtime_task_v2_shim_proto, v3.File_runtime_task_v3_shim_proto
	if f2.Messages().Len() != f3.Messages().Len() {
		t.Fatalf("v2 has %d messages, v3 %d", f2.Messages().Len(), f3.Messages().Len())
	}
	for i := 0; i < f2.Messages().Len(); i++ {
		m2 := f2.Messages().Get(i)
		m3 := f3.Messages().ByName(m2.Name())
		if m3 == nil {
			t.Errorf("v3 lacks %s", m2.Name())
			continue
		}
		if m2.Fields().Len() != m3.Fields().Len() {
			t.Errorf("%s: %d fields in v2, %d in v3", m2.Name(), m2.Fields().Len(), m3.Fields().Len())
			continue
		}
		for j := 0; j < m2.Fields().Len(); j++ {
			a := m2.Fields().Get(j)
			b := m3.Fields().ByNumber(a.Number())
			if b == nil || a.Kind() != b.Kind() || a.Cardinality() != b.Cardinality() || typeName(a) != typeName(b) {
				t.Errorf("%s.%s differs between v2 and v3", m2.Name(), a.Name())
			}
		}
	}
	s2, s3 := f2.Services().Get(0), f3.Services().Get(0)
	for i := 0; i < s2.Methods().Len(); i++ {
		m := s2.Methods().Get(i)
		if s3.Methods().ByName(m.Name()) == nil {
			t.Errorf("v3 lacks method %s", m.Name())
		}
	}
}

// typeName is a field's message type without the v2/v3 package.
func typeName(f protoreflect.FieldDescriptor) string {
	if f.Message() == nil {
		return ""
	}
	if f.Message().ParentFile().Package() == "containerd.task.v2" || f.Message().ParentFile().Package() == "containerd.task.v3" {
		return string(f.Message().Name())
	}
	return string(f.Message().FullName())
}
