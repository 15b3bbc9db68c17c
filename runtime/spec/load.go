// Package spec reads a bundle's config.json and produces the documents the
// CLI prints: the default spec (`slrt spec`) and the runtime's features
// (`slrt features`).
package spec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// ErrUnsupportedVersion is wrapped when a config's ociVersion is not a
// version 1 runtime-spec.
var ErrUnsupportedVersion = errors.New("unsupported ociVersion")

// Load reads and decodes bundle/config.json and checks its ociVersion. It
// does not validate the rest: that is the planners' job, which can name the
// field that is wrong.
func Load(bundle string) (*specs.Spec, error) {
	file := filepath.Join(bundle, "config.json")
	b, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("config.json not found in bundle %s: %w", bundle, err)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	return Parse(file, b)
}

// Parse decodes and checks the config.json content b read from file (named
// in errors): the one parser for every caller that reads config.json
// itself, so all of them accept and refuse the same specs.
func Parse(file string, b []byte) (*specs.Spec, error) {
	var s specs.Spec
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("parse %s: %w", file, located(b, err))
	}
	if err := CheckVersion(s.Version); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return &s, nil
}

// located adds the line and column of a JSON error, which encoding/json
// reports only as a byte offset: a person editing config.json needs the line.
func located(b []byte, err error) error {
	var offset int64
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		offset = syn.Offset
	case errors.As(err, &typ):
		offset = typ.Offset
	default:
		return err
	}
	// encoding/json counts the bytes read, the offending one included;
	// point at that byte itself (for a type error: the value's last byte).
	if offset > 0 {
		offset--
	}
	if offset > int64(len(b)) {
		offset = int64(len(b))
	}
	before := b[:offset]
	line := bytes.Count(before, []byte{'\n'}) + 1
	col := len(before) - bytes.LastIndexByte(before, '\n')
	return fmt.Errorf("line %d, column %d (byte offset %d): %w", line, col, offset, err)
}

// CheckVersion accepts any semantic version with major 1 ("1.0.2-dev",
// "1.2.0"); runtime-spec promises compatibility within a major version.
func CheckVersion(v string) error {
	core, _, _ := strings.Cut(v, "+") // build metadata
	core, pre, hasPre := strings.Cut(core, "-")
	parts := strings.Split(core, ".")
	ok := len(parts) == 3 && (!hasPre || pre != "")
	for _, p := range parts {
		if !ok {
			break
		}
		_, err := strconv.ParseUint(p, 10, 32)
		ok = err == nil && (p == "0" || p[0] != '0')
	}
	if !ok || parts[0] != "1" {
		return fmt.Errorf("%w %q (this runtime implements runtime-spec 1.x, up to %s)", ErrUnsupportedVersion, v, specs.Version)
	}
	return nil
}
