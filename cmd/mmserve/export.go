package main

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// exportSite writes everything the server serves into dir as plain files,
// so that any static file server hosts the chat (index.html), the tutorial
// (learn/), the runtime (minimind.wasm, wasm_exec.js, minimind.js,
// minimind-worker.js) and the default model (models/default/ with its
// manifest.json). It returns the number of files and bytes written.
func exportSite(dir string, o serverOptions) (files int, bytes int64, err error) {
	s, err := newServer(o)
	if err != nil {
		return 0, 0, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, 0, fmt.Errorf("--export: %w", err)
	}
	write := func(name string, data []byte) error {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return fmt.Errorf("--export: %w", err)
		}
		files++
		bytes += int64(len(data))
		return nil
	}
	copyFS := func(fsys fs.FS, prefix string) error {
		return fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := fs.ReadFile(fsys, name)
			if err != nil {
				return err
			}
			return write(prefix+name, data)
		})
	}
	if err := copyFS(s.opt.Site, ""); err != nil {
		return files, bytes, err
	}
	if err := copyFS(s.opt.Web, ""); err != nil {
		return files, bytes, err
	}
	if err := write(wasmPath[1:], s.opt.Wasm); err != nil {
		return files, bytes, err
	}
	if err := write(wasmExecPath[1:], s.opt.WasmExec); err != nil {
		return files, bytes, err
	}
	if s.opt.Model == nil {
		return files, bytes, nil
	}
	prefix := modelPrefix[1:]
	if err := write(prefix+manifestName, s.manifest); err != nil {
		return files, bytes, err
	}
	names := make([]string, 0, len(s.files))
	for n := range s.files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		f, err := s.opt.Model.Open(n)
		if err != nil {
			return files, bytes, fmt.Errorf("default model %s: %w", o.ModelName, err)
		}
		data, err := io.ReadAll(f)
		f.Close()
		if err != nil {
			return files, bytes, fmt.Errorf("default model %s: reading %s: %w", o.ModelName, n, err)
		}
		if err := write(prefix+n, data); err != nil {
			return files, bytes, err
		}
	}
	return files, bytes, nil
}
