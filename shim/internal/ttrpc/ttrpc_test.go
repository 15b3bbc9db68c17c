package ttrpc

// Interop with github.com/containerd/ttrpc (what containerd itself links),
// kept as a test-only dependency: its client calls our server and our client
// calls its server, over real unix sockets.

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cttrpc "github.com/containerd/ttrpc"
	"google.golang.org/grpc/codes"
	gstatus "google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/slrt/slrt/shim/internal/pb/wkt"
)

const svc = "slrt.test.Echo"

func listen(t *testing.T) (net.Listener, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "s")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	return l, path
}

func dial(t *testing.T, path string) net.Conn {
	t.Helper()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// echoServer serves svc: Echo replies with its request; Fail fails with
// the code named by the request's type URL; Meta replies with the
// namespace header and whether a deadline came; Block waits for release.
func echoServer(t *testing.T, release chan struct{}) string {
	s := NewServer()
	s.Register(svc, map[string]Method{
		"Echo": func(ctx context.Context, unmarshal func(Unmarshaler) error) (Message, error) {
			var req wkt.Any
			if err := unmarshal(&req); err != nil {
				return nil, err
			}
			return &req, nil
		},
		"Fail": func(ctx context.Context, unmarshal func(Unmarshaler) error) (Message, error) {
			var req wkt.Any
			if err := unmarshal(&req); err != nil {
				return nil, err
			}
			switch req.TypeUrl {
			case "notfound":
				return nil, Errorf(NotFound, "container %q", string(req.Value))
			case "wrapped":
				return nil, errors.Join(errors.New("context"), Errorf(FailedPrecondition, "not running"))
			case "canceled":
				return nil, context.Canceled
			}
			return nil, errors.New("plain")
		},
		"Meta": func(ctx context.Context, unmarshal func(Unmarshaler) error) (Message, error) {
			md, _ := GetMetadata(ctx)
			ns, _ := md.Get("containerd-namespace-ttrpc")
			_, hasDeadline := ctx.Deadline()
			return &wkt.Any{TypeUrl: strings.Join(ns, ","), Value: []byte{map[bool]byte{false: 'n', true: 'y'}[hasDeadline]}}, nil
		},
		"Block": func(ctx context.Context, unmarshal func(Unmarshaler) error) (Message, error) {
			select {
			case <-release:
				return &wkt.Empty{}, nil
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		},
	})
	l, path := listen(t)
	served := make(chan error, 1)
	go func() { served <- s.Serve(context.Background(), l) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-served; err != ErrServerClosed {
			t.Errorf("Serve after Close: %v, want ErrServerClosed", err)
		}
	})
	return path
}

func TestContainerdClientCallsOurServer(t *testing.T) {
	release := make(chan struct{})
	path := echoServer(t, release)
	c := cttrpc.NewClient(dial(t, path))
	defer c.Close()
	ctx := context.Background()

	var got anypb.Any
	if err := c.Call(ctx, svc, "Echo", &anypb.Any{TypeUrl: "t", Value: []byte("v")}, &got); err != nil ||
		got.TypeUrl != "t" || string(got.Value) != "v" {
		t.Fatalf("Echo: %v, %v", &got, err)
	}

	tests := []struct {
		service, method, arg string
		code                 codes.Code
		msg                  string
	}{
		{svc, "Fail", "notfound", codes.NotFound, `container "x"`},
		{svc, "Fail", "wrapped", codes.FailedPrecondition, "not running"},
		{svc, "Fail", "canceled", codes.Canceled, "context canceled"},
		{svc, "Fail", "plain", codes.Unknown, "plain"},
		{"no.such.Service", "Echo", "", codes.Unimplemented, "service no.such.Service"},
		{svc, "NoSuchMethod", "", codes.Unimplemented, "method NoSuchMethod"},
	}
	for _, tc := range tests {
		t.Run(tc.method+"/"+tc.arg, func(t *testing.T) {
			err := c.Call(ctx, tc.service, tc.method, &anypb.Any{TypeUrl: tc.arg, Value: []byte("x")}, &got)
			st, _ := gstatus.FromError(err)
			if st.Code() != tc.code || !strings.Contains(st.Message(), tc.msg) {
				t.Errorf("got %v (%q), want %v containing %q", st.Code(), st.Message(), tc.code, tc.msg)
			}
		})
	}

	// Metadata and the deadline reach the handler.
	mctx := cttrpc.WithMetadata(ctx, cttrpc.MD{"containerd-namespace-ttrpc": {"k8s.io"}})
	mctx, cancel := context.WithTimeout(mctx, time.Minute)
	defer cancel()
	if err := c.Call(mctx, svc, "Meta", &anypb.Any{}, &got); err != nil || got.TypeUrl != "k8s.io" || string(got.Value) != "y" {
		t.Errorf("Meta: %v, %v", &got, err)
	}

	// A blocked call does not hold up other calls on the connection.
	var wg sync.WaitGroup
	wg.Add(1)
	var blockErr error
	go func() {
		defer wg.Done()
		var e anypb.Any
		blockErr = c.Call(ctx, svc, "Block", &anypb.Any{}, &e)
	}()
	for i := 0; i < 20; i++ {
		if err := c.Call(ctx, svc, "Echo", &anypb.Any{TypeUrl: "again"}, &got); err != nil {
			t.Fatalf("Echo while a call blocks: %v", err)
		}
	}
	close(release)
	wg.Wait()
	if blockErr != nil {
		t.Errorf("Block: %v", blockErr)
	}
}

// TestDeadline: the caller's deadline reaches the handler's context, which
// ends a blocked call; the caller sees DeadlineExceeded.
func TestDeadline(t *testing.T) {
	path := echoServer(t, make(chan struct{}))
	c := cttrpc.NewClient(dial(t, path))
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	var got anypb.Any
	err := c.Call(ctx, svc, "Block", &anypb.Any{}, &got)
	// Either side's timer may fire first.
	if st, _ := gstatus.FromError(err); st.Code() != codes.DeadlineExceeded && !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Block past its deadline: %v, want DeadlineExceeded", err)
	}
}

