package main

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/minimind-go/minimind/wasm/web"
)

// Paths the server answers besides the site's own files.
const (
	wasmPath     = "/minimind.wasm"
	wasmExecPath = "/wasm_exec.js"
	modelPrefix  = "/models/default/"
	manifestName = "manifest.json"
	learnPath    = "/learn/" // the tutorial (site's learn/)
)

// serverOptions are what the server serves.
type serverOptions struct {
	Site fs.FS // the chat page: index.html, app.js, style.css, ...
	Web  fs.FS // minimind.js and minimind-worker.js (package web)
	// Wasm is the browser runtime (package main in wasm/ built for js/wasm)
	// and WasmExec the wasm_exec.js of the toolchain that built it.
	Wasm, WasmExec []byte
	// Model is the default model's folder; nil serves none (the page then
	// asks for a folder or a URL). ModelName describes it.
	Model     fs.FS
	ModelName string
	// API, when set, answers the paths under /v1/ (package serve).
	API http.Handler
}

// manifest lists the default model's files so that the browser knows their
// sizes before downloading (for the memory check and the progress bar) and
// can key its cache by content.
type manifest struct {
	Name  string         `json:"name"`
	Files []manifestFile `json:"files"`
}

type manifestFile struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// server serves the site, the runtime and the default model.
type server struct {
	opt      serverOptions
	wasmGz   []byte
	wasmTag  string
	execTag  string
	manifest []byte
	files    map[string]manifestFile
	started  time.Time
}

// modelFileNames says which files of a model folder are served.
func modelFileName(name string) bool {
	switch name {
	case "config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "adapter_config.json":
		return true
	}
	return strings.HasSuffix(name, ".pth") || strings.HasSuffix(name, ".safetensors")
}

// newServer prepares the runtime's compressed form and the default model's
// manifest (hashing its files).
func newServer(o serverOptions) (*server, error) {
	if o.Web == nil {
		o.Web = web.FS()
	}
	s := &server{opt: o, files: map[string]manifestFile{}, started: time.Now()}
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	zw.Write(o.Wasm)
	zw.Close()
	s.wasmGz = gz.Bytes()
	s.wasmTag = etag(o.Wasm)
	s.execTag = etag(o.WasmExec)
	if o.Model == nil {
		return s, nil
	}
	entries, err := fs.ReadDir(o.Model, ".")
	if err != nil {
		return nil, fmt.Errorf("default model %s: %w", o.ModelName, err)
	}
	m := manifest{Name: o.ModelName}
	for _, e := range entries {
		if e.IsDir() || !modelFileName(e.Name()) {
			continue
		}
		f, err := o.Model.Open(e.Name())
		if err != nil {
			return nil, fmt.Errorf("default model %s: %w", o.ModelName, err)
		}
		h := sha256.New()
		n, err := io.Copy(h, f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("default model %s: reading %s: %w", o.ModelName, e.Name(), err)
		}
		mf := manifestFile{Name: e.Name(), Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}
		m.Files = append(m.Files, mf)
		s.files[mf.Name] = mf
	}
	sort.Slice(m.Files, func(i, j int) bool { return m.Files[i].Name < m.Files[j].Name })
	if _, ok := s.files["tokenizer.json"]; !ok {
		return nil, fmt.Errorf("default model %s has no tokenizer.json", o.ModelName)
	}
	if s.manifest, err = json.MarshalIndent(m, "", "  "); err != nil {
		return nil, err
	}
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.opt.API != nil && strings.HasPrefix(r.URL.Path, "/v1/") {
		s.opt.API.ServeHTTP(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	// Revalidate everything (ETags make that cheap); the browser's Cache
	// Storage keeps model files by content hash.
	h.Set("Cache-Control", "no-cache")
	p := r.URL.Path
	switch {
	case p == wasmPath:
		s.serveWasm(w, r)
	case p == wasmExecPath:
		h.Set("Content-Type", "text/javascript; charset=utf-8")
		h.Set("ETag", s.execTag)
		http.ServeContent(w, r, "wasm_exec.js", s.started, bytes.NewReader(s.opt.WasmExec))
	case p == "/"+web.ModuleFile || p == "/"+web.WorkerFile:
		serveStatic(w, r, s.opt.Web, strings.TrimPrefix(p, "/"), s.started)
	case strings.HasPrefix(p, modelPrefix):
		s.serveModel(w, r, strings.TrimPrefix(p, modelPrefix))
	case p == "/learn" || p == learnPath || p == learnPath+"index.html":
		s.serveLearn(w, r)
	default:
		s.serveSite(w, r)
	}
}

func (s *server) serveWasm(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/wasm")
	h.Set("Vary", "Accept-Encoding")
	if acceptsGzip(r) {
		h.Set("Content-Encoding", "gzip")
		h.Set("ETag", strings.TrimSuffix(s.wasmTag, `"`)+`-gz"`)
		http.ServeContent(w, r, "minimind.wasm", s.started, bytes.NewReader(s.wasmGz))
		return
	}
	h.Set("ETag", s.wasmTag)
	http.ServeContent(w, r, "minimind.wasm", s.started, bytes.NewReader(s.opt.Wasm))
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.TrimSpace(enc) == "gzip" && strings.ReplaceAll(q, " ", "") != "q=0" {
			return true
		}
	}
	return false
}

func (s *server) serveModel(w http.ResponseWriter, r *http.Request, name string) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	if s.opt.Model == nil {
		http.Error(w, "this server has no default model; start mmserve with --model DIR", http.StatusNotFound)
		return
	}
	if name == manifestName {
		h.Set("Content-Type", "application/json")
		h.Set("ETag", etag(s.manifest))
		http.ServeContent(w, r, manifestName, s.started, bytes.NewReader(s.manifest))
		return
	}
	mf, ok := s.files[name]
	if !ok || path.Base(name) != name {
		http.NotFound(w, r)
		return
	}
	h.Set("ETag", `"`+mf.SHA256+`"`)
	if strings.HasSuffix(name, ".json") {
		h.Set("Content-Type", "application/json")
	} else {
		h.Set("Content-Type", "application/octet-stream")
	}
	http.ServeFileFS(w, r, s.opt.Model, name)
}

func (s *server) serveSite(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
	if name == "" {
		name = "index.html"
	}
	serveStatic(w, r, s.opt.Site, name, s.started)
}

// serveStatic serves a small file of fsys with a content hash as its ETag.
func serveStatic(w http.ResponseWriter, r *http.Request, fsys fs.FS, name string, modtime time.Time) {
	data, err := fs.ReadFile(fsys, name)
	if err != nil { // missing, or a folder
		http.NotFound(w, r)
		return
	}
	w.Header().Set("ETag", etag(data))
	http.ServeContent(w, r, name, modtime, bytes.NewReader(data))
}

func etag(data []byte) string {
	sum := sha256.Sum256(data)
	return `"` + hex.EncodeToString(sum[:12]) + `"`
}

// serveLearn serves the tutorial's page at /learn/ (and sends /learn there
// first, so that its relative links resolve).
func (s *server) serveLearn(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != learnPath {
		http.Redirect(w, r, learnPath, http.StatusMovedPermanently)
		return
	}
	serveStatic(w, r, s.opt.Site, "learn/index.html", s.started)
}
