package installer

import (
	"bytes"
	"fmt"
	"path"
	"path/filepath"
	"strings"
)

// Plans for a plain containerd node. The config's version picks the form:
//   - version 2 (containerd 1.6/1.7; 2.x migrates it): a block appended to
//     the config itself, table plugins."io.containerd.grpc.v1.cri"…;
//   - version 3 and later (containerd 2.x): a drop-in file with the table
//     plugins."io.containerd.cri.v1.runtime"…, in a directory the config
//     already imports with a glob (2.x's default config imports
//     /etc/containerd/conf.d/*.toml), else conf.d/slrt.toml beside the config
//     plus an entry in its imports.

// DropinName is the drop-in's file name; dropinAlt is tried when an import
// glob does not match it (e.g. conf.d/[0-9]*.toml).
const (
	DropinName = "slrt.toml"
	dropinAlt  = "99-slrt.toml"
	dropinHead = "# Written by slrt install: the RuntimeClass handler for slrt. slrt uninstall removes this file.\n"
	dropinDir  = "# slrt install created the directory of this file.\n"
)

// defaultDropin is where the drop-in goes when no import glob covers one.
func defaultDropin(config string) string {
	return path.Join(path.Dir(config), "conf.d", DropinName)
}

// dropinFor returns the drop-in path an import glob already covers.
func dropinFor(imps []string) string {
	for _, imp := range imps {
		if !strings.ContainsAny(imp, "*?[") {
			continue
		}
		dir := path.Dir(imp)
		if strings.ContainsAny(dir, "*?[") {
			continue
		}
		for _, name := range []string{DropinName, dropinAlt} {
			if ok, _ := filepath.Match(imp, path.Join(dir, name)); ok {
				return path.Join(dir, name)
			}
		}
	}
	return ""
}

func dropinContent(r Runtime, createdDir bool) []byte {
	var b strings.Builder
	b.WriteString(dropinHead)
	if createdDir {
		b.WriteString(dropinDir)
	}
	b.WriteString("version = 3\n\n")
	b.WriteString(r.table(3))
	return []byte(b.String())
}

func planContainerdInstall(h host, config string, r Runtime) ([]change, error) {
	data, exists, err := h.read(config)
	if err != nil {
		return nil, err
	}
	if !exists {
		return nil, fmt.Errorf("containerd config %s does not exist: write one (containerd config default > %s) or pass --config", config, config)
	}
	blk, err := findBlock(config, data)
	if err != nil {
		return nil, err
	}
	base := data
	if blk != nil {
		base = withoutBlock(data, blk)
	}
	m, err := decode(config, base)
	if err != nil {
		return nil, err
	}
	v := configVersion(m)
	if err := checkNoRuntime(config, m, r); err != nil {
		return nil, err
	}
	switch {
	case v < 2:
		return nil, fmt.Errorf("%s: config version %d is not supported (containerd 1.6+ uses version 2): migrate it with containerd config migrate", config, v)
	case v == 2:
		if err := checkRuntimesTable(config, m, r, 2); err != nil {
			return nil, err
		}
		if err := checkImported(h, config, m, r, ""); err != nil {
			return nil, err
		}
		c, err := blockChange(config, data, base, blk, r, 2, false, "runtime table appended (config version 2)")
		if err != nil || c == nil {
			return nil, err
		}
		return []change{*c}, nil
	}
	if blk != nil {
		return nil, fmt.Errorf("%s is version %d but holds a block from a version 2 install: run slrt-installer uninstall first", config, v)
	}
	return planDropin(h, config, data, m, r, true)
}

// planDropin writes the version 3 drop-in: where an import glob of the
// config m (read from config) puts it, else (only when addImport) at the
// default place plus an imports entry in config.
func planDropin(h host, config string, data []byte, m map[string]any, r Runtime, canAddImport bool) ([]change, error) {
	imps := imports(config, m)
	dropin := dropinFor(imps)
	needImport := false
	if dropin == "" {
		if !canAddImport {
			return nil, nil
		}
		dropin = defaultDropin(config)
		needImport = true
		for _, imp := range imps {
			if imp == dropin {
				needImport = false
			}
		}
	}
	if err := checkImported(h, config, m, r, dropin); err != nil {
		return nil, err
	}
	var changes []change
	old, exists, err := h.read(dropin)
	if err != nil {
		return nil, err
	}
	if exists && !bytes.HasPrefix(old, []byte(dropinHead)) {
		return nil, fmt.Errorf("%s exists and was not written by slrt install: remove or rename it", dropin)
	}
	createdDir := exists && bytes.Contains(old, []byte(dropinDir))
	var mkdir string
	if !exists && !h.isDir(path.Dir(dropin)) {
		createdDir, mkdir = true, path.Dir(dropin)
	}
	want := dropinContent(r, createdDir)
	if dm, err := decode(dropin, want); err != nil {
		return nil, err
	} else if t, ok := lookup(dm, r.tablePath(3)); !ok || !r.matches(t) {
		return nil, fmt.Errorf("internal error: drop-in for %s does not decode to the runtime", dropin)
	}
	if !exists || !bytes.Equal(old, want) {
		changes = append(changes, change{path: dropin, old: old, oldExists: exists, new: want, newExists: true,
			mkdir: mkdir, why: "runtime drop-in written", restartFor: true})
	}
	if needImport {
		c, err := importChange(config, data, m, dropin)
		if err != nil {
			return nil, err
		}
		changes = append(changes, *c)
	}
	return changes, nil
}

