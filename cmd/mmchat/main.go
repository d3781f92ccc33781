// Command mmchat talks to a MiniMind model in the terminal.
//
//	mmchat                      the newest model under ./out (full_sft_*, else pretrain_*),
//	                            else the embedded MiniMind-Zero model
//	mmchat --model DIR          a model folder (config.json, model.safetensors or .pth, tokenizer files)
//	echo "who are you?" | mmchat    one user message per input line, one reply per output line
//	mmchat --ids --model DIR    token ids in, token ids out (no tokenizer needed)
//	mmchat --model FILE.gguf    a GGUF file (llama.cpp's llama / qwen3 / qwen3moe; f32, f16, q8_0, q4_0)
//	mmchat --dtype q8_0         weights on the CPU engine: f32, f16 (default), q8_0 or q4_0
//
// In a terminal, /clear forgets the conversation and /quit (or Ctrl-D) ends it.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/minimind-go/minimind/chat"
	"github.com/minimind-go/minimind/engines"
	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/checkpoint"
	"github.com/minimind-go/minimind/model/cpu"
	"github.com/minimind-go/minimind/progress"
	"github.com/minimind-go/minimind/tokenizer"
	"github.com/minimind-go/minimind/zoo"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, progress.IsTerminal(os.Stdin)); err != nil {
		fmt.Fprintln(os.Stderr, "mmchat:", err)
		os.Exit(1)
	}
}

type flags struct {
	model, system             string
	maxTokens, topK, threads  int
	temperature, topP, repPen float64
	seed                      uint64
	greedy, ids, verbose      bool
	history, think            bool
	engine, dtype             string
	lora                      string
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, interactive bool) error {
	var f flags
	fs := flag.NewFlagSet("mmchat", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.model, "model", "", "model folder, checkpoint or .gguf file (default: newest under ./out, else the embedded MiniMind-Zero)")
	fs.StringVar(&f.system, "system", "", "system prompt")
	fs.IntVar(&f.maxTokens, "max-tokens", 512, "new tokens per reply at most")
	fs.Float64Var(&f.temperature, "temperature", 0.85, "sampling temperature (0: greedy)")
	fs.Float64Var(&f.topP, "top-p", 0.85, "nucleus sampling threshold")
	fs.IntVar(&f.topK, "top-k", 0, "keep the k most likely tokens (0: all)")
	fs.Float64Var(&f.repPen, "repetition-penalty", 1.0, "penalty for tokens already in the context (1: off)")
	fs.Uint64Var(&f.seed, "seed", 0, "random seed (replies are reproducible for a seed)")
	fs.BoolVar(&f.greedy, "greedy", false, "always pick the most likely token")
	fs.BoolVar(&f.ids, "ids", false, "read token ids and print token ids (raw model, no chat template)")
	fs.BoolVar(&f.history, "history", false, "keep the conversation between input lines when not in a terminal")
	fs.BoolVar(&f.think, "think", false, "ask a MiniMind-3 model to reason first")
	fs.BoolVar(&f.verbose, "verbose", false, "print the model source and speed")
	fs.IntVar(&f.threads, "threads", 0, "CPU threads (0: all cores)")
	fs.StringVar(&f.engine, "engine", "cpu", "compute engine: cpu or webgpu")
	fs.StringVar(&f.lora, "lora", "", "apply LoRA adapters without merging (a LoRA run's folder, .safetensors/.pth, or a PEFT folder)")
	fs.StringVar(&f.dtype, "dtype", "f16", "weights on the CPU engine: f32, f16, q8_0 or q4_0")
	if err := fs.Parse(args); err != nil {
		return err
	}
	dtype, err := weightType(fs, &f)
	if err != nil {
		return err
	}
	e, release, err := engines.Open(ctx, f.engine, f.threads, f.verbose, stderr)
	if err != nil {
		return err
	}
	defer release()
	sample := model.SampleOptions{Temperature: float32(f.temperature), TopP: float32(f.topP), TopK: f.topK, RepetitionPenalty: float32(f.repPen)}
	if f.greedy {
		sample = model.SampleOptions{RepetitionPenalty: float32(f.repPen)}
	}
	if f.ids {
		return runIDs(ctx, f, e, sample, stdin, stdout)
	}
	bot, source, err := zoo.LoadBot(f.model, e)
	if err != nil {
		return err
	}
	if dtype != "" {
		if err := cpu.QuantizeWeights(bot.Model, dtype); err != nil {
			return err
		}
	}
	if f.engine == "cpu" {
		debug.SetGCPercent(cpu.InferenceGCPercent) // resident memory ≈ weights + KV cache + the program
	}
	if f.lora != "" {
		n, err := bot.ApplyLoRA(f.lora)
		if err != nil {
			return err
		}
		source += fmt.Sprintf(" + LoRA %s (%d layers)", f.lora, n)
	}
	if interactive || f.verbose {
		fmt.Fprintf(stderr, "MiniMind %s (%.1fM parameters) from %s — /clear resets, /quit ends.\n",
			bot.Model.Config.Family, float64(bot.Model.Config.ParamCount())/1e6, source)
	}
	opt := chat.Options{MaxTokens: f.maxTokens, Sample: sample, Seed: f.seed, Thinking: f.think}
	var hist []tokenizer.Message
	sc := bufio.NewScanner(stdin)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for {
		if interactive {
			fmt.Fprint(stdout, "\n> ")
		}
		if !sc.Scan() {
			if interactive {
				fmt.Fprintln(stdout)
			}
			return sc.Err()
		}
		line := strings.TrimSpace(sc.Text())
		switch line {
		case "":
			continue
		case "/quit", "/exit":
			return nil
		case "/clear":
			hist = nil
			continue
		}
		var msgs []tokenizer.Message
		if f.system != "" {
			msgs = append(msgs, tokenizer.Message{Role: "system", Content: f.system})
		}
		if interactive || f.history {
			msgs = append(msgs, hist...)
		}
		msgs = append(msgs, tokenizer.Message{Role: "user", Content: line})
		var onText func(string) error
		if interactive {
			onText = func(s string) error { _, err := io.WriteString(stdout, s); return err }
		}
		r, err := bot.Generate(ctx, msgs, opt, onText)
		if err != nil {
			if errors.Is(err, context.Canceled) {
				fmt.Fprintln(stdout)
				return nil
			}
			return err
		}
		if interactive {
			fmt.Fprintln(stdout)
		} else {
			// One reply per line: newlines inside a reply are written as \n.
			fmt.Fprintln(stdout, strings.ReplaceAll(strings.TrimSpace(r.Text), "\n", `\n`))
		}
		if f.verbose {
			fmt.Fprintf(stderr, "[%d prompt tokens, %d new, prefill %v, %.1f tokens/s]\n", r.PromptTokens, len(r.Tokens), r.Prefill.Round(1e6), r.TokensPerSecond())
		}
		hist = append(hist, tokenizer.Message{Role: "user", Content: line}, tokenizer.Message{Role: "assistant", Content: r.Text})
	}
}

