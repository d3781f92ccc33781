// Command mmtrace runs one forward pass of a MiniMind model and writes every
// named intermediate (embedding, per-layer norms, q/k/v, attention scores and
// probabilities, FFN, residuals, logits) as JSON, for the tutorial site and
// for checking engines against each other.
//
//	mmtrace --model DIR --ids 1,2,3 --out trace.json
//	mmtrace --text "Hello" --out trace.json    # the embedded model, its tokenizer
//
// Without --model it traces the model mmchat would use: the newest under
// ./out, else the MiniMind-Zero model embedded in the binary.
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
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/minimind-go/minimind/engines"
	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/checkpoint"
	"github.com/minimind-go/minimind/tokenizer"
	"github.com/minimind-go/minimind/zoo"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "mmtrace:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fl := flag.NewFlagSet("mmtrace", flag.ContinueOnError)
	modelPath := fl.String("model", "", "checkpoint folder, .safetensors or .pth file (default: the newest model under ./out, else the embedded one)")
	idsFlag := fl.String("ids", "", "comma-separated token ids")
	text := fl.String("text", "", "text to encode with the model's tokenizer (instead of --ids)")
	out := fl.String("out", "-", "output JSON file (- for standard output)")
	threads := fl.Int("threads", 0, "CPU threads (0: all cores)")
	engine := fl.String("engine", "cpu", "compute engine: cpu or webgpu")
	verbose := fl.Bool("verbose", false, "report the engine (the WebGPU adapter)")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if (*idsFlag == "") == (*text == "") {
		fl.Usage()
		return errors.New("give the tokens with --ids or --text (one of them)")
	}
	dir, fsys, source, err := zoo.Resolve(*modelPath)
	if err != nil {
		return err
	}
	var cfg model.Config
	var w *model.Weights
	if fsys != nil {
		cfg, w, err = checkpoint.LoadFS(fsys, "")
	} else {
		cfg, w, err = checkpoint.Load(dir)
	}
	if err != nil {
		return fmt.Errorf("loading %s: %w", source, err)
	}
	var ids []int32
	if *text != "" {
		ids, err = encodeText(dir, fsys, *text)
	} else {
		ids, err = parseIDs(*idsFlag)
	}
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

// encodeText encodes text with the tokenizer beside the model (in the
// folder fsys, or in dir or the folder of the file dir names).
func encodeText(dir string, fsys fs.FS, text string) ([]int32, error) {
	var tok *tokenizer.Tokenizer
	var err error
	if fsys != nil {
		tok, err = tokenizer.LoadFS(fsys, ".")
	} else {
		if st, serr := os.Stat(dir); serr == nil && !st.IsDir() {
			dir = filepath.Dir(dir)
		}
		tok, err = tokenizer.Load(dir)
	}
	if err != nil {
		return nil, fmt.Errorf("--text needs the model's tokenizer: %w", err)
	}
	ids := tok.Encode(text)
	if len(ids) == 0 {
		return nil, errors.New("--text: no tokens")
	}
	return ids, nil
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
