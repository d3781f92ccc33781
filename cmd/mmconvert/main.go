// Command mmconvert writes a MiniMind model in the formats other tools run.
//
//	mmconvert gguf --model DIR --out FILE.gguf [--type f32|f16|q8_0|q4_0]
//	        GGUF v3 for llama.cpp and ollama, with an ollama Modelfile beside it
//	mmconvert hf --model DIR --out DIR2 [--dtype f16|bf16|f32]
//	        a transformers / vLLM folder (LlamaForCausalLM, Qwen3ForCausalLM, Qwen3MoeForCausalLM)
//	mmconvert pth --model DIR --out FILE.pth
//	        MiniMind's own fp16 state dict, for MiniMind's Python scripts
//
// --model takes a model folder, a .pth inside one, or a .gguf file; without
// it the newest model under ./out is used, else the embedded MiniMind-Zero.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/minimind-go/minimind/convert"
	"github.com/minimind-go/minimind/model/gguf"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "mmconvert:", err)
		os.Exit(1)
	}
}

const usage = `usage: mmconvert gguf|hf|pth --model DIR --out PATH [flags]
  gguf  GGUF v3 for llama.cpp / ollama (--type f32|f16|q8_0|q4_0, default f16; writes a Modelfile beside it)
  hf    a transformers / vLLM folder (--dtype f16|bf16|f32, default f16)
  pth   MiniMind's fp16 .pth state dict
Run "mmconvert VERB -h" for a verb's flags.`

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(stderr, usage)
		if len(args) == 0 {
			return errors.New("no verb given")
		}
		return nil
	}
	verb := args[0]
	fs := flag.NewFlagSet("mmconvert "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	modelPath := fs.String("model", "", "model folder, .pth or .gguf (default: newest under ./out, else the embedded MiniMind-Zero)")
	out := fs.String("out", "", "output path")
	var typ, dtype, name *string
	var modelfile *bool
	switch verb {
	case "gguf":
		typ = fs.String("type", "f16", "tensor type of the matrices: f32, f16, q8_0 or q4_0")
		name = fs.String("name", "MiniMind", "general.name in the metadata")
		modelfile = fs.Bool("modelfile", true, "also write an ollama Modelfile beside the file")
	case "hf":
		dtype = fs.String("dtype", "f16", "weight type: f16, bf16 or f32")
	case "pth":
	default:
		fmt.Fprintln(stderr, usage)
		return fmt.Errorf("unknown verb %q", verb)
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("--out is required")
	}
	src, err := convert.Load(*modelPath)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "MiniMind %s, %.1fM parameters, from %s\n", src.Config.Family, float64(src.Config.ParamCount())/1e6, src.From)
	switch verb {
	case "gguf":
		tt, err := gguf.ParseTensorType(*typ)
		if err != nil {
			return err
		}
		mf, err := convert.WriteGGUF(src, *out, convert.GGUFOptions{Type: tt, Name: *name, Modelfile: *modelfile})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s\n", *out)
		if mf != "" {
			fmt.Fprintf(stdout, "wrote %s (ollama create minimind -f %s)\n", mf, mf)
		}
	case "hf":
		if err := convert.WriteHF(src, *out, convert.HFOptions{DType: strings.ToUpper(*dtype)}); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s\n", *out)
	case "pth":
		if err := convert.WritePTH(src, *out); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s\n", *out)
	}
	return nil
}
