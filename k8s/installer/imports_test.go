package installer

import "testing"

// TestAddImport: every form of top-level imports gets our entry, and
// removeImport gives back the exact bytes.
func TestAddImport(t *testing.T) {
	const d = "/etc/containerd/conf.d/slrt.toml"
	for _, tc := range []struct{ name, in, want string }{
		{"no imports, version first", "version = 3\nroot = \"/x\"\n",
			"version = 3\nimports = [\"" + d + "\"]" + importComment + "root = \"/x\"\n"},
		{"no imports, no version line at the top", "root = \"/x\"\nversion = 3\n[grpc]\n",
			"root = \"/x\"\nversion = 3\nimports = [\"" + d + "\"]" + importComment + "[grpc]\n"},
		{"empty list", "version = 3\nimports = []\n", "version = 3\nimports = [\"" + d + "\"]\n"},
		{"one entry", "imports = ['/a.toml']\nversion = 3\n", "imports = [\"" + d + "\", '/a.toml']\nversion = 3\n"},
		{"multi-line", "version = 3\nimports = [\n  \"/a.toml\",\n]\n", "version = 3\nimports = [\"" + d + "\", \n  \"/a.toml\",\n]\n"},
		{"imports key inside a table is not top-level", "version = 3\n[x]\nimports = []\n",
			"version = 3\nimports = [\"" + d + "\"]" + importComment + "[x]\nimports = []\n"},
	} {
		got := string(addImport([]byte(tc.in), d))
		if got != tc.want {
			t.Errorf("%s: addImport:\n%q\nwant\n%q", tc.name, got, tc.want)
			continue
		}
		if _, err := decode(tc.name, []byte(got)); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
		back, ok := removeImport([]byte(got), d)
		if !ok || string(back) != tc.in {
			t.Errorf("%s: removeImport: %q %v, want %q", tc.name, back, ok, tc.in)
		}
	}
}
