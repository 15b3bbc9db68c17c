// Command fgacprobe makes the raw syscalls the FGAC tests need inside a
// container, where busybox cannot: it is built static (CGO_ENABLED=0) by
// the tests and copied into the container's rootfs.
//
//	fgacprobe mount TARGET      mount a 1 MiB tmpfs on TARGET, print the errno
//	fgacprobe bind SRC TARGET   bind-mount SRC on TARGET, print the errno
//	fgacprobe race N            mount on /mnt/a N times while another thread
//	                            rewrites the path to /opt/a (TOCTOU); print
//	                            how many mounts landed where
//	fgacprobe bench KIND N      time N syscalls: getppid, mount (denied: target
//	                            /denied), hostname (sethostname fgac-bench);
//	                            print the mean in ns
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

func cstr(s string) *byte { b := append([]byte(s), 0); return &b[0] }

var (
	tmpfs = cstr("tmpfs")
	opts  = cstr("size=1m")
)

func mount(target *byte) syscall.Errno {
	_, _, e := syscall.Syscall6(syscall.SYS_MOUNT, uintptr(unsafe.Pointer(tmpfs)), uintptr(unsafe.Pointer(target)),
		uintptr(unsafe.Pointer(tmpfs)), 0, uintptr(unsafe.Pointer(opts)), 0)
	return e
}

func mountedOn(p string) bool {
	b, _ := os.ReadFile("/proc/self/mountinfo")
	return strings.Contains(string(b), " "+p+" ")
}

func main() {
	n := 0
	if len(os.Args) > 2 {
		n, _ = strconv.Atoi(os.Args[len(os.Args)-1])
	}
	switch os.Args[1] {
	case "mount":
		fmt.Printf("mount %s %d\n", os.Args[2], int(mount(cstr(os.Args[2]))))
	case "bind":
		_, _, e := syscall.Syscall6(syscall.SYS_MOUNT, uintptr(unsafe.Pointer(cstr(os.Args[2]))), uintptr(unsafe.Pointer(cstr(os.Args[3]))),
			0, syscall.MS_BIND, 0, 0)
		fmt.Printf("bind %s %d\n", os.Args[3], int(e))
	case "race":
		race(n)
	case "bench":
		bench(os.Args[2], n)
	}
}

func race(n int) {
	runtime.GOMAXPROCS(2)
	buf := []byte("/mnt/a\x00")
	var stop atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		for !stop.Load() {
			copy(buf, "/opt/a")
			copy(buf, "/mnt/a")
		}
	}()
	var ok, denied, other, violations int
	for i := 0; i < n; i++ {
		switch e := mount(&buf[0]); e {
		case 0:
			ok++
			if mountedOn("/opt/a") {
				violations++
				syscall.Unmount("/opt/a", 0)
			}
			if err := syscall.Unmount("/mnt/a", 0); err != nil {
				fmt.Println("umount /mnt/a:", err)
			}
		case syscall.EPERM:
			denied++
		default:
			other++
		}
	}
	stop.Store(true)
	<-done
	fmt.Printf("race ok=%d denied=%d other=%d violations=%d\n", ok, denied, other, violations)
}

func bench(kind string, n int) {
	denied, name := cstr("/denied"), []byte("fgac-bench")
	start := time.Now()
	for i := 0; i < n; i++ {
		var e syscall.Errno
		switch kind {
		case "getppid":
			syscall.Getppid()
		case "mount":
			e = mount(denied)
			if e == 0 {
				e = syscall.EEXIST
			}
		case "hostname":
			_, _, e = syscall.RawSyscall(syscall.SYS_SETHOSTNAME, uintptr(unsafe.Pointer(&name[0])), uintptr(len(name)), 0)
		}
		if e != 0 && kind != "mount" {
			fmt.Printf("bench %s: %v\n", kind, e)
			os.Exit(1)
		}
	}
	fmt.Printf("bench %s %d\n", kind, time.Since(start).Nanoseconds()/int64(max(n, 1)))
}
