package e2e

// Streaming exec and attach: the CRI's Exec and Attach return a URL on
// containerd's stream server, which speaks SPDY or WebSocket
// (k8s.io/cri-streaming). This is a small WebSocket client for the
// "v4.channel.k8s.io" protocol instead of client-go's remotecommand
// (which would pull most of client-go into go.mod): every binary message
// is one channel byte (0 stdin, 1 stdout, 2 stderr, 3 status, 4 resize)
// followed by data; the status channel carries a JSON metav1.Status when
// the process ends. v4 has no way to close stdin alone (v5 has, but the
// server does not offer it), so the tests send whole lines.

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

const (
	wsOpContinuation = 0x0
	wsOpText         = 0x1
	wsOpBinary       = 0x2
	wsOpClose        = 0x8
	wsOpPing         = 0x9
	wsOpPong         = 0xa

	chanStdin  = 0
	chanStdout = 1
	chanStderr = 2
	chanStatus = 3
)

// wsConn is a client WebSocket connection (RFC 6455): frames from the
// client are masked, from the server not.
type wsConn struct {
	c  net.Conn
	r  *bufio.Reader
	mu sync.Mutex // serializes writes
}

// wsDial opens the stream URL with the given subprotocol.
func wsDial(rawURL, protocol string) (*wsConn, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("stream URL %q: %w", rawURL, err)
	}
	if u.Scheme != "http" {
		return nil, fmt.Errorf("stream URL %q: scheme %q, want http (the test daemon's stream server has no TLS)", rawURL, u.Scheme)
	}
	c, err := net.DialTimeout("tcp", u.Host, 10*time.Second)
	if err != nil {
		return nil, err
	}
	var nonce [16]byte
	rand.Read(nonce[:])
	key := base64.StdEncoding.EncodeToString(nonce[:])
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: %s\r\n\r\n",
		u.RequestURI(), u.Host, key, protocol)
	r := bufio.NewReader(c)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("websocket handshake: %w", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		c.Close()
		return nil, fmt.Errorf("websocket handshake: %s: %s", resp.Status, body)
	}
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	if got := resp.Header.Get("Sec-WebSocket-Accept"); got != base64.StdEncoding.EncodeToString(sum[:]) {
		c.Close()
		return nil, fmt.Errorf("websocket handshake: bad Sec-WebSocket-Accept %q", got)
	}
	if got := resp.Header.Get("Sec-WebSocket-Protocol"); got != protocol {
		c.Close()
		return nil, fmt.Errorf("websocket handshake: server chose protocol %q, want %q", got, protocol)
	}
	c.SetReadDeadline(time.Time{})
	return &wsConn{c: c, r: r}, nil
}

func (w *wsConn) writeFrame(op byte, payload []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	var hdr []byte
	hdr = append(hdr, 0x80|op) // FIN
	switch n := len(payload); {
	case n < 126:
		hdr = append(hdr, 0x80|byte(n))
	case n <= 0xffff:
		hdr = append(hdr, 0x80|126)
		hdr = binary.BigEndian.AppendUint16(hdr, uint16(n))
	default:
		hdr = append(hdr, 0x80|127)
		hdr = binary.BigEndian.AppendUint64(hdr, uint64(n))
	}
	var mask [4]byte
	rand.Read(mask[:])
	hdr = append(hdr, mask[:]...)
	masked := make([]byte, len(payload))
	for i, b := range payload {
		masked[i] = b ^ mask[i%4]
	}
	_, err := w.c.Write(append(hdr, masked...))
	return err
}

