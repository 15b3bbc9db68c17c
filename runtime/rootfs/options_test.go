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
