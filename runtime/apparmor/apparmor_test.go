package apparmor

import (
	"os"
	"path/filepath"
	"testing"
)

func TestEnabled(t *testing.T) {
	dir := t.TempDir()
	param := filepath.Join(dir, "enabled")
	oldDir, oldParam := securityDir, enabledParam
	t.Cleanup(func() { securityDir, enabledParam = oldDir, oldParam })
	securityDir, enabledParam = dir, param
	for _, tt := range []struct {
		param string // "" = no file
		want  bool
	}{{"Y\n", true}, {"N\n", false}, {"", false}} {
		os.Remove(param)
		if tt.param != "" {
			if err := os.WriteFile(param, []byte(tt.param), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if got := Enabled(); got != tt.want {
			t.Errorf("enabled param %q: Enabled() = %v, want %v", tt.param, got, tt.want)
		}
	}
	securityDir = filepath.Join(dir, "absent")
	os.WriteFile(param, []byte("Y"), 0o644)
	if Enabled() {
		t.Error("Enabled() without the securityfs directory")
	}
}
