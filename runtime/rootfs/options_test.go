package rootfs

import (
	"reflect"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseOptions(t *testing.T) {
	tests := []struct {
		name  string
		opts  []string
		want  mountOptions
		error string
	}{
		{name: "empty"},
		{name: "runc /dev", opts: []string{"nosuid", "strictatime", "mode=755", "size=65536k"},
			want: mountOptions{flags: unix.MS_NOSUID | unix.MS_STRICTATIME, data: "mode=755,size=65536k"}},
		{name: "later wins", opts: []string{"ro", "rw", "nodev", "dev", "noexec"},
			want: mountOptions{flags: unix.MS_NOEXEC}},
		{name: "clearing options", opts: []string{"nosuid", "suid", "exec", "async", "nomand", "atime", "diratime", "norelatime", "nostrictatime", "nolazytime", "symfollow"}},
		{name: "setting options", opts: []string{"sync", "dirsync", "remount", "mand", "noatime", "nodiratime", "relatime", "lazytime", "nosymfollow"},
			want: mountOptions{flags: unix.MS_SYNCHRONOUS | unix.MS_DIRSYNC | unix.MS_REMOUNT | unix.MS_MANDLOCK |
				unix.MS_NOATIME | unix.MS_NODIRATIME | unix.MS_RELATIME | unix.MS_LAZYTIME | unix.MS_NOSYMFOLLOW}},
		{name: "bind", opts: []string{"bind", "ro"},
			want: mountOptions{flags: unix.MS_BIND | unix.MS_RDONLY, bind: true}},
		{name: "rbind", opts: []string{"rbind"},
			want: mountOptions{flags: unix.MS_BIND | unix.MS_REC, bind: true}},
		{name: "propagation in order", opts: []string{"rprivate", "shared", "slave", "rslave", "private", "rshared", "unbindable", "runbindable"},
			want: mountOptions{propFlags: []uint64{
				unix.MS_PRIVATE | unix.MS_REC, unix.MS_SHARED, unix.MS_SLAVE, unix.MS_SLAVE | unix.MS_REC,
				unix.MS_PRIVATE, unix.MS_SHARED | unix.MS_REC, unix.MS_UNBINDABLE, unix.MS_UNBINDABLE | unix.MS_REC}}},
		{name: "data kept in order", opts: []string{"newinstance", "ptmxmode=0666", "", "mode=0620", "gid=5"},
			want: mountOptions{data: "newinstance,ptmxmode=0666,mode=0620,gid=5"}},
		{name: "tmpcopyup", opts: []string{"tmpcopyup"}, error: `option "tmpcopyup": not supported`},
		{name: "rro", opts: []string{"rbind", "rro"}, want: mountOptions{flags: unix.MS_BIND | unix.MS_REC, bind: true, recSet: unix.MOUNT_ATTR_RDONLY}},
		{name: "rro then rrw", opts: []string{"rro", "rnosuid", "rrw"}, want: mountOptions{recSet: unix.MOUNT_ATTR_NOSUID, recClr: unix.MOUNT_ATTR_RDONLY}},
		{name: "ratime modes", opts: []string{"rnoatime", "rstrictatime"}, want: mountOptions{recSet: unix.MOUNT_ATTR_STRICTATIME, recClr: unix.MOUNT_ATTR__ATIME}},
		{name: "ratime", opts: []string{"ratime"}, error: `option "ratime": not supported`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseOptions(tt.opts)
			if tt.error != "" {
				if err == nil || !strings.Contains(err.Error(), tt.error) {
					t.Fatalf("parseOptions(%q) error = %v, want %q", tt.opts, err, tt.error)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseOptions(%q): %v", tt.opts, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseOptions(%q) = %+v, want %+v", tt.opts, got, tt.want)
			}
		})
	}
}

func TestStatfsFlags(t *testing.T) {
	tests := []struct {
		name  string
		st    uint64
		atime bool
		want  uint64
	}{
		{"locked only", unix.ST_RDONLY | unix.ST_NOSUID | unix.ST_NODEV | unix.ST_NOEXEC | unix.ST_RELATIME, false,
			unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC},
		{"relatime kept", unix.ST_RELATIME, true, unix.MS_RELATIME},
		{"noatime kept", unix.ST_NOATIME | unix.ST_NODIRATIME, true, unix.MS_NOATIME | unix.MS_NODIRATIME},
		{"strictatime asked for", 0, true, unix.MS_STRICTATIME},
	}
	for _, tt := range tests {
		if got := statfsFlags(tt.st, tt.atime); got != tt.want {
			t.Errorf("%s: statfsFlags(%#x, %v) = %s, want %s", tt.name, tt.st, tt.atime, flagNames(got), flagNames(tt.want))
		}
	}
}

func TestParseMountinfoLine(t *testing.T) {
	line := `36 35 98:0 /mnt\0401 /mnt\0402 rw,noatime master:1 - ext3 /dev/root rw,errors=continue`
	got, err := parseMountinfoLine(line)
	if err != nil {
		t.Fatal(err)
	}
	want := mountEntry{ID: 36, Parent: 35, Root: "/mnt 1", Point: "/mnt 2", Options: "rw,noatime",
		FSType: "ext3", Source: "/dev/root", Super: "rw,errors=continue"}
	if got != want {
		t.Errorf("parseMountinfoLine = %+v, want %+v", got, want)
	}
	for _, bad := range []string{"", "36 35 98:0 / /", "x 35 98:0 / / rw - ext3 /dev/root rw"} {
		if _, err := parseMountinfoLine(bad); err == nil {
			t.Errorf("parseMountinfoLine(%q): no error", bad)
		}
	}
}
