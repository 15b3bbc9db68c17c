package installer

import (
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// ErrForeignRuntime: the config already has a runtime under our handler
// name that the installer did not write. Replacing it could break pods that
// use it, so the installer stops and says where it is.
var ErrForeignRuntime = errors.New("a runtime with this handler exists and was not written by slrt install")

// decode parses a TOML document into nested maps.
func decode(path string, data []byte) (map[string]any, error) {
	m := map[string]any{}
	if err := toml.Unmarshal(data, &m); err != nil {
		var de *toml.DecodeError
		if errors.As(err, &de) {
			row, col := de.Position()
			return nil, fmt.Errorf("%s is not valid TOML (line %d, column %d): %w", path, row, col, err)
		}
		return nil, fmt.Errorf("%s is not valid TOML: %w", path, err)
	}
	return m, nil
}

// configVersion is the config's `version`; containerd reads a file without
// one as version 1.
func configVersion(m map[string]any) int64 {
	if v, ok := m["version"].(int64); ok {
		return v
	}
	return 1
}

// lookup walks a dotted path of tables.
func lookup(m map[string]any, path []string) (map[string]any, bool) {
	cur := m
	for _, k := range path {
		next, ok := cur[k].(map[string]any)
		if !ok {
			return nil, false
		}
		cur = next
	}
	return cur, true
}

// checkNoRuntime fails with ErrForeignRuntime when m has the runtime's
// table (in the table naming of either config version: a version 2 file
// read by containerd 2.x is migrated, so both count).
func checkNoRuntime(path string, m map[string]any, r Runtime) error {
	for _, v := range []int64{2, 3} {
		if _, ok := lookup(m, r.tablePath(v)); ok {
			return fmt.Errorf("%s: [%s]: %w", path, dotted(r.tablePath(v)), ErrForeignRuntime)
		}
	}
	return nil
}

// imports returns the config's imports, each made absolute the way
// containerd does: relative to the directory of the config file.
func imports(configPath string, m map[string]any) []string {
	list, _ := m["imports"].([]any)
	var out []string
	for _, i := range list {
		s, ok := i.(string)
		if !ok || s == "" {
			continue
		}
		if !filepath.IsAbs(s) {
			s = filepath.Join(filepath.Dir(configPath), s)
		}
		out = append(out, s)
	}
	return out
}

// sameExcept reports whether before and after decode to the same document
// once drop removes, from after, what the edit was meant to add. It is the
// installer's proof that an edit changed nothing else.
func sameExcept(before, after map[string]any, drop func(after map[string]any)) bool {
	drop(after)
	return reflect.DeepEqual(before, after)
}

// deleteTable removes the table at path from m, then every parent table the
// removal left empty that old did not have (appending [a.b.c] to a file
// without [a] creates a and a.b implicitly).
func deleteTable(m, old map[string]any, path []string) {
	parents := []map[string]any{m}
	cur := m
	for _, k := range path[:len(path)-1] {
		next, ok := cur[k].(map[string]any)
		if !ok {
			return
		}
		parents = append(parents, next)
		cur = next
	}
	delete(cur, path[len(path)-1])
	for i := len(path) - 2; i >= 0; i-- {
		t := parents[i+1]
		if len(t) > 0 {
			return
		}
		if _, existed := lookup(old, path[:i+1]); existed {
			return
		}
		delete(parents[i], path[i])
	}
}

// dotted writes a table path as TOML does: plugins."io.containerd…".x
func dotted(path []string) string {
	q := make([]string, len(path))
	for i, k := range path {
		q[i] = tomlKey(k)
	}
	return strings.Join(q, ".")
}