func TestOurClientCallsContainerdServer(t *testing.T) {
	s, err := cttrpc.NewServer()
	if err != nil {
		t.Fatal(err)
	}
	s.RegisterService(svc, &cttrpc.ServiceDesc{Methods: map[string]cttrpc.Method{
		"Echo": func(ctx context.Context, unmarshal func(any) error) (any, error) {
			var req anypb.Any
			if err := unmarshal(&req); err != nil {
				return nil, err
			}
			if md, ok := cttrpc.GetMetadata(ctx); ok {
				if ns, ok := md.Get("containerd-namespace-ttrpc"); ok {
					req.TypeUrl += "@" + strings.Join(ns, ",")
				}
			}
			if _, ok := ctx.Deadline(); ok {
				req.TypeUrl += "+deadline"
			}
			return &req, nil
		},
		"Fail": func(ctx context.Context, unmarshal func(any) error) (any, error) {
			return nil, gstatus.Errorf(codes.AlreadyExists, "exists")
		},
	}})
	l, path := listen(t)
	go s.Serve(context.Background(), l)
	defer s.Close()

	c := NewClient(dial(t, path))
	defer c.Close()
	ctx := WithMetadata(context.Background(), MD{"containerd-namespace-ttrpc": {"default"}})
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var got wkt.Any
	if err := c.Call(ctx, svc, "Echo", &wkt.Any{TypeUrl: "t", Value: []byte("v")}, &got); err != nil ||
		got.TypeUrl != "t@default+deadline" || string(got.Value) != "v" {
		t.Fatalf("Echo: %+v, %v", &got, err)
	}
	err = c.Call(ctx, svc, "Fail", &wkt.Any{}, &got)
	if CodeOf(err) != AlreadyExists || !strings.Contains(err.Error(), "exists") {
		t.Errorf("Fail: %v (code %v), want AlreadyExists", err, CodeOf(err))
	}
	err = c.Call(ctx, svc, "Nope", &wkt.Any{}, &got)
	if CodeOf(err) != Unimplemented {
		t.Errorf("unknown method: %v, want Unimplemented", err)
	}
	c.Close()
	if err := c.Call(ctx, svc, "Echo", &wkt.Any{}, &got); !errors.Is(err, ErrClosed) {
		t.Errorf("Call after Close: %v, want ErrClosed", err)
	}
}