// readMessage returns the next data message, answering pings; io.EOF
// once the server closes.
func (w *wsConn) readMessage() ([]byte, error) {
	var msg []byte
	for {
		var h [2]byte
		if _, err := io.ReadFull(w.r, h[:]); err != nil {
			return nil, err
		}
		fin, op := h[0]&0x80 != 0, h[0]&0x0f
		n := uint64(h[1] & 0x7f)
		switch n {
		case 126:
			var b [2]byte
			if _, err := io.ReadFull(w.r, b[:]); err != nil {
				return nil, err
			}
			n = uint64(binary.BigEndian.Uint16(b[:]))
		case 127:
			var b [8]byte
			if _, err := io.ReadFull(w.r, b[:]); err != nil {
				return nil, err
			}
			n = binary.BigEndian.Uint64(b[:])
		}
		if h[1]&0x80 != 0 {
			return nil, errors.New("websocket: masked frame from the server")
		}
		if n > 16<<20 {
			return nil, fmt.Errorf("websocket: frame of %d bytes", n)
		}
		payload := make([]byte, n)
		if _, err := io.ReadFull(w.r, payload); err != nil {
			return nil, err
		}
		switch op {
		case wsOpClose:
			w.writeFrame(wsOpClose, nil)
			return nil, io.EOF
		case wsOpPing:
			w.writeFrame(wsOpPong, payload)
			continue
		case wsOpPong:
			continue
		case wsOpText, wsOpBinary, wsOpContinuation:
			msg = append(msg, payload...)
			if fin {
				return msg, nil
			}
		default:
			return nil, fmt.Errorf("websocket: opcode %#x", op)
		}
	}
}

func (w *wsConn) send(channel byte, data []byte) error {
	return w.writeFrame(wsOpBinary, append([]byte{channel}, data...))
}

func (w *wsConn) Close() error {
	w.writeFrame(wsOpClose, []byte{0x03, 0xe8}) // 1000: normal closure
	return w.c.Close()
}

// streamResult is what a stream session brought back.
type streamResult struct {
	stdout, stderr bytes.Buffer
	status         []byte // the JSON status message, if any
}

