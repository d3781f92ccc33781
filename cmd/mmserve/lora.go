package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/checkpoint"
	"github.com/minimind-go/minimind/tokenizer"
)

// withLoRA returns a model folder holding base with the adapters at path
// folded in (W + s·B·A, so the page's replies equal base + adapters) and a
// function that removes it. The browser runtime then loads it like any
// model folder.
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
