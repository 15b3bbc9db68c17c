package cgroups

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"runtime"
	"unsafe"

	"github.com/cilium/ebpf/asm"
	"golang.org/x/sys/unix"
)

// attachDeviceProgram loads insts as a BPF_PROG_TYPE_CGROUP_DEVICE program
// and attaches it to the cgroup dirFD (BPF_F_ALLOW_MULTI, as runc and
// containerd do), then closes the program fd: the attachment holds the
// program in the kernel. containerd's loader leaves the fd to a Go
// finalizer, so a long-lived process (the shim) held one fd per container
// until some later GC.
func attachDeviceProgram(insts asm.Instructions, license string, dirFD int) error {
	var code bytes.Buffer
	// The asm package knows only the two concrete byte orders.
	var order binary.ByteOrder = binary.LittleEndian
	if x := uint16(1); *(*byte)(unsafe.Pointer(&x)) == 0 {
		order = binary.BigEndian
	}
	if err := insts.Marshal(&code, order); err != nil {
		return fmt.Errorf("encode device program: %w", err)
	}
	lic := append([]byte(license), 0)
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
			insnCnt:  uint32(code.Len() / 8),
			insns:    uint64(uintptr(unsafe.Pointer(&code.Bytes()[0]))),
			license:  uint64(uintptr(unsafe.Pointer(&lic[0]))),
		}
		if len(logBuf) > 0 {
			attr.logLevel, attr.logSize = 1, uint32(len(logBuf))
			attr.logBuf = uint64(uintptr(unsafe.Pointer(&logBuf[0])))
		}
		copy(attr.progName[:], "slrt_devices")
		fd, _, errno := unix.Syscall(unix.SYS_BPF, unix.BPF_PROG_LOAD, uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr))
		runtime.KeepAlive(code.Bytes())
		runtime.KeepAlive(lic)
		runtime.KeepAlive(logBuf)
		return fd, errno
	}
	// No verifier log on the normal path: it costs time, and a log
	// buffer too small for it fails the load (ENOSPC).
	fd, errno := load(nil)
	if errno != 0 {
		logBuf := make([]byte, 1<<16)
		load(logBuf)
		msg := string(bytes.TrimRight(logBuf, "\x00"))
		if len(msg) > 512 {
			msg = "..." + msg[len(msg)-512:]
		}
		return fmt.Errorf("load device program: %w (verifier: %q)", errno, msg)
	}
	defer unix.Close(int(fd))
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