// TestBadFrames: what a broken or hostile peer sends is answered with a
// status on that stream and the connection keeps working.
func TestBadFrames(t *testing.T) {
	path := echoServer(t, make(chan struct{}))
	conn := dial(t, path)
	defer conn.Close()
	send := func(length, stream uint32, typ byte, payload []byte) {
		var h [headerLen]byte
		binary.BigEndian.PutUint32(h[0:4], length)
		binary.BigEndian.PutUint32(h[4:8], stream)
		h[8] = typ
		if _, err := conn.Write(append(h[:], payload...)); err != nil {
			t.Fatal(err)
		}
	}
	recv := func() (uint32, *Response) {
		var h [headerLen]byte
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := readFull(conn, h[:]); err != nil {
			t.Fatal(err)
		}
		p := make([]byte, binary.BigEndian.Uint32(h[0:4]))
		if _, err := readFull(conn, p); err != nil {
			t.Fatal(err)
		}
		var r Response
		if err := r.Unmarshal(p); err != nil {
			t.Fatal(err)
		}
		return binary.BigEndian.Uint32(h[4:8]), &r
	}
	echo, _ := (&Request{Service: svc, Method: "Echo"}).Marshal()
	badPayload, _ := (&Request{Service: svc, Method: "Echo", Payload: []byte{0x0a, 0x09}}).Marshal()
	tests := []struct {
		name    string
		length  uint32
		stream  uint32
		typ     byte
		payload []byte
		code    Code
		msg     string
	}{
		{"oversized", maxMessage + 1, 1, typeRequest, make([]byte, maxMessage+1), ResourceExhausted, "exceeds maximum"},
		{"even stream", uint32(len(echo)), 2, typeRequest, echo, InvalidArgument, "must be odd"},
		{"data frame", 0, 3, typeData, nil, InvalidArgument, "only unary"},
		{"bad request", 2, 5, typeRequest, []byte{0x0a, 0x09}, InvalidArgument, "unmarshal request"},
		{"reused stream", uint32(len(echo)), 5, typeRequest, echo, InvalidArgument, "must increase"},
		{"bad payload", uint32(len(badPayload)), 9, typeRequest, badPayload, Internal, "unmarshal slrt.test.Echo/Echo payload"},
		{"fine again", uint32(len(echo)), 11, typeRequest, echo, OK, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			send(tc.length, tc.stream, tc.typ, tc.payload)
			id, r := recv()
			if id != tc.stream || Code(r.Status.GetCode()) != tc.code || !strings.Contains(r.Status.GetMessage(), tc.msg) {
				t.Errorf("stream %d: %v %q, want stream %d %v %q", id, Code(r.Status.GetCode()), r.Status.GetMessage(), tc.stream, tc.code, tc.msg)
			}
		})
	}
}

func readFull(c net.Conn, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := c.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// TestShutdownWaitsForCalls: Shutdown lets a call in flight finish and
// reply, then closes the connection; Serve returns ErrServerClosed.
func TestShutdownWaitsForCalls(t *testing.T) {
	release := make(chan struct{})
	s := NewServer()
	s.Register(svc, map[string]Method{"Block": func(ctx context.Context, _ func(Unmarshaler) error) (Message, error) {
		<-release
		return &wkt.Empty{}, nil
	}})
	l, path := listen(t)
	served := make(chan error, 1)
	go func() { served <- s.Serve(context.Background(), l) }()
	c := NewClient(dial(t, path))
	defer c.Close()
	called := make(chan error, 1)
	go func() { called <- c.Call(context.Background(), svc, "Block", &wkt.Empty{}, &wkt.Empty{}) }()
	time.Sleep(50 * time.Millisecond) // let the call arrive
	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(context.Background()) }()
	if err := <-served; err != ErrServerClosed {
		t.Fatalf("Serve: %v", err)
	}
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned (%v) with a call in flight", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if err := <-called; err != nil {
		t.Errorf("call in flight during Shutdown: %v", err)
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if _, err := net.Dial("unix", path); err == nil {
		t.Errorf("still accepting after Shutdown")
	}
}
