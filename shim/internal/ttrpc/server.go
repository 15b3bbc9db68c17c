// Package ttrpc speaks containerd's ttrpc protocol (unary calls only, which
// is all the task and events APIs use): a Server for containerd's calls to
// the shim and a Client for the events the shim publishes. It replaces
// github.com/containerd/ttrpc, which needs protobuf-go's runtime and gRPC's
// status packages (~2 MB of the shim, issue 6); messages here are the lean
// generated ones (hack/protoc-gen-slrt) with their own Marshal/Unmarshal.
package ttrpc

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

// Message is a reply or request message: the generated types are.
type Message interface {
	Marshal() ([]byte, error)
}

// Unmarshaler decodes a message from its wire encoding.
type Unmarshaler interface {
	Unmarshal([]byte) error
}

// Method handles one call: it decodes the request with unmarshal (which
// fails with Internal on a bad payload, as containerd's ttrpc does) and
// returns the reply, or an error whose code (CodeOf) the caller sees.
type Method func(ctx context.Context, unmarshal func(Unmarshaler) error) (Message, error)

// Interceptor wraps every call; fullMethod is "/service/method".
type Interceptor func(ctx context.Context, fullMethod string, call func(context.Context) (Message, error)) (Message, error)

// ErrServerClosed is what Serve returns after Close or Shutdown.
var ErrServerClosed = errors.New("ttrpc: server closed")

// Server serves registered services on any number of listeners. Each
// connection reads requests in one goroutine and runs each call in its own,
// so a slow call (Wait) never holds up the others.
type Server struct {
	intercept Interceptor

	mu        sync.Mutex
	services  map[string]map[string]Method
	listeners map[net.Listener]struct{}
	conns     map[*serverConn]struct{}
	closed    bool
}

// Option configures a Server.
type Option func(*Server)

// WithInterceptor runs every call through i.
func WithInterceptor(i Interceptor) Option { return func(s *Server) { s.intercept = i } }

func NewServer(opts ...Option) *Server {
	s := &Server{
		services:  map[string]map[string]Method{},
		listeners: map[net.Listener]struct{}{},
		conns:     map[*serverConn]struct{}{},
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Register serves service's methods; registering a name twice replaces it.
func (s *Server) Register(service string, methods map[string]Method) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.services[service] = methods
}

func (s *Server) method(service, method string) (Method, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ms, ok := s.services[service]
	if !ok {
		return nil, Errorf(Unimplemented, "service %s", service)
	}
	m, ok := ms[method]
	if !ok {
		return nil, Errorf(Unimplemented, "method %s", method)
	}
	return m, nil
}

// Serve accepts connections on l until Close or Shutdown (ErrServerClosed)
// or an accept error. Calls get contexts derived from ctx.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrServerClosed
	}
	s.listeners[l] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, l)
		s.mu.Unlock()
		l.Close()
	}()
	var backoff time.Duration
	for {
		c, err := l.Accept()
		if err != nil {
			if s.isClosed() {
				return ErrServerClosed
			}
			// Out of file descriptors is passing: back off and go on
			// rather than end the shim's only listener.
			var ne net.Error
			if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) || (errors.As(err, &ne) && ne.Timeout()) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		sc := &serverConn{s: s, c: c, w: writer{w: bufio.NewWriter(c)}}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return ErrServerClosed
		}
		s.conns[sc] = struct{}{}
		s.mu.Unlock()
		go sc.run(ctx)
	}
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// closeListeners stops accepting, for good.
func (s *Server) closeListeners() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for l := range s.listeners {
		l.Close()
	}
}

// Close stops accepting and closes every connection at once, calls in
// flight or not.
func (s *Server) Close() error {
	s.closeListeners()
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.c.Close()
	}
	return nil
}

// Shutdown stops accepting and closes connections as their calls finish,
// until none is left or ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	s.closeListeners()
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		s.mu.Lock()
		for c := range s.conns {
			if c.idle() {
				c.c.Close()
				delete(s.conns, c)
			}
		}
		n := len(s.conns)
		s.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

type serverConn struct {
	s *Server
	c net.Conn
	w writer

	mu     sync.Mutex
	active int // calls running
}

func (c *serverConn) idle() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.active == 0
}

