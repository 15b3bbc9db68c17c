package installer

import (
	"bytes"
	"fmt"
	"path"
	"regexp"
	"sync"
	"text/template/parse"
)

// Plans for k3s, whose embedded containerd reads a config k3s renders on
// every start (--config is that rendered file, by default
// /var/lib/rancher/k3s/agent/etc/containerd/config.toml) from its built-in
// template, or from config-v3.toml.tmpl / config.toml.tmpl beside it when
// the admin wrote one; a template usually begins with {{ template "base" . }}
// (k3s's own config) and adds tables after it. k3s does not look for
// third-party shims, so:
//   - the rendered config's version says which table naming containerd
//     wants (k3s with containerd 2.x renders version 3, with 1.7 version 2);
//   - version 3 whose rendered config imports a drop-in glob (newer k3s:
//     config-v3.toml.d/*.toml): a drop-in file there;
//   - otherwise our block appended to the template k3s uses, which is
//     created as {{ template "base" . }} plus the block when there is none.
// Editing the rendered file itself would be undone by k3s's next start.

const (
	// DefaultK3sConfig is k3s's rendered containerd config.
	DefaultK3sConfig = "/var/lib/rancher/k3s/agent/etc/containerd/config.toml"
	k3sTemplateV3    = "config-v3.toml.tmpl"
	k3sTemplateV2    = "config.toml.tmpl"
)

// k3sTemplates are the templates k3s would use for a rendered config of
// version v, in k3s's order of preference.
func k3sTemplates(rendered string, v int64) []string {
	dir := path.Dir(rendered)
	if v >= 3 {
		return []string{path.Join(dir, k3sTemplateV3), path.Join(dir, k3sTemplateV2)}
	}
	return []string{path.Join(dir, k3sTemplateV2)}
}

