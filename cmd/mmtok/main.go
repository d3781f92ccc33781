// Command mmtok encodes, decodes, renders chats with and trains MiniMind's
// byte-level BPE tokenizer.
//
// Usage:
//
//	mmtok encode --tokenizer PATH            text on stdin → ids on one line
//	mmtok decode --tokenizer PATH            ids on stdin → text
//	mmtok chat   --tokenizer PATH            JSON conversation on stdin → rendered prompt
//	mmtok train  --data corpus.jsonl --out DIR [--vocab_size 6400]
//
// PATH is a tokenizer folder (tokenizer.json and tokenizer_config.json) or
// a tokenizer.json file; without --tokenizer, encode, decode and chat use the
// MiniMind-Zero tokenizer embedded in the binary. Run "mmtok COMMAND -h" for
// the flags of a command.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"

	"github.com/minimind-go/minimind/tokenizer"
	"github.com/minimind-go/minimind/zoo"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

const usage = `mmtok: MiniMind's byte-level BPE tokenizer

Usage:
  mmtok encode --tokenizer PATH        read text on stdin, print its ids on one line
  mmtok decode --tokenizer PATH        read ids on stdin, print the text
  mmtok chat   --tokenizer PATH        read a JSON conversation on stdin, print the prompt
  mmtok train  --data FILE --out DIR   train a tokenizer on a jsonl corpus

PATH is a tokenizer folder or a tokenizer.json file; without --tokenizer,
encode, decode and chat use the MiniMind-Zero tokenizer embedded in mmtok.
Run "mmtok COMMAND -h" for a command's flags.
`

// run executes one command and returns the exit status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, usage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmds := map[string]func(context.Context, []string, io.Reader, io.Writer, io.Writer) error{
		"encode": cmdEncode,
		"decode": cmdDecode,
		"chat":   cmdChat,
		"train":  cmdTrain,
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "mmtok: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if err := cmd(ctx, args[1:], stdin, stdout, stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		if errors.Is(err, errUsage) {
			return 2
		}
		fmt.Fprintf(stderr, "mmtok %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

// errUsage marks a flag error that the flag package has already reported.
var errUsage = errors.New("usage")

// newFlags makes the flag set of a command.
func newFlags(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("mmtok "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: mmtok %s %s\n\nFlags:\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags, turning flag errors into errUsage.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "mmtok: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return errUsage
	}
	return nil
}

// loadTokenizer loads the --tokenizer flag's tokenizer; without one, the
// MiniMind-Zero tokenizer embedded in the binary.
func loadTokenizer(path string) (*tokenizer.Tokenizer, error) {
	if path == "" {
		return tokenizer.LoadFS(zoo.Tokenizer(), ".")
	}
	return tokenizer.Load(path)
}

func cmdEncode(_ context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("encode", "--tokenizer PATH < text", stderr)
	path := fs.String("tokenizer", "", "tokenizer folder or tokenizer.json `path` (default: the embedded MiniMind-Zero tokenizer)")
	jsonl := fs.Bool("jsonl", false, "read a jsonl corpus ({\"text\"} or {\"conversations\"} lines) and print one JSON list of ids per text")
	if err := parse(fs, args); err != nil {
		return err
	}
	tok, err := loadTokenizer(*path)
	if err != nil {
		return err
	}
	if *jsonl {
		return encodeJSONL(tok, stdin, stdout)
	}
	text, err := io.ReadAll(stdin)
	if err != nil {
		return fmt.Errorf("reading stdin: %w", err)
	}
	ids := tok.Encode(string(text))
	w := bufio.NewWriter(stdout)
	for i, id := range ids {
		if i > 0 {
			w.WriteByte(' ')
		}
		w.WriteString(strconv.Itoa(int(id)))
	}
	w.WriteByte('\n')
	return w.Flush()
}

// encodeJSONL encodes every text of a jsonl corpus, in batches over all
// cores, writing one JSON list of ids a line.
func encodeJSONL(tok *tokenizer.Tokenizer, stdin io.Reader, stdout io.Writer) error {
	w := bufio.NewWriter(stdout)
	var batch []string
	size := 0
	flush := func() error {
		for _, ids := range tok.EncodeBatch(batch) {
			w.WriteByte('[')
			for i, id := range ids {
				if i > 0 {
					w.WriteByte(',')
				}
				w.WriteString(strconv.Itoa(int(id)))
			}
			w.WriteString("]\n")
		}
		batch, size = batch[:0], 0
		return nil
	}
	for text, err := range tokenizer.JSONLTexts(stdin, "stdin") {
		if err != nil {
			return err
		}
		batch = append(batch, text)
		size += len(text)
		if size > 4<<20 {
			flush()
		}
	}
	flush()
	return w.Flush()
}

// parseIDs reads ids separated by whitespace or commas, optionally inside
// [ ] as a JSON array.
func parseIDs(data []byte) ([]int32, error) {
	s := strings.TrimSpace(string(data))
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' || r == '\r' })
	ids := make([]int32, 0, len(fields))
	for i, f := range fields {
		n, err := strconv.ParseInt(f, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("id %d: %q is not a token id", i+1, f)
		}
		ids = append(ids, int32(n))
	}
	return ids, nil
}

func cmdDecode(_ context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("decode", "--tokenizer PATH < ids", stderr)
	path := fs.String("tokenizer", "", "tokenizer folder or tokenizer.json `path` (default: the embedded MiniMind-Zero tokenizer)")
	skip := fs.Bool("skip-special", false, "leave out special tokens")
	if err := parse(fs, args); err != nil {
		return err
	}
	tok, err := loadTokenizer(*path)
	if err != nil {
		return err
	}
	data, err := io.ReadAll(stdin)
	if err != nil {
		return fmt.Errorf("reading stdin: %w", err)
	}
	ids, err := parseIDs(data)
	if err != nil {
		return err
	}
	for i, id := range ids {
		if id < 0 || int(id) >= tok.VocabSize() {
			return fmt.Errorf("id %d: %d is outside the vocabulary (0..%d)", i+1, id, tok.VocabSize()-1)
		}
	}
	text := tok.Decode(ids)
	if *skip {
		text = tok.DecodeSkipSpecial(ids)
	}
	_, err = io.WriteString(stdout, text)
	return err
}

// varFlags collects --var key=value flags.
type varFlags map[string]any

// String is part of flag.Value.
func (v varFlags) String() string { return "" }

// Set adds one key=value.
func (v varFlags) Set(s string) error {
	k, val, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("want key=value, got %q", s)
	}
	var x any
	if err := json.Unmarshal([]byte(val), &x); err != nil {
		x = val // not JSON: a string
	}
	v[k] = x
	return nil
}

