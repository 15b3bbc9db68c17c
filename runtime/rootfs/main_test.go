package rootfs

import (
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	code := m.Run()
	removeCBuilds()
	os.Exit(code)
}
