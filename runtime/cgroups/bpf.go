package cgroups

import (
	"bytes"
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// attachDeviceProgram loads code (deviceFilter's bytecode) as a
// BPF_PROG_TYPE_CGROUP_DEVICE program and attaches it to the cgroup dirFD
// (BPF_F_ALLOW_MULTI, as runc and containerd do), then closes the program
// fd: the attachment holds the program in the kernel, so a long-lived
// process (the shim) holds no fd per container.
func attachDeviceProgram(code []byte, dirFD int) error {
	fd, err := loadDeviceProgram(code)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	type progAttach struct {
		targetFD     uint32
		attachBPFFD  uint32
		attachType   uint32
		attachFlags  uint32
		replaceBPFFD uint32
	}
	at := progAttach{
		targetFD:    uint32(dirFD),
		attachBPFFD: uint32(fd),
		attachType:  unix.BPF_CGROUP_DEVICE,
		attachFlags: unix.BPF_F_ALLOW_MULTI,
	}
	if _, _, errno := unix.Syscall(unix.SYS_BPF, unix.BPF_PROG_ATTACH, uintptr(unsafe.Pointer(&at)), unsafe.Sizeof(at)); errno != 0 {
		return fmt.Errorf("attach device program (BPF_PROG_ATTACH, BPF_CGROUP_DEVICE): %w", errno)
	}
	return nil
}

// loadDeviceProgram has the kernel verify and load code; it returns the
// program's fd.
func loadDeviceProgram(code []byte) (int, error) {
	// The program calls no GPL-only helper; any license string will do.
	lic := []byte("Apache-2.0\x00")
	// union bpf_attr, BPF_PROG_LOAD part (include/uapi/linux/bpf.h).
	type progLoad struct {
		progType    uint32
		insnCnt     uint32
		insns       uint64
		license     uint64
		logLevel    uint32
		logSize     uint32
		logBuf      uint64
		kernVersion uint32
		progFlags   uint32
		progName    [16]byte
	}
	load := func(logBuf []byte) (uintptr, unix.Errno) {
		attr := progLoad{
			progType: unix.BPF_PROG_TYPE_CGROUP_DEVICE,
			insnCnt:  uint32(len(code) / 8),
			insns:    uint64(uintptr(unsafe.Pointer(&code[0]))),
			license:  uint64(uintptr(unsafe.Pointer(&lic[0]))),
		}
		if len(logBuf) > 0 {
			attr.logLevel, attr.logSize = 1, uint32(len(logBuf))
			attr.logBuf = uint64(uintptr(unsafe.Pointer(&logBuf[0])))
		}
		copy(attr.progName[:], "slrt_devices")
		fd, _, errno := unix.Syscall(unix.SYS_BPF, unix.BPF_PROG_LOAD, uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr))
		runtime.KeepAlive(code)
		runtime.KeepAlive(lic)
		runtime.KeepAlive(logBuf)
		return fd, errno
	}
	// No verifier log on the normal path: it costs time, and a log
	// buffer too small for it fails the load (ENOSPC).
	fd, errno := load(nil)
	if errno != 0 {
		logBuf := make([]byte, 1<<16)
		if fd, errno2 := load(logBuf); errno2 == 0 {
			unix.Close(int(fd)) // loads with a log after all: a transient failure
		}
		msg := string(bytes.TrimRight(logBuf, "\x00"))
		if len(msg) > 512 {
			msg = "..." + msg[len(msg)-512:]
		}
		return -1, fmt.Errorf("load device program: %w (verifier: %q)", errno, msg)
	}
	return int(fd), nil
}