// weightType returns the CPU weight type --dtype selects: f16 by default on
// the CPU engine; on another engine only f32 (or no flag) is accepted. It
// clears f.dtype when the weights stay as loaded.
func weightType(fs *flag.FlagSet, f *flags) (cpu.DType, error) {
	set := false
	fs.Visit(func(fl *flag.Flag) { set = set || fl.Name == "dtype" })
	d, err := cpu.ParseDType(f.dtype)
	if err != nil {
		return "", err
	}
	if f.engine != "cpu" {
		if set && d != "f32" {
			return "", fmt.Errorf("--dtype %s needs the CPU engine (--engine cpu)", d)
		}
		f.dtype = ""
		return "", nil
	}
	if d == "f32" {
		f.dtype = ""
		return "", nil
	}
	return d, nil
}

// runIDs generates from raw token ids, one prompt per input line.
func runIDs(ctx context.Context, f flags, e model.Engine, sample model.SampleOptions, stdin io.Reader, stdout io.Writer) error {
	if f.model == "" {
		return errors.New("--ids needs --model")
	}
	cfg, w, err := checkpoint.Load(f.model)
	if err != nil {
		return err
	}
	m, err := model.New(cfg, e, w)
	if err != nil {
		return err
	}
	if f.dtype != "" {
		if err := cpu.QuantizeWeights(m, cpu.DType(f.dtype)); err != nil {
			return err
		}
	}
	if f.lora != "" {
		a, err := checkpoint.LoadAdapters(f.lora)
		if err != nil {
			return err
		}
		if _, err := model.LoadLoRA(m, a.Tensors, a.Shapes, model.LoRAOptions{Alpha: a.Alpha}); err != nil {
			return fmt.Errorf("--lora %s: %w", f.lora, err)
		}
	}
	sc := bufio.NewScanner(stdin)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var ids []int32
		for _, s := range strings.FieldsFunc(sc.Text(), func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
			v, err := strconv.ParseInt(s, 10, 32)
			if err != nil {
				return fmt.Errorf("%q is not a token id", s)
			}
			ids = append(ids, int32(v))
		}
		if len(ids) == 0 {
			continue
		}
		out, err := m.Generate(ctx, ids, model.GenerateOptions{MaxTokens: f.maxTokens, Sample: sample, Seed: f.seed})
		if err != nil {
			return err
		}
		strs := make([]string, len(out))
		for i, id := range out {
			strs[i] = strconv.Itoa(int(id))
		}
		fmt.Fprintln(stdout, strings.Join(strs, " "))
	}
	return sc.Err()
}
