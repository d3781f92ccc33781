package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/checkpoint"
	"github.com/minimind-go/minimind/native"
	"github.com/minimind-go/minimind/tokenizer"
)

// mergeLoRA folds adapters into their base model (MiniMind's
// convert_merge_base_lora) and saves a plain checkpoint folder.
func mergeLoRA(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("mmtrain merge-lora", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("from_weight", "full_sft", "base checkpoint: a path, or a save_weight name in save_dir")
	lora := fs.String("lora", "", "adapters: a LoRA run's folder, a .safetensors/.pth file with MiniMind names, or a PEFT folder")
	saveDir := fs.String("save_dir", "../out", "output folder")
	saveWeight := fs.String("save_weight", "merge", "name prefix of the merged checkpoint ({save_weight}_{hidden}[_moe])")
	hidden := fs.Int("hidden_size", 512, "hidden size, to find a save_weight name")
	useMoE := fs.Int("use_moe", 0, "1: the base's name has _moe")
	dtype := fs.String("save_dtype", "fp32", "saved weight type: fp32 or fp16 (MiniMind saves fp16)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if *lora == "" || fs.NArg() > 0 {
		return fmt.Errorf("%w: merge-lora needs --lora and no other arguments", errUsage)
	}
	if *dtype != "fp32" && *dtype != "fp16" {
		return fmt.Errorf("%w: save_dtype must be fp32 or fp16", errUsage)
	}
	c, _ := model.Preset("minimind2-small")
	c.Hidden, c.UseMoE = *hidden, *useMoE == 1
	path, err := native.FindWeights(*from, *saveDir, c)
	if err != nil {
		return fmt.Errorf("--from_weight %w", err)
	}
	cfg, base, err := checkpoint.Load(path)
	if err != nil {
		return err
	}
	ap := *lora
	if st, err := os.Stat(ap); err == nil && st.IsDir() {
		if f := native.AdapterBase(ap) + ".safetensors"; fileExists(f) { // a LoRA run's folder
			ap = f
		}
	}
	a, err := checkpoint.LoadAdapters(ap)
	if err != nil {
		return err
	}
	scale := float32(1)
	if a.Alpha != 0 {
		scale = float32(a.Alpha / float64(a.Rank))
	}
	merged, err := model.MergeLoRA(cfg, base, a.Tensors, a.Rank, scale)
	if err != nil {
		return fmt.Errorf("%s + %s: %w", path, ap, err)
	}
	out := filepath.Join(*saveDir, native.RunName(*saveWeight, cfg))
	if err := checkpoint.Save(out, cfg, merged, checkpoint.SaveOptions{DType: map[string]string{"fp32": "F32", "fp16": "F16"}[*dtype]}); err != nil {
		return err
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() { // keep the tokenizer beside the weights
		for _, n := range []string{tokenizer.TokenizerFile, tokenizer.ConfigFile} {
			if data, err := os.ReadFile(filepath.Join(path, n)); err == nil {
				if err := checkpoint.WriteFileAtomic(filepath.Join(out, n), data); err != nil {
					return err
				}
			}
		}
	}
	fmt.Fprintf(stdout, "merged %d adapters (rank %d) of %s into %s: saved %s\n", len(a.Tensors)/2, a.Rank, ap, path, out)
	return nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
