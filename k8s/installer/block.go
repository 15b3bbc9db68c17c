package installer

import (
	"bytes"
	"fmt"
)

// A block is what the installer appends to a file it edits in place (a
// containerd version 2 config, a k3s config template): a newline, then the
// runtime's table between two marker lines. Removing exactly those bytes
// gives back the file as it was, byte for byte, whatever else was edited
// meanwhile. The leading newline ends a last line that had none and is
// otherwise a blank separator line; either way it is ours to remove.
//
// Why not a drop-in for version 2: containerd 1.7 replaces a whole plugin
// section with an imported file's (measured on 1.7.35: an import holding
// only runtimes.sl drops runc and resets sandbox_image), so version 2
// configs are edited in place. containerd 2.x merges imports key by key.
const (
	blockBegin   = "# BEGIN slrt install"
	blockEnd     = "# END slrt install\n"
	beginComment = ": `slrt uninstall` removes this block; edit nothing between these markers\n"
	// createdNote marks a block in a file the installer created: uninstall
	// then removes the file too, when nothing else was added to it.
	createdNote = " (created this file)"
	// k3sBase is the first line of a k3s template the installer creates: k3s
	// renders its own config there, and our block is appended after it.
	k3sBase = "{{ template \"base\" . }}\n"
)

type block struct {
	start, end int    // data[start:end] is the block with its leading newline
	body       string // the lines between the markers
	created    bool
}

// findBlock locates our block in data, if there is one.
func findBlock(path string, data []byte) (*block, error) {
	begin := []byte("\n" + blockBegin)
	i := bytes.Index(data, begin)
	if i < 0 {
		return nil, nil
	}
	if bytes.Count(data, begin) > 1 {
		return nil, fmt.Errorf("%s: more than one %q block: fix the file by hand", path, blockBegin)
	}
	lineEnd := bytes.IndexByte(data[i+1:], '\n')
	if lineEnd < 0 {
		return nil, fmt.Errorf("%s: %q block has no end marker: fix the file by hand", path, blockBegin)
	}
	bodyStart := i + 1 + lineEnd + 1
	j := bytes.Index(data[bodyStart:], []byte("\n"+blockEnd))
	var bodyEnd int
	switch {
	case bytes.HasPrefix(data[bodyStart:], []byte(blockEnd)):
		bodyEnd = bodyStart
	case j >= 0:
		bodyEnd = bodyStart + j + 1
	default:
		return nil, fmt.Errorf("%s: %q block has no end marker %q: fix the file by hand", path, blockBegin, blockEnd)
	}
	return &block{
		start:   i,
		end:     bodyEnd + len(blockEnd),
		body:    string(data[bodyStart:bodyEnd]),
		created: bytes.Contains(data[i:bodyStart], []byte(createdNote)),
	}, nil
}

// appendBlock returns data with a block holding body added at the end.
func appendBlock(data []byte, body string, created bool) []byte {
	note := ""
	if created {
		note = createdNote
	}
	out := make([]byte, 0, len(data)+len(body)+200)
	out = append(out, data...)
	out = append(out, '\n')
	out = append(out, blockBegin+note+beginComment...)
	out = append(out, body...)
	return append(out, blockEnd...)
}

// withoutBlock returns data with the block b removed.
func withoutBlock(data []byte, b *block) []byte {
	out := make([]byte, 0, len(data))
	out = append(out, data[:b.start]...)
	return append(out, data[b.end:]...)
}
