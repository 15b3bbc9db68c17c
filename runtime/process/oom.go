package process

import (
	"os"
	"strconv"
	"strings"
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
