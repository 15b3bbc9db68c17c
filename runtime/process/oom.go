package process

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/slrt/slrt/runtime/procfs"
)

const oomScoreAdjFile = "/proc/self/oom_score_adj"

// currentOOMScoreAdj reads the calling process's value; the init inherits
// the parent's.
func currentOOMScoreAdj() (int, error) {
	b, err := os.ReadFile(oomScoreAdjFile)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// applyOOMScoreAdj writes oom_score_adj. The value is per process (shared by
// all threads) and survives execve.
func applyOOMScoreAdj(v *int) error {
	if v == nil {
		return nil
	}
	// Through a verified procfs: a container-made mount over the file
	// must not redirect the write (CVE-2025-52881).
	proc, err := procfs.Open("/proc")
	if err != nil {
		return fmt.Errorf("write oom_score_adj: %w", err)
	}
	defer proc.Close()
	if err := proc.WriteFile(procfs.Self()+"/oom_score_adj", []byte(strconv.Itoa(*v))); err != nil {
		return oomError(*v, err)
	}
	return nil
}

func oomError(v int, err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		err = pe.Err // the path is said below; keep the errno
	}
	why := ""
	if errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM) {
		why = " (lowering oom_score_adj below its current minimum needs CAP_SYS_RESOURCE)"
	}
	return fmt.Errorf("write %d to %s: %w%s", v, oomScoreAdjFile, err, why)
}
