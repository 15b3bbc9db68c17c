// Package nodelabel sets or removes one label on a Kubernetes node from a
// pod, with the pod's service account: the installer DaemonSet labels its
// node once slrt is installed there, so RuntimeClass sl schedules pods only
// onto nodes that can run them.
//
// It speaks one HTTP/1.1 PATCH over crypto/tls instead of using net/http or
// client-go: the slrt CLI links this package, and every `slrt run` pays for
// the package initialisation of what it links (DESIGN.md decision 4).
package nodelabel

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// ServiceAccountDir is where Kubernetes mounts a pod's token and CA.
const ServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount"

// Client reaches the API server.
type Client struct {
	Addr  string // host:port
	Token string
	TLS   *tls.Config
}

// InCluster builds a Client from the pod's environment.
func InCluster() (*Client, error) {
	host, port := os.Getenv("KUBERNETES_SERVICE_HOST"), os.Getenv("KUBERNETES_SERVICE_PORT")
	if host == "" || port == "" {
		return nil, errors.New("not in a pod: KUBERNETES_SERVICE_HOST/PORT are not set")
	}
	token, err := os.ReadFile(ServiceAccountDir + "/token")
	if err != nil {
		return nil, fmt.Errorf("service account token: %w", err)
	}
	ca, err := os.ReadFile(ServiceAccountDir + "/ca.crt")
	if err != nil {
		return nil, fmt.Errorf("service account CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		return nil, errors.New("service account CA: no certificate in ca.crt")
	}
	return &Client{
		Addr:  net.JoinHostPort(host, port),
		Token: strings.TrimSpace(string(token)),
		TLS:   &tls.Config{RootCAs: pool, ServerName: "kubernetes.default.svc", MinVersion: tls.VersionTLS12},
	}, nil
}

// Set sets label key=value on node; an empty value removes the label.
func (c *Client) Set(node, key, value string) error {
	var v any = value
	if value == "" {
		v = nil // JSON merge patch: null removes the key
	}
	body, err := json.Marshal(map[string]any{"metadata": map[string]any{"labels": map[string]any{key: v}}})
	if err != nil {
		return err
	}
	status, msg, err := c.do("PATCH", "/api/v1/nodes/"+node, "application/merge-patch+json", body)
	if err != nil {
		return fmt.Errorf("label node %s: %w", node, err)
	}
	if status/100 != 2 {
		return fmt.Errorf("label node %s: API server answered %d: %s", node, status, msg)
	}
	return nil
}

// do sends one request on a fresh connection and returns the status and,
// for errors, the start of the body.
func (c *Client) do(method, path, ctype string, body []byte) (int, string, error) {
	d := &net.Dialer{Timeout: 10 * time.Second}
	conn, err := tls.DialWithDialer(d, "tcp", c.Addr, c.TLS)
	if err != nil {
		return 0, "", err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	host, _, _ := net.SplitHostPort(c.Addr)
	req := fmt.Sprintf("%s %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: %s\r\n"+
		"Accept: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n",
		method, path, host, c.Token, ctype, len(body))
	if _, err := conn.Write(append([]byte(req), body...)); err != nil {
		return 0, "", err
	}
	r := bufio.NewReader(conn)
	line, err := r.ReadString('\n')
	if err != nil {
		return 0, "", fmt.Errorf("read response: %w", err)
	}
	f := strings.Fields(line)
	if len(f) < 2 || !strings.HasPrefix(f[0], "HTTP/1.") {
		return 0, "", fmt.Errorf("not an HTTP response: %q", line)
	}
	status, err := strconv.Atoi(f[1])
	if err != nil {
		return 0, "", fmt.Errorf("not an HTTP response: %q", line)
	}
	// Headers, then (for the message) a little of the body.
	for {
		h, err := r.ReadString('\n')
		if err != nil || h == "\r\n" || h == "\n" {
			break
		}
	}
	buf := make([]byte, 512)
	n, _ := r.Read(buf)
	return status, strings.TrimSpace(string(buf[:n])), nil
}
