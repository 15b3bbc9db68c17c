package main

import (
	"fmt"
	"os"
	"path/filepath"
)

// writes is what one container lifecycle hands to persistent storage.
type writes struct {
	Runtime   string `json:"runtime"`
	Root      string `json:"root"`      // state root used
	RootKind  string `json:"rootKind"`  // "tmpfs" or "disk"
	Lifecycle string `json:"lifecycle"` // "run" or "create+start+delete"
	Count     int    `json:"count"`
	// BytesPer is ru_oublock*512 summed over the commands (and the children
	// they reaped), per lifecycle: bytes dirtied in the page cache of
	// block-backed files. Data of files deleted before writeback is
	// counted too (an upper bound for data); journal and inode writes are
	// not (they are the file system's, not the task's).
	BytesPer float64 `json:"bytesPer"`
}

// storage measures bytes written per lifecycle with the state root on the
// private tmpfs and on disk (where /run is, on a host without a /run tmpfs).
func (b *bench) storage(n int) ([]writes, error) {
	var out []writes
	for _, rt := range b.runtimes {
		roots := []struct{ kind, dir string }{
			{"tmpfs", rt.Root},
			{"disk", filepath.Join(b.diskRoot, rt.Name)},
		}
		for _, root := range roots {
			if root.dir == "" || (root.kind == "disk" && b.diskRoot == "") {
				continue
			}
			if err := os.MkdirAll(root.dir, 0o700); err != nil {
				return nil, err
			}
			r := *rt
			r.Root = root.dir
			for _, lc := range []string{"run", "create+start+delete"} {
				var total int64
				for i := 0; i < n; i++ {
					id := fmt.Sprintf("bench-io-%d", i)
					var cmds [][]string
					if lc == "run" {
						cmds = [][]string{r.args("run", "--bundle", b.bundle, id)}
					} else {
						cmds = [][]string{
							r.args("create", "--bundle", b.bundle, id),
							r.args("start", id),
							r.args("delete", "--force", id),
						}
					}
					for _, c := range cmds {
						s, err := b.r.measure(r.Bin, c...)
						if err != nil {
							return nil, err
						}
						total += s.Written
					}
				}
				out = append(out, writes{
					Runtime: rt.Name, Root: root.dir, RootKind: root.kind, Lifecycle: lc,
					Count: n, BytesPer: float64(total) / float64(n),
				})
			}
		}
	}
	return out, nil
}
