package main

import (
	"testing"
	"time"
)

func TestParseStamp(t *testing.T) {
	for _, tc := range []struct {
		line string
		ok   bool
		at   time.Time
		cpus string
	}{
		{"2026-12-04T20:43:06.631762343Z stdout F stamp 1796416986.631762343 cpus 1", true, time.Unix(1796416986, 631762343), "1"},
		{"stamp 5.000000001 cpus 0-1,3", true, time.Unix(5, 1), "0-1,3"},
		{"2026-12-04T20:43:06Z stdout F hello", false, time.Time{}, ""},
		{"stamp 5.1 cpus 1", false, time.Time{}, ""}, // nanoseconds are 9 digits
		{"stamp 5.000000001 cpu 1", false, time.Time{}, ""},
		{"stamp x.000000001 cpus 1", false, time.Time{}, ""},
		{"stamp 5.000000001 cpus", false, time.Time{}, ""},
	} {
		at, cpus, ok := parseStamp(tc.line)
		if ok != tc.ok || !at.Equal(tc.at) || cpus != tc.cpus {
			t.Errorf("parseStamp(%q) = %v, %q, %v; want %v, %q, %v", tc.line, at, cpus, ok, tc.at, tc.cpus, tc.ok)
		}
	}
}
