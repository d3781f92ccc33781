package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/checkpoint"
	"github.com/minimind-go/minimind/tokenizer"
)

// withLoRA returns a model folder holding base with the adapters at path
// folded in (W + s·B·A) and a function that removes it. The API's
// batched CPU model serves it; the page gets the adapters unmerged (see
// withAdapters).
func withLoRA(base fs.FS, path string) (fs.FS, func(), error) {
	cfg, w, err := checkpoint.LoadFS(base, "")
	if err != nil {
		return nil, nil, err
	}
	a, err := checkpoint.LoadAdapters(path)
	if err != nil {
		return nil, nil, fmt.Errorf("--lora: %w", err)
	}
	scale := float32(1)
	if a.Alpha != 0 {
		scale = float32(a.Alpha / float64(a.Rank))
	}
	merged, err := model.MergeLoRA(cfg, w, a.Tensors, a.Rank, scale)
	if err != nil {
		return nil, nil, fmt.Errorf("--lora %s: %w", path, err)
	}
	dir, err := os.MkdirTemp("", "mmserve-lora")
	if err != nil {
		return nil, nil, err
	}
	cleanup := func() { os.RemoveAll(dir) }
	if err := checkpoint.Save(dir, cfg, merged, checkpoint.SaveOptions{}); err != nil {
		cleanup()
		return nil, nil, err
	}
	for _, n := range []string{tokenizer.TokenizerFile, tokenizer.ConfigFile} {
		data, err := fs.ReadFile(base, n)
		if err != nil {
			cleanup()
			return nil, nil, fmt.Errorf("--lora: the base model's %s: %w", n, err)
		}
		if err := os.WriteFile(filepath.Join(dir, n), data, 0o644); err != nil {
			cleanup()
			return nil, nil, err
		}
	}
	return os.DirFS(dir), cleanup, nil
}

// adapterFiles are the files the browser runtime reads LoRA adapters from
// beside a model (PEFT's names; see package session).
var adapterFiles = []string{checkpoint.PEFTWeightsFile, checkpoint.PEFTConfigFile}

// withAdapters returns base with the adapters at path (any form
// checkpoint.LoadAdapters reads) served beside it as adapter_model.safetensors
// and adapter_config.json, which the browser runtime applies in the forward
// pass without merging, and a function that removes the written files. The
// adapters are checked against the model first.
func withAdapters(base fs.FS, path string) (fs.FS, func(), error) {
	a, err := checkpoint.LoadAdapters(path)
	if err != nil {
		return nil, nil, fmt.Errorf("--lora: %w", err)
	}
	cfg, w, err := checkpoint.LoadFS(base, "")
	if err != nil {
		return nil, nil, err
	}
	if _, err := model.MergeLoRA(cfg, w, a.Tensors, a.Rank, 1); err != nil { // shapes and names fit
		return nil, nil, fmt.Errorf("--lora %s: %w", path, err)
	}
	dir, err := os.MkdirTemp("", "mmserve-lora")
	if err != nil {
		return nil, nil, err
	}
	cleanup := func() { os.RemoveAll(dir) }
	if err := checkpoint.SaveAdapters(filepath.Join(dir, "lora"), a); err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("--lora: %w", err)
	}
	o := overlayFS{base: base, extra: map[string]string{}}
	for _, n := range adapterFiles {
		o.extra[n] = filepath.Join(dir, "lora_peft", n)
	}
	return o, cleanup, nil
}

// overlayFS is base with extra files (name → path on disk) added to its
// top folder, replacing files of the same name.
type overlayFS struct {
	base  fs.FS
	extra map[string]string
}

// Open implements fs.FS.
func (o overlayFS) Open(name string) (fs.File, error) {
	if p, ok := o.extra[name]; ok {
		return os.Open(p)
	}
	return o.base.Open(name)
}

// ReadDir implements fs.ReadDirFS.
func (o overlayFS) ReadDir(name string) ([]fs.DirEntry, error) {
	entries, err := fs.ReadDir(o.base, name)
	if err != nil || name != "." {
		return entries, err
	}
	entries = slices.DeleteFunc(entries, func(e fs.DirEntry) bool { _, ok := o.extra[e.Name()]; return ok })
	for n, p := range o.extra {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		entries = append(entries, renamed{fs.FileInfoToDirEntry(st), n})
	}
	slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return entries, nil
}

// renamed is a directory entry shown under another name.
type renamed struct {
	fs.DirEntry
	name string
}

func (r renamed) Name() string { return r.name }

// loraModels applies --lora: the page's default model becomes o.Model with
// the adapters beside it (withAdapters) and, when api is set, the API's
// model is the merged copy (withLoRA); otherwise the API's model is the
// page's. cleanup removes what they wrote.
func loraModels(o *serverOptions, path string, api bool) (apiModel fs.FS, cleanup func(), err error) {
	served, c1, err := withAdapters(o.Model, path)
	if err != nil {
		return nil, nil, err
	}
	apiModel, cleanup = served, c1
	if api {
		merged, c2, err := withLoRA(o.Model, path)
		if err != nil {
			c1()
			return nil, nil, err
		}
		apiModel, cleanup = merged, func() { c1(); c2() }
	}
	o.Model = served
	o.ModelName += " + LoRA " + filepath.Base(path)
	return apiModel, cleanup, nil
}
