//go:build linux && !amd64 && !arm64

package agent

// Unported architectures decode nothing: every notification is denied.
const nativeArch = 0

const sysMknod = -1
