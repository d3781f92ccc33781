// Command mmtrace runs one forward pass of a MiniMind model and writes every
// named intermediate (embedding, per-layer norms, q/k/v, attention scores and
// probabilities, FFN, residuals, logits) as JSON, for the tutorial site and
// for checking engines against each other.
//
//	mmtrace --model DIR --ids 1,2,3 --out trace.json
//
// The output is {"tokens":[...], "config":{...}, "steps":[{"name", "shape",
// "data"}]}, data row-major float32; masked attention scores (-Inf) are
// written as null.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/minimind-go/minimind/engines"
	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/checkpoint"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "mmtrace:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("mmtrace", flag.ContinueOnError)
	modelPath := fs.String("model", "", "checkpoint folder, .safetensors or .pth file")
	idsFlag := fs.String("ids", "", "comma-separated token ids")
	out := fs.String("out", "-", "output JSON file (- for standard output)")
	threads := fs.Int("threads", 0, "CPU threads (0: all cores)")
	engine := fs.String("engine", "cpu", "compute engine: cpu or webgpu")
	verbose := fs.Bool("verbose", false, "report the engine (the WebGPU adapter)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *modelPath == "" || *idsFlag == "" {
		fs.Usage()
		return errors.New("--model and --ids are required")
	}
	ids, err := parseIDs(*idsFlag)
	if err != nil {
		return err
	}
	cfg, w, err := checkpoint.Load(*modelPath)
	if err != nil {
		return err
	}
	e, release, err := engines.Open(context.Background(), *engine, *threads, *verbose, os.Stderr)
	if err != nil {
		return err
	}
	defer release()
	m, err := model.New(cfg, e, w)
	if err != nil {
		return err
	}
	tr := &model.Trace{}
	if _, err := m.Forward(ids, 1, model.ForwardOptions{Trace: tr}); err != nil {
		return err
	}
	var wr io.Writer = stdout
	if *out != "-" {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		defer f.Close()
		wr = f
	}
	bw := bufio.NewWriterSize(wr, 1<<20)
	if err := tr.WriteJSON(bw, cfg, ids); err != nil {
		return err
	}
	return bw.Flush()
}

func parseIDs(s string) ([]int32, error) {
	var ids []int32
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		v, err := strconv.ParseInt(f, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("--ids: %q is not a token id", f)
		}
		ids = append(ids, int32(v))
	}
	if len(ids) == 0 {
		return nil, errors.New("--ids: no token ids")
	}
	return ids, nil
}
