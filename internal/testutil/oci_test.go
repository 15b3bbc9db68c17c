package testutil

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"
)

// The OCI archive containerd tests import: checked against the image-layout
// spec (digests, sizes, media types, the ref name) and for reproducibility.
func TestOCIArchive(t *testing.T) {
	if _, err := os.Stat("/bin/busybox"); err != nil {
		t.Skip("/bin/busybox missing: apt-get install busybox-static")
	}
	var archives [2][]byte
	for i := range archives {
		out := t.TempDir()
		if b, err := exec.Command(filepath.Join(imageDir, "oci.sh"), out).CombinedOutput(); err != nil {
			t.Fatalf("oci.sh: %v\n%s", err, b)
		}
		archives[i] = readFile(t, filepath.Join(out, "busybox-oci.tar"))
	}
	if !bytes.Equal(archives[0], archives[1]) {
		t.Error("two builds of busybox-oci.tar differ: not reproducible")
	}

	files := untar(t, archives[0], "busybox-oci.tar")
	var blobs int
	for name, data := range files {
		switch dir, sum := filepath.Split(name); {
		case name == "oci-layout", name == "index.json", name == "blobs/", name == "blobs/sha256/":
		case dir == "blobs/sha256/":
			blobs++
			if got := sha256.Sum256(data); hex.EncodeToString(got[:]) != sum {
				t.Errorf("blob %s has digest %x", name, got)
			}
		default:
			t.Errorf("unexpected archive entry %s", name)
		}
	}
	if blobs != 3 || files["index.json"] == nil {
		t.Errorf("archive holds %d blobs (want manifest, config, layer) and index.json %v", blobs, files["index.json"] != nil)
	}
	if string(files["oci-layout"]) != `{"imageLayoutVersion":"1.0.0"}` {
		t.Errorf("oci-layout = %s", files["oci-layout"])
	}

	type descriptor struct {
		MediaType   string            `json:"mediaType"`
		Digest      string            `json:"digest"`
		Size        int               `json:"size"`
		Annotations map[string]string `json:"annotations"`
		Platform    *struct {
			Architecture string `json:"architecture"`
			OS           string `json:"os"`
		} `json:"platform"`
	}
	// blob decodes the blob d names into v after checking its size.
	blob := func(d descriptor, mediaType string, v any) []byte {
		t.Helper()
		if d.MediaType != mediaType {
			t.Errorf("descriptor %s: media type %q, want %q", d.Digest, d.MediaType, mediaType)
		}
		data, ok := files["blobs/sha256/"+d.Digest[len("sha256:"):]]
		if !ok || len(data) != d.Size {
			t.Fatalf("blob %s: present %v, size %d, descriptor says %d", d.Digest, ok, len(data), d.Size)
		}
		if v != nil {
			if err := json.Unmarshal(data, v); err != nil {
				t.Fatalf("blob %s: %v", d.Digest, err)
			}
		}
		return data
	}

	var index struct {
		SchemaVersion int          `json:"schemaVersion"`
		MediaType     string       `json:"mediaType"`
		Manifests     []descriptor `json:"manifests"`
	}
	if err := json.Unmarshal(files["index.json"], &index); err != nil {
		t.Fatalf("index.json: %v", err)
	}
	if index.SchemaVersion != 2 || index.MediaType != "application/vnd.oci.image.index.v1+json" || len(index.Manifests) != 1 {
		t.Fatalf("index.json = %+v", index)
	}
	md := index.Manifests[0]
	if ref := md.Annotations["org.opencontainers.image.ref.name"]; ref != "localhost/slrt/busybox:latest" {
		t.Errorf("ref.name = %q", ref)
	}
	if md.Platform == nil || md.Platform.OS != "linux" || md.Platform.Architecture == "" {
		t.Errorf("manifest platform = %+v", md.Platform)
	}

	var manifest struct {
		SchemaVersion int          `json:"schemaVersion"`
		MediaType     string       `json:"mediaType"`
		Config        descriptor   `json:"config"`
		Layers        []descriptor `json:"layers"`
	}
	blob(md, "application/vnd.oci.image.manifest.v1+json", &manifest)
	if manifest.SchemaVersion != 2 || manifest.MediaType != md.MediaType || len(manifest.Layers) != 1 {
		t.Fatalf("manifest = %+v", manifest)
	}
	var config struct {
		Architecture string `json:"architecture"`
		OS           string `json:"os"`
		Config       struct {
			Cmd []string `json:"Cmd"`
		} `json:"config"`
		RootFS struct {
			Type    string   `json:"type"`
			DiffIDs []string `json:"diff_ids"`
		} `json:"rootfs"`
	}
	blob(manifest.Config, "application/vnd.oci.image.config.v1+json", &config)
	if !reflect.DeepEqual(config.Config.Cmd, []string{"sh"}) || config.OS != "linux" ||
		config.Architecture != md.Platform.Architecture || config.RootFS.Type != "layers" || len(config.RootFS.DiffIDs) != 1 {
		t.Errorf("config = %+v", config)
	}

	gz := blob(manifest.Layers[0], "application/vnd.oci.image.layer.v1.tar+gzip", nil)
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatalf("layer: %v", err)
	}
	layerTar, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("layer: %v", err)
	}
	if sum := sha256.Sum256(layerTar); "sha256:"+hex.EncodeToString(sum[:]) != config.RootFS.DiffIDs[0] {
		t.Errorf("layer diff_id is sha256:%x, config says %s", sum, config.RootFS.DiffIDs[0])
	}
	layer := untar(t, layerTar, "layer")
	if len(layer["bin/busybox"]) < 100_000 {
		t.Errorf("layer's bin/busybox has %d bytes", len(layer["bin/busybox"]))
	}
	if _, ok := layer["bin/sh"]; !ok {
		t.Error("layer has no bin/sh")
	}
}

// untar returns the archive's entries by name (directories and links with
// empty contents), checking that each has the fixed owner and mtime.
func untar(t *testing.T, data []byte, what string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if h.Uid != 0 || h.Gid != 0 || h.ModTime.Unix() != 0 {
			t.Errorf("%s: %s has owner %d:%d, mtime %v; want 0:0 at the epoch", what, h.Name, h.Uid, h.Gid, h.ModTime)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatalf("%s: %s: %v", what, h.Name, err)
		}
		files[h.Name] = b
	}
}