// importChange adds dropin to config's imports, verified to change nothing
// else.
func importChange(config string, data []byte, m map[string]any, dropin string) (*change, error) {
	next := addImport(data, dropin)
	after, err := decode(config, next)
	if err != nil {
		return nil, fmt.Errorf("adding %s to the imports of %s would break it (%v): add it by hand", dropin, config, err)
	}
	ok := sameExcept(m, after, func(a map[string]any) {
		list, _ := a["imports"].([]any)
		var kept []any
		for _, i := range list {
			if i != dropin {
				kept = append(kept, i)
			}
		}
		if _, had := m["imports"]; !had && len(kept) == 0 {
			delete(a, "imports")
		} else {
			if kept == nil {
				kept = []any{}
			}
			a["imports"] = kept
		}
	})
	if !ok {
		return nil, fmt.Errorf("adding %s to the imports of %s would change more than its imports: add it by hand", dropin, config)
	}
	return &change{path: config, old: data, oldExists: true, new: next, newExists: true,
		why: "drop-in added to imports", restartFor: true}, nil
}

// blockChange plans (re)writing our block in a TOML file (version v), data
// being the file now, base the file without our block. nil: nothing to do.
func blockChange(file string, data, base []byte, blk *block, r Runtime, v int64, created bool, why string) (*change, error) {
	body := r.table(v)
	if blk != nil {
		if blk.body == body {
			return nil, nil
		}
		created = blk.created
	}
	next := appendBlock(base, body, created)
	before, err := decode(file, base)
	if err != nil {
		return nil, err
	}
	after, err := decode(file, next)
	if err != nil {
		return nil, fmt.Errorf("appending the runtime table to %s would break it (%v): add it by hand", file, err)
	}
	t, ok := lookup(after, r.tablePath(v))
	if !ok || !r.matches(t) || !sameExcept(before, after, func(a map[string]any) { deleteTable(a, before, r.tablePath(v)) }) {
		return nil, fmt.Errorf("appending the runtime table to %s would change more than that table: add it by hand", file)
	}
	return &change{path: file, old: data, oldExists: true, new: next, newExists: true, why: why, restartFor: true}, nil
}

// checkImported fails when a file config imports (other than our drop-in)
// already defines the runtime.
func checkImported(h host, config string, m map[string]any, r Runtime, dropin string) error {
	for _, imp := range imports(config, m) {
		matches, err := filepath.Glob(h.path(imp))
		if err != nil {
			continue
		}
		for _, full := range matches {
			p := "/" + strings.TrimPrefix(strings.TrimPrefix(full, h.root), "/")
			if p == dropin {
				continue
			}
			data, exists, err := h.read(p)
			if err != nil || !exists {
				continue
			}
			im, err := decode(p, data)
			if err != nil {
				return fmt.Errorf("%s (imported by %s): %w", p, config, err)
			}
			if err := checkNoRuntime(p, im, r); err != nil {
				return err
			}
		}
	}
	return nil
}

func planContainerdUninstall(h host, config string) ([]change, error) {
	data, exists, err := h.read(config)
	if err != nil {
		return nil, err
	}
	var changes []change
	var m map[string]any
	if exists {
		next := data
		blk, err := findBlock(config, data)
		if err != nil {
			return nil, err
		}
		if blk != nil {
			next = withoutBlock(next, blk)
		}
		next, _ = removeImport(next, defaultDropin(config))
		if !bytes.Equal(next, data) {
			changes = append(changes, change{path: config, old: data, oldExists: true, new: next, newExists: true,
				why: "runtime removed from config", restartFor: true})
		}
		m, _ = decode(config, next) // nil when unparsable: then only the default drop-in
	}
	drop, err := planDropinRemoval(h, config, m)
	return append(changes, drop...), err
}

// planDropinRemoval removes our drop-in from wherever install can have put
// it for this config.
func planDropinRemoval(h host, config string, m map[string]any) ([]change, error) {
	candidates := []string{defaultDropin(config)}
	if d := dropinFor(imports(config, m)); d != "" && d != candidates[0] {
		candidates = append(candidates, d)
	}
	var changes []change
	for _, d := range candidates {
		old, exists, err := h.read(d)
		if err != nil {
			return nil, err
		}
		if !exists {
			continue
		}
		if !bytes.HasPrefix(old, []byte(dropinHead)) {
			continue // not ours: leave it
		}
		c := change{path: d, old: old, oldExists: true, why: "runtime drop-in removed", restartFor: true}
		if bytes.Contains(old, []byte(dropinDir)) {
			c.rmdir = path.Dir(d)
		}
		changes = append(changes, c)
	}
	return changes, nil
}

// checkRuntimesTable refuses a version 2 config that leaves its runtimes to
// containerd's defaults: containerd 1.7 decodes a runtimes table from the
// file over its default one, so adding ours would drop the built-in runc
// (measured on 1.7.35 with a config of just `version = 2`).
func checkRuntimesTable(config string, m map[string]any, r Runtime, v int64) error {
	p := r.tablePath(v)
	if rt, ok := lookup(m, p[:len(p)-1]); !ok || len(rt) == 0 {
		return fmt.Errorf("%s has no [%s] table: containerd 1.7 would then lose its default runc runtime when slrt adds one; write the full config (containerd config default > %s) first", config, dotted(p[:len(p)-1]), config)
	}
	return nil
}