// k8sStatus is the part of metav1.Status the v4 protocol uses for the
// exit code.
type k8sStatus struct {
	Status  string `json:"status"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
	Details struct {
		Causes []struct {
			Reason  string `json:"reason"`
			Message string `json:"message"`
		} `json:"causes"`
	} `json:"details"`
}

// exitCode decodes the v4 status: 0 for Success, the ExitCode cause for
// NonZeroExitCode, -1 (and the message) for anything else.
func (r *streamResult) exitCode() (int, string) {
	if r.status == nil {
		return -1, "no status message"
	}
	var s k8sStatus
	if err := json.Unmarshal(r.status, &s); err != nil {
		return -1, fmt.Sprintf("status %q: %v", r.status, err)
	}
	if s.Status == "Success" {
		return 0, ""
	}
	for _, c := range s.Details.Causes {
		if c.Reason == "ExitCode" {
			var code int
			if _, err := fmt.Sscan(c.Message, &code); err == nil {
				return code, ""
			}
		}
	}
	return -1, string(r.status)
}

// streamSession reads the connection until the server closes it or
// until (when non-nil) stop returns true on the output so far; lines are
// sent on stdin after the server's first message (which says the streams
// are set up).
func streamSession(t *testing.T, streamURL string, lines []string, stop func(*streamResult) bool) *streamResult {
	t.Helper()
	ws, err := wsDial(streamURL, "v4.channel.k8s.io")
	if err != nil {
		t.Fatalf("stream %s: %v", streamURL, err)
	}
	defer ws.Close()
	ws.c.SetDeadline(time.Now().Add(30 * time.Second))
	res := &streamResult{}
	sent := false
	for {
		msg, err := ws.readMessage()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return res
			}
			t.Fatalf("stream %s: %v (stdout so far %q, stderr %q)", streamURL, err, res.stdout.String(), res.stderr.String())
		}
		if len(msg) == 0 {
			continue
		}
		switch msg[0] {
		case chanStdout:
			res.stdout.Write(msg[1:])
		case chanStderr:
			res.stderr.Write(msg[1:])
		case chanStatus:
			res.status = append(res.status, msg[1:]...)
		}
		if !sent {
			sent = true
			for _, l := range lines {
				if err := ws.send(chanStdin, []byte(l)); err != nil {
					t.Fatalf("stream %s: stdin: %v", streamURL, err)
				}
			}
		}
		if stop != nil && stop(res) {
			return res
		}
	}
}

func TestCRIExecStream(t *testing.T) {
	c := criSetup(t)
	p := c.runPod(t, criPodConfig(t, "exec-stream"))
	id := c.run(t, p, c.containerConfig(p, "main", "sleep", "1000"))

	cases := []struct {
		name           string
		cmd            []string
		stdin          []string
		stdout, stderr string
		code           int
	}{
		{"stdout and stderr", []string{"sh", "-c", "echo out; echo err >&2"}, nil, "out\n", "err\n", 0},
		{"exit code", []string{"sh", "-c", "echo bye; exit 3"}, nil, "bye\n", "", 3},
		{"stdin", []string{"sh", "-c", "read a; read b; echo \"got $a $b\"; exit 4"}, []string{"one\n", "two\n"}, "got one two\n", "", 4},
		{"pid namespace", []string{"sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '"}, nil, "sleep 1000 ", "", 0},
	}
	for _, tc := range cases {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			resp, err := c.rt.Exec(criCtx(t), &runtimeapi.ExecRequest{
				ContainerId: id, Cmd: tc.cmd, Stdin: tc.stdin != nil, Stdout: true, Stderr: true,
			})
			if err != nil {
				t.Fatalf("Exec: %v", err)
			}
			res := streamSession(t, resp.Url, tc.stdin, nil)
			code, msg := res.exitCode()
			if res.stdout.String() != tc.stdout || res.stderr.String() != tc.stderr || code != tc.code {
				t.Errorf("exec %q: stdout %q stderr %q exit %d (%s), want %q %q %d",
					tc.cmd, res.stdout.String(), res.stderr.String(), code, msg, tc.stdout, tc.stderr, tc.code)
			}
		})
	}

	// A missing binary: the stream reports a failure, not a hang.
	resp, err := c.rt.Exec(criCtx(t), &runtimeapi.ExecRequest{ContainerId: id, Cmd: []string{"/no/such/binary"}, Stdout: true, Stderr: true})
	if err != nil {
		t.Fatalf("Exec: %v", err)
	}
	res := streamSession(t, resp.Url, nil, nil)
	if code, msg := res.exitCode(); code == 0 {
		t.Errorf("exec of a missing binary: exit 0 (%s), stdout %q stderr %q", msg, res.stdout.String(), res.stderr.String())
	} else {
		t.Logf("missing binary: exit %d %s stderr %q", code, msg, res.stderr.String())
	}

	// Exec into a container that does not exist fails in the call.
	if _, err := c.rt.Exec(criCtx(t), &runtimeapi.ExecRequest{ContainerId: "no-such-container", Cmd: []string{"true"}, Stdout: true}); err == nil {
		t.Errorf("Exec into a missing container: no error")
	}
}

func TestCRIAttach(t *testing.T) {
	c := criSetup(t)
	p := c.runPod(t, criPodConfig(t, "attach"))
	cfg := c.containerConfig(p, "cat", "sh", "-c", `while read l; do echo "echo:$l"; echo "err:$l" >&2; done; echo stdin-closed`)
	cfg.Stdin = true
	id := c.run(t, p, cfg)

	resp, err := c.rt.Attach(criCtx(t), &runtimeapi.AttachRequest{ContainerId: id, Stdin: true, Stdout: true, Stderr: true})
	if err != nil {
		t.Fatalf("Attach: %v", err)
	}
	res := streamSession(t, resp.Url, []string{"hello\n", "world\n"}, func(r *streamResult) bool {
		return strings.Contains(r.stdout.String(), "echo:world") && strings.Contains(r.stderr.String(), "err:world")
	})
	if res.stdout.String() != "echo:hello\necho:world\n" || res.stderr.String() != "err:hello\nerr:world\n" {
		t.Errorf("attach: stdout %q stderr %q", res.stdout.String(), res.stderr.String())
	}
	// Detaching (closing the stream) leaves the container running and
	// its stdin open (StdinOnce is false): a second attach works.
	time.Sleep(200 * time.Millisecond)
	if st := c.status(t, id); st.State != runtimeapi.ContainerState_CONTAINER_RUNNING {
		t.Fatalf("after detach: %v", st.State)
	}
	resp, err = c.rt.Attach(criCtx(t), &runtimeapi.AttachRequest{ContainerId: id, Stdin: true, Stdout: true})
	if err != nil {
		t.Fatalf("Attach again: %v", err)
	}
	res = streamSession(t, resp.Url, []string{"again\n"}, func(r *streamResult) bool {
		return strings.Contains(r.stdout.String(), "echo:again")
	})
	if res.stdout.String() != "echo:again\n" {
		t.Errorf("second attach: stdout %q", res.stdout.String())
	}
	// Everything the container wrote is in its log, also the stderr the
	// second attach did not ask for.
	log := readCRILog(t, p, cfg.LogPath, func(l []criLogLine) bool { return len(l) >= 6 })
	var got []string
	for _, l := range log {
		got = append(got, l.stream+":"+l.text)
	}
	want := []string{"stdout:echo:hello", "stderr:err:hello", "stdout:echo:world", "stderr:err:world", "stdout:echo:again", "stderr:err:again"}
	if !sameLines(got, want) {
		t.Errorf("log after attach: %q, want (in stream order) %q", got, want)
	}
}

// sameLines: got holds want's lines, each stream in order (stdout and
// stderr are separate pipes, so their interleaving is not fixed).
func sameLines(got, want []string) bool {
	if len(got) != len(want) {
		return false
	}
	for _, s := range []string{"stdout:", "stderr:"} {
		var g, w []string
		for _, l := range got {
			if strings.HasPrefix(l, s) {
				g = append(g, l)
			}
		}
		for _, l := range want {
			if strings.HasPrefix(l, s) {
				w = append(w, l)
			}
		}
		if strings.Join(g, "\n") != strings.Join(w, "\n") {
			return false
		}
	}
	return true
}

// TestCRIExecTTY: an exec with a terminal (kubectl exec -it) gets the
// sizes sent on the resize channel, and its output comes back on stdout
// (a terminal has no separate stderr).
func TestCRIExecTTY(t *testing.T) {
	c := criSetup(t)
	p := c.runPod(t, criPodConfig(t, "exec-tty"))
	id := c.run(t, p, c.containerConfig(p, "main", "sleep", "1000"))
	resp, err := c.rt.Exec(criCtx(t), &runtimeapi.ExecRequest{ContainerId: id, Tty: true, Stdin: true, Stdout: true,
		Cmd: []string{"sh", "-c", "read a; echo size1 $(stty size); echo err-on-tty >&2; read b; echo size2 $(stty size); exit 3"}})
	if err != nil {
		t.Fatalf("Exec: %v", err)
	}
	ws, err := wsDial(resp.Url, "v4.channel.k8s.io")
	if err != nil {
		t.Fatalf("stream: %v", err)
	}
	defer ws.Close()
	ws.c.SetDeadline(time.Now().Add(30 * time.Second))
	const chanResize = 4
	var out bytes.Buffer
	var status []byte
	// readUntil reads messages until stdout holds want (or the stream ends).
	readUntil := func(want string) {
		for !strings.Contains(out.String(), want) {
			msg, err := ws.readMessage()
			if err != nil {
				t.Fatalf("stream: %v (stdout so far %q)", err, out.String())
			}
			if len(msg) > 0 && msg[0] == chanStdout {
				out.Write(msg[1:])
			} else if len(msg) > 0 && msg[0] == chanStatus {
				status = append(status, msg[1:]...)
			}
		}
	}
	step := func(width, height int, line string) {
		if err := ws.send(chanResize, fmt.Appendf(nil, `{"Width":%d,"Height":%d}`, width, height)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond) // the resize and the line travel separately
		if err := ws.send(chanStdin, []byte(line)); err != nil {
			t.Fatal(err)
		}
	}
	step(100, 30, "x\n")
	readUntil("size1 30 100")
	step(120, 40, "y\n")
	readUntil("size2 40 120")
	for status == nil {
		msg, err := ws.readMessage()
		if err != nil {
			break
		}
		if len(msg) > 0 && msg[0] == chanStatus {
			status = append(status, msg[1:]...)
		} else if len(msg) > 0 && msg[0] == chanStdout {
			out.Write(msg[1:])
		}
	}
	res := &streamResult{status: status}
	if code, msg := res.exitCode(); code != 3 {
		t.Errorf("tty exec: exit %d (%s), want 3", code, msg)
	}
	if !strings.Contains(out.String(), "err-on-tty") || !strings.Contains(out.String(), "\r\n") {
		t.Errorf("tty output %q: want stderr on the terminal and CR LF line ends", out.String())
	}
}
