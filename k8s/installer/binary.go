package installer

import (
	"bytes"
	"fmt"
	"os"
	"path"
	"path/filepath"
)

// The binaries installed into the host's bin dir: the shim containerd
// starts for each pod, and the CLI (the same engine, daemon-less).
const (
	ShimBinary = "containerd-shim-slrt-v2"
	CLIBinary  = "slrt"
)

// Binaries lists what install copies, in the order it copies them.
var Binaries = []string{ShimBinary, CLIBinary}

// planBinaries copies each binary from srcDir (the installer's own view)
// to binDir (a host path) when the host's copy differs. It is written to a
// temp file and renamed: a running shim keeps its old inode and the path
// is never half written (DESIGN.md decision 9).
func planBinaries(h host, srcDir, binDir string) ([]change, error) {
	if !h.isDir(binDir) {
		return nil, fmt.Errorf("bin dir %s does not exist on the host", binDir)
	}
	var changes []change
	for _, name := range Binaries {
		src := filepath.Join(srcDir, name)
		data, err := os.ReadFile(src)
		if err != nil {
			return nil, fmt.Errorf("binary to install: %w", err)
		}
		dst := path.Join(binDir, name)
		old, exists, err := h.read(dst)
		if err != nil {
			return nil, err
		}
		if exists && bytes.Equal(old, data) {
			continue
		}
		changes = append(changes, change{path: dst, old: old, oldExists: exists, new: data, newExists: true,
			why: "binary installed", mode: 0o755})
	}
	return changes, nil
}

// planBinariesRemoval removes the binaries install put in binDir.
func planBinariesRemoval(h host, binDir string) ([]change, error) {
	var changes []change
	for _, name := range Binaries {
		dst := path.Join(binDir, name)
		old, exists, err := h.read(dst)
		if err != nil {
			return nil, err
		}
		if exists {
			changes = append(changes, change{path: dst, old: old, oldExists: true, why: "binary removed", mode: 0o755})
		}
	}
	return changes, nil
}