var (
	// foreignTable finds a runtime table for handler sl written as text in
	// a template (which cannot be decoded as TOML as a whole).
	foreignTable = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`runtimes\.(?:sl|"sl"|'sl')[ \t]*\]`) })
	action       = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?s)\{\{.*?\}\}`) })
)

func planK3sInstall(h host, rendered string, r Runtime) ([]change, error) {
	data, exists, err := h.read(rendered)
	if err != nil {
		return nil, err
	}
	if !exists {
		return nil, fmt.Errorf("k3s's containerd config %s does not exist: start k3s once (or pass --config)", rendered)
	}
	// The rendered config holds our block when a template of ours made it.
	if blk, err := findBlock(rendered, data); err != nil {
		return nil, err
	} else if blk != nil {
		data = withoutBlock(data, blk)
	}
	m, err := decode(rendered, data)
	if err != nil {
		return nil, err
	}
	v := configVersion(m)
	if v < 2 {
		return nil, fmt.Errorf("%s: config version %d is not supported", rendered, v)
	}
	if err := checkNoRuntime(rendered, m, r); err != nil {
		return nil, err
	}
	// A template that already has our block stays the place for it (k3s
	// upgraded to one that imports a drop-in dir since, say).
	tmpl, tdata, texists, err := k3sTemplate(h, rendered, v)
	if err != nil {
		return nil, err
	}
	blk, err := findBlock(tmpl, tdata)
	if err != nil {
		return nil, err
	}
	if blk == nil && v >= 3 {
		if c, err := planDropin(h, rendered, nil, m, r, false); err != nil || c != nil {
			return c, err
		}
		if d := dropinFor(imports(rendered, m)); d != "" {
			return nil, nil // our drop-in is there and current
		}
	}
	c, err := templateChange(tmpl, tdata, texists, blk, r, v)
	if err != nil || c == nil {
		return nil, err
	}
	return []change{*c}, nil
}

// k3sTemplate returns the template k3s uses for version v (the first that
// exists), or the one to create.
func k3sTemplate(h host, rendered string, v int64) (string, []byte, bool, error) {
	cands := k3sTemplates(rendered, v)
	for _, t := range cands {
		data, exists, err := h.read(t)
		if err != nil {
			return "", nil, false, err
		}
		if exists {
			return t, data, true, nil
		}
	}
	return cands[0], nil, false, nil
}

// templateChange appends (or updates) our block in a k3s template. The
// template must parse as a Go template before and after; when its text
// without actions is TOML (the usual base + tables), the edit is verified
// like a config's.
func templateChange(tmpl string, data []byte, exists bool, blk *block, r Runtime, v int64) (*change, error) {
	base := data
	created := !exists
	if !exists {
		base = []byte(k3sBase)
	}
	if blk != nil {
		base = withoutBlock(data, blk)
	}
	if err := checkTemplate(tmpl, base); err != nil {
		return nil, err
	}
	if loc := foreignTable().FindIndex(base); loc != nil {
		line := bytes.Count(base[:loc[0]], []byte("\n")) + 1
		return nil, fmt.Errorf("%s line %d: runtime table for %q: %w", tmpl, line, r.Handler, ErrForeignRuntime)
	}
	body := r.table(v)
	if blk != nil {
		if blk.body == body {
			return nil, nil
		}
		created = blk.created
	}
	next := appendBlock(base, body, created)
	if err := checkTemplate(tmpl, next); err != nil {
		return nil, err
	}
	// The text without actions is TOML in the usual template (base plus
	// tables): then the edit must decode to that plus our table, as for a
	// config. Templates with conditionals are checked as text only.
	if before, err := decode(tmpl, action().ReplaceAll(base, nil)); err == nil {
		if err := checkNoRuntime(tmpl, before, r); err != nil {
			return nil, err
		}
		after, err := decode(tmpl, action().ReplaceAll(next, nil))
		if err != nil {
			return nil, fmt.Errorf("appending the runtime table to %s would break it (%v): add it by hand", tmpl, err)
		}
		t, ok := lookup(after, r.tablePath(v))
		if !ok || !r.matches(t) || !sameExcept(before, after, func(a map[string]any) { deleteTable(a, before, r.tablePath(v)) }) {
			return nil, fmt.Errorf("appending the runtime table to %s would change more than that table: add it by hand", tmpl)
		}
	}
	return &change{path: tmpl, old: data, oldExists: exists, new: next, newExists: true,
		why: "runtime table appended to the k3s template", restartFor: true}, nil
}

// checkTemplate parses a k3s template as text/template does (functions k3s
// defines are not known here, so they are not checked).
func checkTemplate(name string, data []byte) error {
	t := parse.New(name)
	t.Mode = parse.SkipFuncCheck | parse.ParseComments
	if _, err := t.Parse(string(data), "", "", map[string]*parse.Tree{}); err != nil {
		return fmt.Errorf("%s is not a valid template: %w", name, err)
	}
	return nil
}

func planK3sUninstall(h host, rendered string) ([]change, error) {
	var changes []change
	seen := map[string]bool{}
	for _, v := range []int64{3, 2} {
		for _, t := range k3sTemplates(rendered, v) {
			if seen[t] {
				continue
			}
			seen[t] = true
			data, exists, err := h.read(t)
			if err != nil {
				return nil, err
			}
			if !exists {
				continue
			}
			blk, err := findBlock(t, data)
			if err != nil {
				return nil, err
			}
			if blk == nil {
				continue
			}
			c := change{path: t, old: data, oldExists: true, new: withoutBlock(data, blk), newExists: true,
				why: "runtime table removed from the k3s template", restartFor: true}
			if blk.created && string(c.new) == k3sBase {
				c.new, c.newExists = nil, false
				c.why = "k3s template removed (slrt install created it)"
			}
			changes = append(changes, c)
		}
	}
	var m map[string]any
	if data, exists, err := h.read(rendered); err == nil && exists {
		if blk, _ := findBlock(rendered, data); blk != nil {
			data = withoutBlock(data, blk)
		}
		m, _ = decode(rendered, data)
	}
	if d := dropinFor(imports(rendered, m)); d != "" {
		drop, err := planDropinRemoval(h, rendered, m)
		if err != nil {
			return nil, err
		}
		// planDropinRemoval also looks at conf.d beside the config, where
		// install never puts a k3s drop-in; keep only the imported one.
		for _, c := range drop {
			if c.path == d {
				changes = append(changes, c)
			}
		}
	}
	return changes, nil
}
