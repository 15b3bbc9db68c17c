// Package bundle makes the one OCI bundle every runtime in the benchmarks
// runs: the busybox image's config.json with only what all three runtimes
// need changed, and the image's rootfs shared read-only.
package bundle

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// Make writes dir/config.json from image/config.json: args replaced by args,
// no terminal, the root made absolute (image/rootfs, mounted read-only by the
// spec), and ociVersion 1.0.2 because crun 1.8.1 refuses newer versions
// ("unknown version specified"). Everything else — namespaces, mounts,
// masked paths, the devices cgroup rule — stays as the image has it, so the
// runtimes do the same work. It returns dir.
func Make(image, dir string, args []string) (string, error) {
	image, err := filepath.Abs(image)
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(filepath.Join(image, "config.json"))
	if err != nil {
		return "", fmt.Errorf("read the image spec: %w", err)
	}
	var spec map[string]any
	if err := json.Unmarshal(b, &spec); err != nil {
		return "", fmt.Errorf("decode %s/config.json: %w", image, err)
	}
	proc, ok := spec["process"].(map[string]any)
	if !ok {
		return "", fmt.Errorf("%s/config.json has no process", image)
	}
	root, ok := spec["root"].(map[string]any)
	if !ok {
		return "", fmt.Errorf("%s/config.json has no root", image)
	}
	spec["ociVersion"] = "1.0.2"
	proc["args"] = args
	proc["terminal"] = false
	root["path"] = filepath.Join(image, "rootfs")
	root["readonly"] = true
	out, err := json.MarshalIndent(spec, "", "\t")
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), out, 0o644); err != nil {
		return "", fmt.Errorf("write bundle: %w", err)
	}
	return dir, nil
}
