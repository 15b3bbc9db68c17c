package bootstrap

import (
	"errors"
	"log"
	"path/filepath"
	"time"

	"github.com/slrt/slrt/runtime/container"
	taskapi "github.com/slrt/slrt/shim/internal/pb/runtime/task/v3"
	"github.com/slrt/slrt/shim/internal/pb/wkt"
	"github.com/slrt/slrt/shim/task"
)

// Delete answers containerd's `delete`, which it runs after every shim
// disconnect. Normally the container is already gone (its Delete call did
// the work) and this is a no-op; after a shim was killed it removes the
// container's processes, cgroup and state and unmounts its rootfs.
func Delete(f *Flags) ([]byte, error) {
	bundle, err := bundleDir(f)
	if err != nil {
		return nil, err
	}
	if c, err := container.Load(StateRoot(f.Namespace), f.ID); err == nil {
		if err := c.Delete(true); err != nil {
			log.Printf("delete container %s: %v", f.ID, err)
		}
	} else if !errors.Is(err, container.ErrNotExist) {
		log.Printf("load container %s: %v", f.ID, err)
	}
	if err := task.UnmountRootfs(filepath.Join(bundle, "rootfs")); err != nil {
		log.Printf("container %s: %v", f.ID, err)
	}
	return (&taskapi.DeleteResponse{
		ExitedAt:   wkt.NewTimestamp(time.Now()),
		ExitStatus: 128 + 9, // SIGKILL: what a lost shim's process gets
	}).Marshal()
}
