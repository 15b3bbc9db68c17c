package task

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseMountOptions(t *testing.T) {
	for _, tc := range []struct {
		opts  []string
		flags uintptr
		data  string
	}{
		{[]string{"lowerdir=/a:/b", "upperdir=/u", "workdir=/w", "index=off"}, 0, "lowerdir=/a:/b,upperdir=/u,workdir=/w,index=off"},
		{[]string{"rbind", "ro"}, unix.MS_BIND | unix.MS_REC | unix.MS_RDONLY, ""},
		{[]string{"ro", "rw", "nosuid", "nodev"}, unix.MS_NOSUID | unix.MS_NODEV, ""},
	} {
		f, d := parseMountOptions(tc.opts)
		if f != tc.flags || d != tc.data {
			t.Errorf("%q: flags %#x data %q, want %#x %q", tc.opts, f, d, tc.flags, tc.data)
		}
	}
}