func (c *serverConn) run(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx) // a closed connection cancels its calls
	defer func() {
		cancel()
		c.c.Close()
		c.s.mu.Lock()
		delete(c.s.conns, c)
		c.s.mu.Unlock()
	}()
	r := bufio.NewReader(c.c)
	var last uint32
	for {
		h, p, err := readFrame(r)
		var tooLarge errTooLarge
		switch {
		case errors.As(err, &tooLarge):
			c.fail(h.stream, Errorf(ResourceExhausted, "%s", err))
			continue
		case err != nil:
			return // EOF, reset, or a frame cut short: the peer is gone
		case h.stream%2 != 1:
			c.fail(h.stream, Errorf(InvalidArgument, "stream id %d: client streams must be odd", h.stream))
			continue
		case h.typ != typeRequest:
			c.fail(h.stream, Errorf(InvalidArgument, "stream %d: message type %d: only unary requests are served", h.stream, h.typ))
			continue
		case h.stream <= last:
			c.fail(h.stream, Errorf(InvalidArgument, "stream id %d: ids must increase", h.stream))
			continue
		}
		last = h.stream
		req := new(Request)
		if err := req.Unmarshal(p); err != nil {
			c.fail(h.stream, Errorf(InvalidArgument, "unmarshal request: %v", err))
			continue
		}
		m, err := c.s.method(req.Service, req.Method)
		if err != nil {
			c.fail(h.stream, err)
			continue
		}
		c.mu.Lock()
		c.active++
		c.mu.Unlock()
		go func(stream uint32) {
			defer func() {
				c.mu.Lock()
				c.active--
				c.mu.Unlock()
			}()
			c.call(ctx, stream, req, m)
		}(h.stream)
	}
}

func (c *serverConn) call(ctx context.Context, stream uint32, req *Request, m Method) {
	if len(req.Metadata) > 0 {
		ctx = WithMetadata(ctx, mdFromWire(req.Metadata))
	}
	var cancel context.CancelFunc
	if req.TimeoutNano > 0 {
		ctx, cancel = context.WithTimeout(ctx, time.Duration(req.TimeoutNano))
	} else {
		ctx, cancel = context.WithCancel(ctx)
	}
	defer cancel()
	unmarshal := func(u Unmarshaler) error {
		if err := u.Unmarshal(req.Payload); err != nil {
			return Errorf(Internal, "unmarshal %s/%s payload: %v", req.Service, req.Method, err)
		}
		return nil
	}
	call := func(ctx context.Context) (Message, error) { return m(ctx, unmarshal) }
	var (
		reply Message
		err   error
	)
	if c.s.intercept != nil {
		reply, err = c.s.intercept(ctx, "/"+req.Service+"/"+req.Method, call)
	} else {
		reply, err = call(ctx)
	}
	var payload []byte
	if err == nil {
		if reply == nil {
			err = Errorf(Internal, "%s/%s returned no reply", req.Service, req.Method)
		} else if payload, err = reply.Marshal(); err != nil {
			err = Errorf(Internal, "marshal %s/%s reply: %v", req.Service, req.Method, err)
		}
	}
	c.respond(stream, &Response{Status: statusOf(err), Payload: payload})
}

func (c *serverConn) fail(stream uint32, err error) {
	c.respond(stream, &Response{Status: statusOf(err)})
}

func (c *serverConn) respond(stream uint32, r *Response) {
	b, _ := r.Marshal()
	// A write error means the peer is gone; the read loop ends the connection.
	_ = c.w.write(stream, typeResponse, b)
}

// statusOf is status(err), with the codes containerd's ttrpc gives plain
// errors of the standard library, so a handler returning one of those
// reads the same to containerd.
func statusOf(err error) *RPCStatus {
	st := status(err)
	if st.Code != int32(Unknown) || err == nil {
		return st
	}
	var e *Error
	if errors.As(err, &e) {
		return st // an explicit Unknown
	}
	switch {
	case err == io.EOF:
		st.Code = int32(OutOfRange)
	case err == io.ErrClosedPipe, err == io.ErrNoProgress, err == io.ErrShortBuffer,
		err == io.ErrShortWrite, err == io.ErrUnexpectedEOF:
		st.Code = int32(FailedPrecondition)
	case err == os.ErrInvalid:
		st.Code = int32(InvalidArgument)
	case err == context.Canceled:
		st.Code = int32(Canceled)
	case err == context.DeadlineExceeded:
		st.Code = int32(DeadlineExceeded)
	case os.IsExist(err):
		st.Code = int32(AlreadyExists)
	case os.IsNotExist(err):
		st.Code = int32(NotFound)
	case os.IsPermission(err):
		st.Code = int32(PermissionDenied)
	}
	return st
}
