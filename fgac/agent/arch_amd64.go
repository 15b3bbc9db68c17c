package agent

import "golang.org/x/sys/unix"

// The architecture whose notifications the agent decodes: its own. A
// notification of another one (a 32-bit process under an x86_64 filter
// listing SCMP_ARCH_X86) is denied: its syscall numbers differ.
const nativeArch = unix.AUDIT_ARCH_X86_64

const sysMknod = unix.SYS_MKNOD
