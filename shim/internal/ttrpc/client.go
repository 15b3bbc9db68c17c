package ttrpc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// ErrClosed is what calls on a closed Client return.
var ErrClosed = errors.New("ttrpc: closed")

// Client makes unary calls over one connection; calls may run concurrently
// (one stream id each) and one goroutine hands the responses out.
type Client struct {
	c    net.Conn
	w    writer
	done chan struct{}

	mu    sync.Mutex
	next  uint32 // client streams are odd
	calls map[uint32]chan frame
	err   error // why the connection ended
}

type frame struct {
	h   header
	p   []byte
	err error
}

// NewClient starts a Client on c, which it owns from now on.
func NewClient(c net.Conn) *Client {
	cl := &Client{c: c, w: writer{w: bufio.NewWriter(c)}, done: make(chan struct{}), next: 1,
		calls: map[uint32]chan frame{}}
	go cl.read()
	return cl
}

func (cl *Client) read() {
	r := bufio.NewReader(cl.c)
	for {
		h, p, err := readFrame(r)
		var tooLarge errTooLarge
		if err != nil && !errors.As(err, &tooLarge) {
			cl.end(fmt.Errorf("ttrpc: connection: %w", err))
			return
		}
		cl.mu.Lock()
		ch := cl.calls[h.stream]
		delete(cl.calls, h.stream)
		cl.mu.Unlock()
		if ch != nil { // else the caller gave up (its context ended)
			ch <- frame{h, p, err}
		}
	}
}

func (cl *Client) end(err error) {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if cl.err == nil {
		cl.err = err
		close(cl.done)
		cl.c.Close()
	}
}

// Close ends the connection; calls in flight return ErrClosed.
func (cl *Client) Close() error {
	cl.end(ErrClosed)
	return nil
}

// Call sends req to service/method and decodes the reply into resp. ctx's
// deadline and metadata (WithMetadata) go with the request. A failed call
// returns an *Error with the server's code.
func (cl *Client) Call(ctx context.Context, service, method string, req Message, resp Unmarshaler) error {
	payload, err := req.Marshal()
	if err != nil {
		return fmt.Errorf("ttrpc: marshal %s/%s request: %w", service, method, err)
	}
	creq := &Request{Service: service, Method: method, Payload: payload}
	if md, ok := GetMetadata(ctx); ok {
		creq.Metadata = md.toWire()
	}
	if dl, ok := ctx.Deadline(); ok {
		creq.TimeoutNano = max(time.Until(dl).Nanoseconds(), 1)
	}
	b, _ := creq.Marshal()

	ch := make(chan frame, 1)
	cl.mu.Lock()
	if cl.err != nil {
		err := cl.err
		cl.mu.Unlock()
		return err
	}
	id := cl.next
	cl.next += 2
	cl.calls[id] = ch
	cl.mu.Unlock()
	forget := func() {
		cl.mu.Lock()
		delete(cl.calls, id)
		cl.mu.Unlock()
	}
	if err := cl.w.write(id, typeRequest, b); err != nil {
		forget()
		cl.end(fmt.Errorf("ttrpc: connection: %w", err))
		return fmt.Errorf("ttrpc: send %s/%s: %w", service, method, err)
	}
	var f frame
	select {
	case f = <-ch:
	case <-ctx.Done():
		forget()
		return ctx.Err()
	case <-cl.done:
		forget()
		return cl.err
	}
	if f.err != nil {
		return Errorf(ResourceExhausted, "%s/%s reply: %v", service, method, f.err)
	}
	if f.h.typ != typeResponse {
		return fmt.Errorf("ttrpc: %s/%s: message type %d where a response was due", service, method, f.h.typ)
	}
	var cresp Response
	if err := cresp.Unmarshal(f.p); err != nil {
		return fmt.Errorf("ttrpc: %s/%s: unmarshal response: %w", service, method, err)
	}
	if st := cresp.Status; st != nil && st.Code != int32(OK) {
		return &Error{Code: Code(st.Code), Message: st.Message}
	}
	if err := resp.Unmarshal(cresp.Payload); err != nil {
		return fmt.Errorf("ttrpc: %s/%s: unmarshal reply: %w", service, method, err)
	}
	return nil
}
