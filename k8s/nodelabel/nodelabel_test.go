package nodelabel

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestSet: the request is the merge patch the API server expects, and a
// non-2xx answer is an error that carries its message.
func TestSet(t *testing.T) {
	var got []string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got = append(got, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization")+" "+r.Header.Get("Content-Type")+" "+string(body))
		if strings.Contains(r.URL.Path, "missing") {
			http.Error(w, `{"kind":"Status","message":"nodes \"missing\" not found"}`, http.StatusNotFound)
			return
		}
		w.Write([]byte(`{"kind":"Node"}`))
	}))
	defer srv.Close()
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	c := &Client{Addr: srv.Listener.Addr().String(), Token: "tok", TLS: &tls.Config{RootCAs: pool}}

	if err := c.Set("node-1", "slrt.io/installed", "true"); err != nil {
		t.Fatal(err)
	}
	if err := c.Set("node-1", "slrt.io/installed", ""); err != nil {
		t.Fatal(err)
	}
	err := c.Set("missing", "slrt.io/installed", "true")
	if err == nil || !strings.Contains(err.Error(), "404") || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("missing node: %v", err)
	}
	want := []string{
		`PATCH /api/v1/nodes/node-1 Bearer tok application/merge-patch+json {"metadata":{"labels":{"slrt.io/installed":"true"}}}`,
		`PATCH /api/v1/nodes/node-1 Bearer tok application/merge-patch+json {"metadata":{"labels":{"slrt.io/installed":null}}}`,
	}
	for i, w := range want {
		if got[i] != w {
			t.Errorf("request %d:\n got %s\nwant %s", i, got[i], w)
		}
	}
}