func cmdChat(_ context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("chat", "--tokenizer PATH < conversation.json", stderr)
	path := fs.String("tokenizer", "", "tokenizer folder or tokenizer.json `path` (default: the embedded MiniMind-Zero tokenizer)")
	gen := fs.Bool("add_generation_prompt", false, "end with the start of the assistant's turn")
	ids := fs.Bool("ids", false, "print the ids of the prompt instead of its text")
	vars := varFlags{}
	fs.Var(vars, "var", "extra template variable `key=value` (value as JSON, e.g. enable_thinking=false); repeatable")
	fs.Usage = func() {
		fmt.Fprintf(stderr, `Usage: mmtok chat --tokenizer PATH < conversation.json

The conversation is a JSON array of messages ({"role", "content",
"reasoning_content", "tool_calls"}), or an object with "messages" (or
"conversations", as in MiniMind's SFT data) and optionally "tools",
"add_generation_prompt" and other template variables.

Flags:
`)
		fs.PrintDefaults()
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	tok, err := loadTokenizer(*path)
	if err != nil {
		return err
	}
	data, err := io.ReadAll(stdin)
	if err != nil {
		return fmt.Errorf("reading stdin: %w", err)
	}
	data = bytes.TrimSpace(data)
	opts := tokenizer.ChatOptions{AddGenerationPrompt: *gen, Vars: map[string]any{}}
	var messages json.RawMessage
	switch {
	case len(data) > 0 && data[0] == '[':
		messages = data
	case len(data) > 0 && data[0] == '{':
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(data, &obj); err != nil {
			return fmt.Errorf("stdin: %w", err)
		}
		for k, v := range obj {
			switch k {
			case "messages", "conversations":
				messages = v
			case "tools":
				var tools []json.RawMessage
				if err := json.Unmarshal(v, &tools); err != nil {
					return fmt.Errorf("stdin: tools: want a list: %w", err)
				}
				for _, t := range tools {
					opts.Tools = append(opts.Tools, t)
				}
			case "add_generation_prompt":
				if err := json.Unmarshal(v, &opts.AddGenerationPrompt); err != nil {
					return fmt.Errorf("stdin: add_generation_prompt: %w", err)
				}
				opts.AddGenerationPrompt = opts.AddGenerationPrompt || *gen
			default:
				opts.Vars[k] = v
			}
		}
		if messages == nil {
			return errors.New(`stdin: the object has no "messages" or "conversations"`)
		}
	default:
		return errors.New("stdin: want a JSON array of messages or an object with \"messages\"")
	}
	if !json.Valid(messages) {
		return errors.New("stdin: the messages are not valid JSON")
	}
	for k, v := range vars {
		opts.Vars[k] = v
	}
	text, err := tok.ApplyChatTemplateJSON(messages, opts)
	if err != nil {
		return err
	}
	if *ids {
		w := bufio.NewWriter(stdout)
		for i, id := range tok.Encode(text) {
			if i > 0 {
				w.WriteByte(' ')
			}
			w.WriteString(strconv.Itoa(int(id)))
		}
		w.WriteByte('\n')
		return w.Flush()
	}
	_, err = io.WriteString(stdout, text)
	return err
}

func cmdTrain(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("train", "--data corpus.jsonl --out DIR [--vocab_size 6400]", stderr)
	data := fs.String("data", "", "training corpus `file`: jsonl with {\"text\"} or {\"conversations\"} lines")
	out := fs.String("out", "", "output `folder` for tokenizer.json and tokenizer_config.json")
	vocab := fs.Int("vocab_size", 6400, "vocabulary size, special tokens and the 256 byte symbols included")
	minFreq := fs.Int64("min_frequency", 0, "stop when the best pair occurs fewer times")
	lines := fs.Bool("lines", false, "read --data as plain text, one sequence per line (as Hugging Face's train(files))")
	special := fs.String("special_tokens", strings.Join(tokenizer.MiniMindSpecialTokens, ","), "comma-separated special `tokens`, first in the vocabulary")
	seen := fs.Bool("seen_alphabet", false, "only put the byte symbols the corpus uses in the vocabulary (Hugging Face's default) instead of all 256")
	quiet := fs.Bool("quiet", false, "no progress bar")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *data == "" || *out == "" {
		fs.Usage()
		return errors.New("--data and --out are required")
	}
	specials := []string{}
	if *special != "" {
		specials = strings.Split(*special, ",")
	}
	if *vocab <= len(specials) || *vocab >= 1<<24 {
		return fmt.Errorf("--vocab_size %d is out of range", *vocab)
	}
	f, err := os.Open(*data)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	texts := tokenizer.JSONLTexts(f, *data)
	if *lines {
		texts = tokenizer.LineTexts(f)
	}
	bar := &progressBar{w: stderr, size: st.Size(), quiet: *quiet}
	start := time.Now()
	tok, err := tokenizer.Train(ctx, texts, tokenizer.TrainOptions{
		VocabSize:        *vocab,
		MinFrequency:     *minFreq,
		SpecialTokens:    specials,
		SeenAlphabetOnly: *seen,
		Progress:         bar.update,
	})
	bar.done()
	if err != nil {
		return err
	}
	if err := tok.Save(*out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "trained %d tokens (%d merges) in %.1fs, wrote %s\n", tok.VocabSize(), len(tok.Merges()), time.Since(start).Seconds(), *out)
	return nil
}

// progressBar draws training progress on one line of stderr.
type progressBar struct {
	w     io.Writer
	size  int64 // bytes of the corpus file
	quiet bool
	last  time.Time
	drawn bool
}

func (b *progressBar) update(p tokenizer.TrainProgress) {
	if b.quiet || time.Since(b.last) < 100*time.Millisecond && !(p.Stage == "merge" && p.Done >= p.Total) {
		return
	}
	b.last = time.Now()
	var frac float64
	var label string
	switch p.Stage {
	case "count":
		if b.size > 0 {
			frac = float64(p.Bytes) / float64(b.size)
		}
		label = fmt.Sprintf("counting words  %6.1f MB, %d texts", float64(p.Bytes)/1e6, p.Texts)
	default:
		if p.Total > 0 {
			frac = float64(p.Done) / float64(p.Total)
		}
		label = fmt.Sprintf("merging  %d/%d tokens, %d words", p.Done, p.Total, p.Words)
	}
	frac = min(max(frac, 0), 1)
	const width = 30
	n := int(frac * width)
	fmt.Fprintf(b.w, "\r[%s%s] %3.0f%% %s\x1b[K", strings.Repeat("#", n), strings.Repeat(".", width-n), frac*100, label)
	b.drawn = true
}

func (b *progressBar) done() {
	if b.drawn {
		fmt.Fprintln(b.w)
	}
}
