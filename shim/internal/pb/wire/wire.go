// Package wire holds what the generated message code (hack/protoc-gen-slrt)
// shares: the decode error paths, one call per field instead of an inlined
// fmt.Errorf each, which kept ~100 KB of the shim busy with error text.
package wire

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// Fail is the error for malformed input at name (a message or field),
// n being protowire's negative Consume* result.
func Fail(name string, n int) error {
	return fmt.Errorf("%s: %w", name, protowire.ParseError(n))
}

// Wrap names the field whose nested message failed to decode.
func Wrap(name string, err error) error {
	return fmt.Errorf("%s: %w", name, err)
}
