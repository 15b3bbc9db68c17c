package annotations

import (
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   map[string]string
		want Hints
		err  string // substring; the annotation's name is checked too
	}{
		{"none", nil, Hints{}, ""},
		{"others ignored", map[string]string{"slrt.io/fgac-profile": "x", "io.kubernetes.cri.container-type": "sandbox"}, Hints{}, ""},
		{"fast-start 1", map[string]string{FastStart: "1"}, Hints{FastStart: 1}, ""},
		{"fast-start max", map[string]string{FastStart: " 8 "}, Hints{FastStart: 8}, ""},
		{"fast-start 0", map[string]string{FastStart: "0"}, Hints{}, `"0" is not a number of shells from 1 to 8`},
		{"fast-start too many", map[string]string{FastStart: "9"}, Hints{}, "from 1 to 8"},
		{"fast-start word", map[string]string{FastStart: "yes"}, Hints{}, "from 1 to 8"},
		{"fast-start empty", map[string]string{FastStart: ""}, Hints{}, "from 1 to 8"},
		{"affinity list", map[string]string{CPUAffinity: "2-3"}, Hints{CPUAffinity: "2-3"}, ""},
		{"affinity canonical", map[string]string{CPUAffinity: "3,2,0"}, Hints{CPUAffinity: "0,2-3"}, ""},
		{"affinity auto", map[string]string{CPUAffinity: "auto"}, Hints{CPUAffinity: "auto"}, ""},
		{"affinity empty", map[string]string{CPUAffinity: ""}, Hints{}, `nor "auto"`},
		{"affinity bad", map[string]string{CPUAffinity: "2-"}, Hints{}, `"2-" is neither a CPU list`},
		{"affinity word", map[string]string{CPUAffinity: "fast"}, Hints{}, "neither a CPU list"},
		{"sched fifo", map[string]string{Sched: "fifo:50"}, Hints{Sched: &specs.Scheduler{Policy: specs.SchedFIFO, Priority: 50}}, ""},
		{"sched rr", map[string]string{Sched: "RR:10"}, Hints{Sched: &specs.Scheduler{Policy: specs.SchedRR, Priority: 10}}, ""},
		{"sched 99", map[string]string{Sched: "fifo:99"}, Hints{Sched: &specs.Scheduler{Policy: specs.SchedFIFO, Priority: 99}}, ""},
		{"sched 0", map[string]string{Sched: "fifo:0"}, Hints{}, "priority outside 1 to 99"},
		{"sched 100", map[string]string{Sched: "rr:100"}, Hints{}, "priority outside 1 to 99"},
		{"sched no prio", map[string]string{Sched: "fifo"}, Hints{}, "has no priority"},
		{"sched other policy", map[string]string{Sched: "deadline:5"}, Hints{}, `unknown policy "deadline"`},
		{"all", map[string]string{FastStart: "2", CPUAffinity: "1", Sched: "rr:1"},
			Hints{FastStart: 2, CPUAffinity: "1", Sched: &specs.Scheduler{Policy: specs.SchedRR, Priority: 1}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one containing %q", err, tc.err)
				}
				// The message names the annotation and the accepted forms.
				for k := range tc.in {
					if !strings.Contains(err.Error(), "annotation "+k) {
						t.Errorf("err %q does not name %s", err, k)
					}
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}
