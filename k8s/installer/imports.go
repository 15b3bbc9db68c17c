package installer

import (
	"bytes"
	"regexp"
	"sync"
)

// A containerd 2.x config whose imports do not already cover a drop-in
// directory gets our drop-in file added to its top-level imports. The edit
// is textual and reversible, like a block: either a whole line we add (when
// there is no imports key) or one quoted element we put first in the
// existing array. Uninstall removes exactly those bytes.

const importComment = " # added by slrt install; slrt uninstall removes it\n"

// The regexps are compiled on first use: the slrt CLI links this package,
// and every `slrt run` would pay for package-level compilation.
var (
	// A table header ([x] or [[x]]) at the start of a line ends the
	// top-level keys.
	tableHeader = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?m)^[ \t]*\[`) })
	importsKey  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?m)^[ \t]*imports[ \t]*=[ \t]*\[`) })
	versionLine = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?m)^[ \t]*version[ \t]*=[^\n]*\n`) })
)

// topLevel is the part of data before the first table header.
func topLevel(data []byte) []byte {
	if loc := tableHeader().FindIndex(data); loc != nil {
		return data[:loc[0]]
	}
	return data
}

func importLine(entry string) string {
	return "imports = [" + tomlString(entry) + "]" + importComment
}

// addImport returns data with entry in its top-level imports.
func addImport(data []byte, entry string) []byte {
	top := topLevel(data)
	var at int
	var ins string
	if loc := importsKey().FindIndex(top); loc != nil {
		at = loc[1]
		rest := bytes.TrimLeft(data[at:], " \t\r\n")
		ins = tomlString(entry)
		if len(rest) == 0 || rest[0] != ']' {
			ins += ", "
		}
	} else {
		// After `version = N` when there is one, so the file still opens
		// with its version; at the very start otherwise.
		if loc := versionLine().FindIndex(top); loc != nil {
			at = loc[1]
		}
		ins = importLine(entry)
	}
	out := make([]byte, 0, len(data)+len(ins))
	out = append(out, data[:at]...)
	out = append(out, ins...)
	return append(out, data[at:]...)
}

// removeImport undoes addImport; ok is false when entry is not there in a
// form addImport writes.
func removeImport(data []byte, entry string) (out []byte, ok bool) {
	q := tomlString(entry)
	for _, s := range []string{importLine(entry), q + ", ", q} {
		top := topLevel(data)
		if i := bytes.Index(top, []byte(s)); i >= 0 {
			out = make([]byte, 0, len(data))
			out = append(out, data[:i]...)
			return append(out, data[i+len(s):]...), true
		}
	}
	return data, false
}
