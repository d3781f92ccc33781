package session

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/checkpoint"
	"github.com/minimind-go/minimind/model/cpu"
	"github.com/minimind-go/minimind/tokenizer"
)

// fixtureDir is MiniMind's real tokenizer of a generation, beside the checkout.
func fixtureDir(t testing.TB, family string) string {
	t.Helper()
	dir := filepath.Join("..", "..", "testdata", "minimind", family)
	if _, err := os.Stat(filepath.Join(dir, TokenizerFile)); err != nil {
		t.Fatalf("MiniMind tokenizer fixtures missing at %s (testdata/minimind in the repository)", dir)
	}
	return dir
}

// testFiles returns a random tiny model of preset with MiniMind's real
// tokenizer of family, as the files of a folder.
func testFiles(t testing.TB, preset, family string) Files {
	t.Helper()
	fix := fixtureDir(t, family)
	c, err := model.Preset(preset)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := checkpoint.Save(dir, c, model.InitWeights(c, 7), checkpoint.SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	files := Files{}
	for _, p := range []string{filepath.Join(dir, ConfigFile), filepath.Join(dir, SafetensorsFile),
		filepath.Join(fix, TokenizerFile), filepath.Join(fix, TokenizerConfigFile)} {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		files[filepath.Base(p)] = data
	}
	return files
}

func TestMemFS(t *testing.T) {
	fsys := memFS{"config.json": []byte("{}"), "model.safetensors": []byte("12345678")}
	if err := fstest.TestFS(fsys, "config.json", "model.safetensors"); err != nil {
		t.Fatal(err)
	}
}

func TestPickWeights(t *testing.T) {
	for _, tc := range []struct {
		names []string
		want  string // "" means an error wrapping ErrNotMiniMind
	}{
		{[]string{"config.json", "model.safetensors", "tokenizer.json"}, "model.safetensors"},
		{[]string{"a/b/model.safetensors", "x.pth"}, "model.safetensors"},
		{[]string{"weights.safetensors", "config.json"}, "weights.safetensors"},
		{[]string{"a.safetensors", "b.safetensors"}, ""},
		{[]string{"pretrain_512.pth"}, "pretrain_512.pth"},
		{[]string{"pretrain_512.pth", "full_sft_512.pth"}, "full_sft_512.pth"},
		{[]string{"a.pth", "b.pth"}, ""},
		{[]string{"config.json", "tokenizer.json"}, ""},
		{nil, ""},
	} {
		t.Run(strings.Join(tc.names, ","), func(t *testing.T) {
			got, err := PickWeights(tc.names)
			if tc.want == "" {
				if !errors.Is(err, ErrNotMiniMind) {
					t.Fatalf("got %q, %v; want ErrNotMiniMind", got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestEstimate(t *testing.T) {
	c, _ := model.Preset("minimind2-small")
	cj, _ := c.MarshalJSON()
	for _, tc := range []struct {
		name      string
		config    []byte
		weights   string
		size      int64
		params    int64
		limit     int64
		tooBig    bool
		estimateE bool
	}{
		{"safetensors fits", cj, "model.safetensors", 2 * int64(c.ParamCount()), int64(c.ParamCount()), 1 << 30, false, false},
		{"safetensors too big", cj, "model.safetensors", 2 * int64(c.ParamCount()), int64(c.ParamCount()), 100 << 20, true, false},
		{"pth without config", nil, "full_sft_512.pth", 52 << 20, 26 << 20, 1 << 30, false, false},
		{"safetensors without config", nil, "model.safetensors", 1000, 0, 0, false, true},
		{"bad config", []byte("{not json"), "model.safetensors", 1000, 0, 0, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := EstimateModel(tc.config, tc.weights, tc.size)
			if tc.estimateE {
				if !errors.Is(err, ErrNotMiniMind) {
					t.Fatalf("err = %v, want ErrNotMiniMind", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			peak := tc.size + 4*tc.params + runtimeOverhead
			if strings.HasSuffix(tc.weights, ".pth") {
				peak += tc.size
			}
			if e.Params != tc.params || e.WeightBytes != 4*tc.params || e.PeakBytes != peak {
				t.Errorf("estimate %+v, want %d params", e, tc.params)
			}
			err = e.Check(tc.limit, "the test limit")
			if tc.tooBig != errors.Is(err, ErrTooBig) {
				t.Fatalf("Check = %v, want too big %v", err, tc.tooBig)
			}
			if tc.tooBig && !strings.Contains(err.Error(), "25.8M parameters") {
				t.Errorf("message %q does not name the parameters", err)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	good := testFiles(t, "tiny", "minimind2")
	with := func(edit func(Files)) Files {
		f := Files{}
		for k, v := range good {
			f[k] = v
		}
		edit(f)
		return f
	}
	for _, tc := range []struct {
		name  string
		files Files
		want  string
	}{
		{"no tokenizer", with(func(f Files) { delete(f, TokenizerFile) }), "tokenizer.json is missing"},
		{"no weights", with(func(f Files) { delete(f, SafetensorsFile) }), "no weights found"},
		{"garbage weights", with(func(f Files) { f[SafetensorsFile] = []byte("this is a text file, not tensors") }), "model.safetensors"},
		{"garbage config", with(func(f Files) { f[ConfigFile] = []byte("<html>") }), "config.json"},
		{"no config", with(func(f Files) { delete(f, ConfigFile) }), "config.json is missing"},
		{"garbage tokenizer", with(func(f Files) { f[TokenizerFile] = []byte("[]") }), "tokenizer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(context.Background(), "test", tc.files, cpu.New(1))
			if !errors.Is(err, ErrNotMiniMind) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v; want ErrNotMiniMind naming %q", err, tc.want)
			}
		})
	}
}

func TestGenerateMatchesModel(t *testing.T) {
	for _, tc := range []struct{ preset, family string }{{"tiny", "minimind2"}, {"tiny3", "minimind3"}} {
		t.Run(tc.family, func(t *testing.T) {
			files := testFiles(t, tc.preset, tc.family)
			s, err := Load(context.Background(), "tiny", files, cpu.New(1))
			if err != nil {
				t.Fatal(err)
			}
			info := s.Info()
			if info.Family != tc.family || info.Engine != "cpu" || info.Vocab != 6400 || info.Thinking != (tc.family == "minimind3") {
				t.Errorf("info %+v", info)
			}
			// The reference: the chat template, the tokenizer and model.Generate.
			tok, err := tokenizer.FromJSON(files[TokenizerFile], files[TokenizerConfigFile])
			if err != nil {
				t.Fatal(err)
			}
			msgs := []tokenizer.Message{{Role: "system", Content: "Be brief."}, {Role: "user", Content: "你好，你是谁？"}}
			text, err := tok.ApplyChatTemplate(msgs, tokenizer.ChatOptions{AddGenerationPrompt: true})
			if err != nil {
				t.Fatal(err)
			}
			prompt := tok.Encode(text)
			want, err := s.Model().Generate(context.Background(), prompt, model.GenerateOptions{MaxTokens: 24, StopTokens: []int32{2, 0}})
			if err != nil {
				t.Fatal(err)
			}
			var streamed strings.Builder
			res, err := s.Generate(context.Background(), Request{Messages: msgs, MaxTokens: 24}, func(t string) error {
				streamed.WriteString(t)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if !equalIDs(res.Tokens, want) {
				t.Fatalf("tokens %v, want %v", res.Tokens, want)
			}
			if res.Text != streamed.String() || res.Text != tok.DecodeSkipSpecial(want) {
				t.Errorf("text %q, streamed %q, decoded %q", res.Text, streamed.String(), tok.DecodeSkipSpecial(want))
			}
			if res.Stats.PromptTokens != len(prompt) || res.Stats.Tokens != len(want) || res.Stats.Engine != "cpu" || res.Stats.Stop == "" {
				t.Errorf("stats %+v", res.Stats)
			}
			wantPrefix := map[string]string{"minimind2": "", "minimind3": "<think>\n\n</think>\n\n"}[tc.family]
			if res.Prefix != wantPrefix {
				t.Errorf("prefix %q, want %q", res.Prefix, wantPrefix)
			}
		})
	}
}

func TestGenerateThinkingPrefix(t *testing.T) {
	s, err := Load(context.Background(), "tiny3", testFiles(t, "tiny3", "minimind3"), cpu.New(1))
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Generate(context.Background(), Request{Prompt: "Why is the sky blue?", MaxTokens: 3, Thinking: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Prefix != "<think>\n" {
		t.Errorf("prefix %q, want an open think block", res.Prefix)
	}
	if res.Answer != "" || res.Stats.Stop != "length" {
		t.Errorf("an unclosed think block is all reasoning: %+v", res)
	}
}

func TestGenerateAbort(t *testing.T) {
	s, err := Load(context.Background(), "tiny", testFiles(t, "tiny", "minimind2"), cpu.New(1))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	res, err := s.Generate(ctx, Request{Prompt: "hi", MaxTokens: 200, Temperature: 1, Seed: 3}, func(string) error {
		if n++; n == 3 {
			cancel()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Aborted || res.Stats.Stop != "abort" || len(res.Tokens) >= 200 {
		t.Fatalf("aborted %v, stop %q, %d tokens", res.Aborted, res.Stats.Stop, len(res.Tokens))
	}
}

func TestTokenizeAndTrace(t *testing.T) {
	s, err := Load(context.Background(), "tiny", testFiles(t, "tiny", "minimind2"), cpu.New(1))
	if err != nil {
		t.Fatal(err)
	}
	toks := s.Tokenize("<|im_start|>hello world")
	if len(toks.IDs) < 3 || toks.IDs[0] != 1 || toks.Pieces[0] != "<|im_start|>" || strings.Join(toks.Pieces, "") != "<|im_start|>hello world" {
		t.Fatalf("tokens %+v", toks)
	}
	tr, err := s.Trace(toks.IDs)
	if err != nil {
		t.Fatal(err)
	}
	if st := tr.Trace.Step("logits"); st == nil || st.Shape[0] != len(toks.IDs) || st.Shape[1] != 6400 {
		t.Fatalf("trace steps %v", tr.Trace.Names())
	}
	for _, bad := range [][]int32{nil, {6400}, {-1}, make([]int32, MaxTraceTokens+1)} {
		if _, err := s.Trace(bad); err == nil {
			t.Errorf("Trace(%d ids) accepted", len(bad))
		}
	}
}

func TestFormat(t *testing.T) {
	for _, tc := range []struct {
		got, want string
	}{
		{FormatBytes(812), "812 B"}, {FormatBytes(1536), "1.5 KB"}, {FormatBytes(26 << 20), "26.0 MB"},
		{FormatBytes(3 << 30), "3.0 GB"}, {FormatCount(999), "999"}, {FormatCount(25_830_000), "25.8M"},
		{FormatCount(1_200_000_000), "1.2B"}, {FormatCount(6400), "6.4K"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %q, want %q", tc.got, tc.want)
			}
		})
	}
}

func equalIDs(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
