package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// positionIndex maps the JSON path of every value in a policy file
// ("profiles[0].rules[2].mount.maxSize") to the line it starts on, so
// validation errors can name the line as well as the field.
type positionIndex struct {
	lines map[string]int
	// keys maps an object key to the paths it occurs at, in file order
	// (to place encoding/json's "unknown field" errors, which carry no
	// offset).
	keys map[string][]string
}

func (p positionIndex) line(path string) int {
	for path != "" {
		if l, ok := p.lines[path]; ok {
			return l
		}
		// A path validation made up (an absent member): use its parent.
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 1
}

// positions walks data's tokens once. A syntax error comes back as
// "LINE: message".
func positions(data []byte) (positionIndex, error) {
	idx := positionIndex{lines: map[string]int{}, keys: map[string][]string{}}
	dec := json.NewDecoder(bytes.NewReader(data))
	lineAt := func(off int64) int { return 1 + bytes.Count(data[:min(int(off), len(data))], []byte("\n")) }
	// valueStart finds the first non-space byte at or after off.
	valueStart := func(off int64) int64 {
		for off < int64(len(data)) && strings.IndexByte(" \t\r\n:,", data[off]) >= 0 {
			off++
		}
		return off
	}
	var walk func(path string) error
	walk = func(path string) error {
		idx.lines[path] = lineAt(valueStart(dec.InputOffset()))
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'):
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return err
				}
				key, _ := k.(string)
				child := key
				if path != "" {
					child = path + "." + key
				}
				idx.keys[key] = append(idx.keys[key], child)
				if err := walk(child); err != nil {
					return err
				}
			}
			_, err = dec.Token()
		case json.Delim('['):
			for i := 0; dec.More(); i++ {
				if err := walk(path + "[" + strconv.Itoa(i) + "]"); err != nil {
					return err
				}
			}
			_, err = dec.Token()
		}
		return err
	}
	if err := walk(""); err != nil {
		if errors.Is(err, io.EOF) {
			return idx, fmt.Errorf("%d: unexpected end of file", lineAt(int64(len(data))))
		}
		return idx, fmt.Errorf("%d: %v", lineAt(dec.InputOffset()), err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return idx, fmt.Errorf("%d: data after the policy object", lineAt(dec.InputOffset()))
	}
	return idx, nil
}

// decodeError places an encoding/json error (wrong type, unknown member).
func decodeError(name string, data []byte, pos positionIndex, err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		line := 1 + bytes.Count(data[:min(int(te.Offset), len(data))], []byte("\n"))
		path := te.Field
		for p, l := range pos.lines { // te.Field drops array indexes: find the path by line
			if l == line && stripIndexes(p) == te.Field {
				path = p
			}
		}
		return fmt.Errorf("%s:%d: %s: want %s, not a JSON %s", name, line, path, te.Type, te.Value)
	}
	const unknown = "json: unknown field "
	if msg := err.Error(); strings.HasPrefix(msg, unknown) {
		key, _ := strconv.Unquote(strings.TrimPrefix(msg, unknown))
		if paths := pos.keys[key]; len(paths) > 0 {
			return fmt.Errorf("%s:%d: %s: unknown member %q", name, pos.line(paths[0]), paths[0], key)
		}
		return fmt.Errorf("%s: unknown member %q", name, key)
	}
	return fmt.Errorf("%s: %v", name, err)
}

func stripIndexes(p string) string {
	var b strings.Builder
	depth := 0
	for _, c := range p {
		switch {
		case c == '[':
			depth++
		case c == ']':
			depth--
		case depth == 0:
			b.WriteRune(c)
		}
	}
	return b.String()
}
