package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minimind-go/minimind/site"
)

// fakeRuntime stands in for the built wasm in tests that do not run it.
var fakeRuntime = runtimeFiles{Wasm: bytes.Repeat([]byte("\x00asm\x01\x00\x00\x00"), 1000), Exec: []byte("// wasm_exec.js\n")}

func testServer(t *testing.T, modelDir string) *httptest.Server {
	t.Helper()
	opt := serverOptions{Site: site.FS(), Wasm: fakeRuntime.Wasm, WasmExec: fakeRuntime.Exec}
	if modelDir != "" {
		opt.Model, opt.ModelName = os.DirFS(modelDir), "test model"
	}
	srv, err := newServer(opt)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return ts
}

func get(t *testing.T, url string, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	tr := &http.Transport{DisableCompression: true}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func TestServerRoutes(t *testing.T) {
	dir := writeTestModel(t, "tiny", "minimind2", 1)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not served"), 0o644)
	ts := testServer(t, dir)
	for _, tc := range []struct {
		path, accept string
		status       int
		ctype, body  string // expected Content-Type prefix and body substring
		encoding     string
	}{
		{"/", "", 200, "text/html", `<script type="module" src="app.js">`, ""},
		{"/index.html", "", 301, "", "", ""},
		{"/app.js", "", 200, "text/javascript", "MiniMind.load", ""},
		{"/style.css", "", 200, "text/css", ".composer", ""},
		{"/icon.svg", "", 200, "image/svg+xml", "<svg", ""},
		{"/minimind.js", "", 200, "text/javascript", "export class MiniMind", ""},
		{"/minimind-worker.js", "", 200, "text/javascript", "importScripts", ""},
		{"/wasm_exec.js", "", 200, "text/javascript", "wasm_exec", ""},
		{"/minimind.wasm", "", 200, "application/wasm", "\x00asm", ""},
		{"/minimind.wasm", "gzip, deflate", 200, "application/wasm", "", "gzip"},
		{"/models/default/manifest.json", "", 200, "application/json", `"name": "test model"`, ""},
		{"/models/default/config.json", "", 200, "application/json", "hidden_size", ""},
		{"/models/default/model.safetensors", "", 200, "application/octet-stream", "", ""},
		{"/models/default/notes.txt", "", 404, "", "", ""},
		{"/learn/", "", 200, "text/html", `<script type="module" src="learn.js">`, ""},
		{"/learn", "", 301, "", "", ""},
		{"/learn/index.html", "", 301, "", "", ""},
		{"/learn/learn.js", "", 200, "text/javascript", "minimindTutorial", ""},
		{"/learn/learn.css", "", 200, "text/css", ".timeline", ""},
		{"/models/default/../../go.mod", "", 404, "", "", ""},
		{"/nope.html", "", 404, "", "", ""},
		{"/models/", "", 404, "", "", ""},
	} {
		t.Run(tc.path+tc.accept, func(t *testing.T) {
			h := map[string]string{}
			if tc.accept != "" {
				h["Accept-Encoding"] = tc.accept
			}
			resp, body := get(t, ts.URL+tc.path, h)
			if resp.StatusCode != tc.status && !(tc.status == 301 && resp.StatusCode == 200) {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if tc.status != 200 {
				return
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, tc.ctype) {
				t.Errorf("Content-Type %q, want %q", ct, tc.ctype)
			}
			if !bytes.Contains(body, []byte(tc.body)) {
				t.Errorf("body lacks %q", tc.body)
			}
			if enc := resp.Header.Get("Content-Encoding"); enc != tc.encoding {
				t.Errorf("Content-Encoding %q, want %q", enc, tc.encoding)
			}
			if tc.encoding == "gzip" {
				zr, err := gzip.NewReader(bytes.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				plain, _ := io.ReadAll(zr)
				if !bytes.Equal(plain, fakeRuntime.Wasm) {
					t.Error("gzipped wasm does not decompress to the runtime")
				}
			}
			if resp.Header.Get("ETag") == "" && resp.Header.Get("Last-Modified") == "" {
				t.Error("no validator (ETag or Last-Modified)")
			}
		})
	}
}

func TestServerManifestAndConditional(t *testing.T) {
	dir := writeTestModel(t, "tiny", "minimind2", 1)
	ts := testServer(t, dir)
	_, body := get(t, ts.URL+"/models/default/manifest.json", nil)
	var m manifest
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	names := map[string]manifestFile{}
	for _, f := range m.Files {
		names[f.Name] = f
	}
	st, _ := os.Stat(filepath.Join(dir, "model.safetensors"))
	if len(m.Files) != 4 || names["model.safetensors"].Size != st.Size() || len(names["tokenizer.json"].SHA256) != 64 {
		t.Fatalf("manifest %+v", m)
	}
	resp, _ := get(t, ts.URL+"/models/default/model.safetensors", nil)
	tag := resp.Header.Get("ETag")
	if tag != `"`+names["model.safetensors"].SHA256+`"` {
		t.Errorf("ETag %s is not the file's hash", tag)
	}
	resp, body = get(t, ts.URL+"/models/default/model.safetensors", map[string]string{"If-None-Match": tag})
	if resp.StatusCode != http.StatusNotModified || len(body) != 0 {
		t.Errorf("conditional GET: status %d, %d bytes", resp.StatusCode, len(body))
	}
	resp, body = get(t, ts.URL+"/models/default/model.safetensors", map[string]string{"Range": "bytes=0-7"})
	if resp.StatusCode != http.StatusPartialContent || len(body) != 8 {
		t.Errorf("range GET: status %d, %d bytes", resp.StatusCode, len(body))
	}
	if resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Error("model files do not allow cross-origin use")
	}
}

func TestServerNoModel(t *testing.T) {
	ts := testServer(t, "")
	resp, body := get(t, ts.URL+"/models/default/manifest.json", nil)
	if resp.StatusCode != 404 || !strings.Contains(string(body), "--model") {
		t.Fatalf("status %d, body %q", resp.StatusCode, body)
	}
	req, _ := http.NewRequest("POST", ts.URL+"/", nil)
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: status %d", r.StatusCode)
	}
}

func TestNewServerRejectsFolderWithoutTokenizer(t *testing.T) {
	dir := writeTestModel(t, "tiny", "minimind2", 1)
	os.Remove(filepath.Join(dir, "tokenizer.json"))
	_, err := newServer(serverOptions{Site: site.FS(), Model: os.DirFS(dir), ModelName: "broken"})
	if err == nil || !strings.Contains(err.Error(), "tokenizer.json") {
		t.Fatalf("err = %v", err)
	}
}

func TestModuleRoot(t *testing.T) {
	root, err := moduleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "wasm", "main.go")); err != nil {
		t.Errorf("module root %s has no wasm/main.go", root)
	}
	if _, err := moduleRoot(t.TempDir()); err != errNoModule {
		t.Errorf("outside the module: %v", err)
	}
	for _, tc := range []struct{ gomod, want string }{
		{"module github.com/minimind-go/minimind\n\ngo 1.26\n", modulePath},
		{"// comment\nmodule \"example.com/x\"\n", "example.com/x"},
		{"go 1.26\n", ""},
	} {
		t.Run(tc.want, func(t *testing.T) {
			if got := modulePathOf(strings.NewReader(tc.gomod)); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestRunServes(t *testing.T) {
	dir := t.TempDir()
	wasm := filepath.Join(dir, "minimind.wasm")
	execJS := filepath.Join(dir, "wasm_exec.js")
	os.WriteFile(wasm, fakeRuntime.Wasm, 0o644)
	os.WriteFile(execJS, fakeRuntime.Exec, 0o644)
	model := writeTestModel(t, "tiny", "minimind2", 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan string, 1)
	var logs bytes.Buffer
	errc := make(chan error, 1)
	go func() {
		errc <- run(ctx, []string{"--addr", "127.0.0.1:0", "--model", model, "--wasm", wasm, "--wasm-exec", execJS}, &logs, ready)
	}()
	select {
	case addr := <-ready:
		resp, body := get(t, "http://"+addr+"/models/default/manifest.json", nil)
		if resp.StatusCode != 200 || !strings.Contains(string(body), "model.safetensors") {
			t.Errorf("manifest: %d %s", resp.StatusCode, body)
		}
	case err := <-errc:
		t.Fatalf("run: %v\n%s", err, logs.String())
	case <-time.After(10 * time.Second):
		t.Fatal("server did not start")
	}
	cancel()
	if err := <-errc; err != nil {
		t.Errorf("shutdown: %v", err)
	}
	if !strings.Contains(logs.String(), "MiniMind is at http://127.0.0.1:") {
		t.Errorf("log: %s", logs.String())
	}
}

func TestRunErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"--nope"}, "flag provided but not defined"},
		{"stray argument", []string{"out/model"}, "unexpected argument"},
		{"missing wasm", []string{"--wasm", "/does/not/exist.wasm"}, "exist.wasm"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := run(context.Background(), tc.args, io.Discard, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestDefaultModel(t *testing.T) {
	dir := writeTestModel(t, "tiny", "minimind2", 1)
	fsys, name, err := defaultModel(dir)
	if err != nil || fsys == nil || name != filepath.Base(dir) {
		t.Fatalf("defaultModel(%s) = %v, %q, %v", dir, fsys, name, err)
	}
	if _, _, err := defaultModel(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing --model folder is accepted")
	}
}
