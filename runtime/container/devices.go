package container

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func i64(v int64) *int64 { return &v }

// defaultDeviceRules are the device-cgroup rules every container gets after
// the spec's own: creating any node (m) and using the default devices the
// runtime creates (runtime-spec "Default Devices") plus the console and pty
// devices a terminal needs. Without them the spec's usual "deny all" rule
// would forbid the init's own mknod of /dev/null. runc allows the same set.
var defaultDeviceRules = []specs.LinuxDeviceCgroup{
	{Allow: true, Type: "c", Access: "m"},
	{Allow: true, Type: "b", Access: "m"},
	{Allow: true, Type: "c", Major: i64(1), Minor: i64(3), Access: "rwm"},    // null
	{Allow: true, Type: "c", Major: i64(1), Minor: i64(5), Access: "rwm"},    // zero
	{Allow: true, Type: "c", Major: i64(1), Minor: i64(7), Access: "rwm"},    // full
	{Allow: true, Type: "c", Major: i64(1), Minor: i64(8), Access: "rwm"},    // random
	{Allow: true, Type: "c", Major: i64(1), Minor: i64(9), Access: "rwm"},    // urandom
	{Allow: true, Type: "c", Major: i64(5), Minor: i64(0), Access: "rwm"},    // tty
	{Allow: true, Type: "c", Major: i64(5), Minor: i64(1), Access: "rwm"},    // console
	{Allow: true, Type: "c", Major: i64(5), Minor: i64(2), Access: "rwm"},    // ptmx
	{Allow: true, Type: "c", Major: i64(136), Access: "rwm"},                 // pts/*
	{Allow: true, Type: "c", Major: i64(10), Minor: i64(200), Access: "rwm"}, // net/tun
}

// cgroupResources is the spec's resources with the device rules the
// runtime needs appended: the defaults above and linux.devices, which the
// container must be able to use since the spec asked for them.
func cgroupResources(s *specs.Spec) *specs.LinuxResources {
	var r specs.LinuxResources
	if s.Linux.Resources != nil {
		r = *s.Linux.Resources
	}
	r.Devices = append(append([]specs.LinuxDeviceCgroup(nil), r.Devices...), defaultDeviceRules...)
	for _, d := range s.Linux.Devices {
		r.Devices = append(r.Devices, specs.LinuxDeviceCgroup{
			Allow: true, Type: d.Type, Major: i64(d.Major), Minor: i64(d.Minor), Access: "rwm",
		})
	}
	return &r
}
