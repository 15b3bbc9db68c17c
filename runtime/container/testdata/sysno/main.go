// Command sysno makes raw syscalls by number, with zero arguments, and
// prints the errno of each ("39 0", "457 38"): the seccomp tests run it
// inside containers to see what the filter answers for syscalls busybox
// never makes. It is built static (CGO_ENABLED=0) by the tests.
package main

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
)

func main() {
	for _, a := range os.Args[1:] {
		nr, err := strconv.ParseUint(a, 0, 64)
		if err != nil {
			fmt.Println(a, "bad number")
			os.Exit(2)
		}
		_, _, errno := syscall.RawSyscall(uintptr(nr), 0, 0, 0)
		fmt.Println(a, int(errno))
	}
}
