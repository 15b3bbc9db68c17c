package agent

import "golang.org/x/sys/unix"

const nativeArch = unix.AUDIT_ARCH_AARCH64

// arm64 has no mknod(2), only mknodat(2).
const sysMknod = -1
