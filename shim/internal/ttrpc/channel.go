package ttrpc

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"sync"
)

// The ttrpc frame: a 10-byte header (payload length, stream id, both big
// endian uint32; message type; flags) and the payload.
const (
	headerLen  = 10
	maxMessage = 4 << 20 // ttrpc's limit; containerd rejects larger frames too

	typeRequest  = 1
	typeResponse = 2
	typeData     = 3 // streams only, which the task API does not use
)

type header struct {
	length uint32
	stream uint32
	typ    uint8
	flags  uint8
}

// errTooLarge is returned by readFrame after skipping an oversized frame, so
// the connection stays usable and the caller can answer that stream.
type errTooLarge struct{ n uint32 }

func (e errTooLarge) Error() string {
	return fmt.Sprintf("message length %d exceeds maximum message size of %d", e.n, maxMessage)
}

func readFrame(r *bufio.Reader) (header, []byte, error) {
	var b [headerLen]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return header{}, nil, err
	}
	h := header{binary.BigEndian.Uint32(b[0:4]), binary.BigEndian.Uint32(b[4:8]), b[8], b[9]}
	if h.length > maxMessage {
		if _, err := r.Discard(int(h.length)); err != nil {
			return h, nil, fmt.Errorf("discard oversized message: %w", err)
		}
		return h, nil, errTooLarge{h.length}
	}
	p := make([]byte, h.length)
	if _, err := io.ReadFull(r, p); err != nil {
		return h, nil, fmt.Errorf("read message: %w", err)
	}
	return h, p, nil
}

// writer serializes frames of concurrent calls onto one connection.
type writer struct {
	mu sync.Mutex
	w  *bufio.Writer
}

func (w *writer) write(stream uint32, typ uint8, p []byte) error {
	if len(p) > maxMessage {
		return fmt.Errorf("message length %d exceeds maximum message size of %d", len(p), maxMessage)
	}
	var b [headerLen]byte
	binary.BigEndian.PutUint32(b[0:4], uint32(len(p)))
	binary.BigEndian.PutUint32(b[4:8], stream)
	b[8] = typ
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, err := w.w.Write(b[:]); err != nil {
		return err
	}
	if _, err := w.w.Write(p); err != nil {
		return err
	}
	return w.w.Flush()
}
