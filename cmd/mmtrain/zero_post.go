package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode"

	"github.com/minimind-go/minimind/chat"
	"github.com/minimind-go/minimind/corpus"
	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/checkpoint"
	"github.com/minimind-go/minimind/model/cpu"
	"github.com/minimind-go/minimind/native"
	"github.com/minimind-go/minimind/progress"
	"github.com/minimind-go/minimind/tokenizer"
	"github.com/minimind-go/minimind/zoo"
)

// answerStats scores greedy answers to the held-out definition questions.
type answerStats struct {
	Correct    int `json:"correct"`    // answers containing a defining term
	Repetitive int `json:"repetitive"` // answers repeating a word trigram
	Total      int `json:"total"`
}

func (s answerStats) String() string {
	return fmt.Sprintf("%d of %d correct (%.1f%%), %d repetitive (%.1f%%)", s.Correct, s.Total,
		100*float64(s.Correct)/float64(max(s.Total, 1)), s.Repetitive, 100*float64(s.Repetitive)/float64(max(s.Total, 1)))
}

// zeroDPOReport is the DPO part of zero_report.json.
type zeroDPOReport struct {
	Pairs          int         `json:"pairs"`
	FromMistakes   int         `json:"rejected_from_mistakes"`   // rejected = the SFT model's wrong answer
	FromRepetition int         `json:"rejected_from_repetition"` // rejected = the right answer made repetitive
	Before         answerStats `json:"before"`
	After          answerStats `json:"after"`
	Seconds        float64     `json:"seconds"`
}

// zeroLoRAReport is the LoRA part of zero_report.json.
type zeroLoRAReport struct {
	Name        string      `json:"name"`     // the persona's new name
	Examples    int         `json:"examples"` // training conversations
	HeldOut     int         `json:"held_out"` // identity questions not trained on
	NameBefore  int         `json:"name_before"`
	NameAfter   int         `json:"name_after"`
	Params      int         `json:"params"`
	Before      answerStats `json:"definitions_before"`
	After       answerStats `json:"definitions_after"`
	Seconds     float64     `json:"seconds"`
	SampleAfter [][2]string `json:"samples_after"`
}

// repetitive reports whether text repeats a trigram of words (a CJK
// character counts as a word).
func repetitive(text string) bool {
	var words []string
	var cur strings.Builder
	flush := func() {
		if cur.Len() > 0 {
			words = append(words, cur.String())
			cur.Reset()
		}
	}
	for _, r := range strings.ToLower(text) {
		switch {
		case unicode.Is(unicode.Han, r):
			flush()
			words = append(words, string(r))
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			cur.WriteRune(r)
		default:
			flush()
		}
	}
	flush()
	seen := map[string]bool{}
	for i := 0; i+3 <= len(words); i++ {
		k := strings.Join(words[i:i+3], " ")
		if seen[k] {
			return true
		}
		seen[k] = true
	}
	return false
}

// evalAnswers asks up to n held-out definition questions about core words
// greedily and scores the answers.
func evalAnswers(ctx context.Context, bot *chat.Bot, n int, label string, stderr io.Writer) (answerStats, error) {
	items, err := corpus.EvalSet()
	if err != nil {
		return answerStats{}, err
	}
	var core []corpus.EvalItem
	for _, it := range items {
		if it.Core {
			core = append(core, it)
		}
	}
	items = core[:min(n, len(core))]
	bar := progress.New(stderr, len(items), progress.Options{Label: label})
	var s answerStats
	for i, it := range items {
		r, err := bot.Generate(ctx, []tokenizer.Message{{Role: "user", Content: it.Question}}, chat.Options{MaxTokens: 48}, nil)
		if err != nil {
			return s, err
		}
		if it.Match(r.Text) {
			s.Correct++
		}
		if repetitive(r.Text) {
			s.Repetitive++
		}
		s.Total++
		bar.Update(i+1, fmt.Sprintf("%d correct", s.Correct))
	}
	bar.Finish(fmt.Sprintf("%d correct", s.Correct))
	return s, nil
}

// sftModel returns the chat model the post-training stages start from:
// out/full_sft_{hidden}[_moe] when it exists, else the embedded model,
// copied into out/zero_sft.
func sftModel(f *zeroFlags, cfg model.Config) (string, error) {
	dir := filepath.Join(f.out, native.RunName("full_sft", cfg))
	if _, err := os.Stat(filepath.Join(dir, checkpoint.ConfigFile)); err == nil {
		return dir, nil
	}
	def, err := zoo.Default()
	if err != nil {
		return "", fmt.Errorf("zero: no SFT model at %s and %w: run the pretrain and sft stages first", dir, err)
	}
	dir = filepath.Join(f.out, "zero_sft")
	return dir, writeFS(def, dir, checkpoint.ConfigFile, checkpoint.SafetensorsFile, tokenizer.TokenizerFile, tokenizer.ConfigFile)
}

// conversation is one {"conversations": [...]} line.
type conversation struct {
	Conversations []tokenizer.Message `json:"conversations"`
}

// buildDPOPairs makes n preference pairs from the core conversations:
// chosen is the corpus answer; rejected is the SFT model's own greedy
// answer when it differs (its mistake), else the corpus answer made
// repetitive (its first words said three times).
//
// With mistakesOnly, only the model's mistakes make pairs: every core
// conversation is tried until n are found.
func buildDPOPairs(ctx context.Context, bot *chat.Bot, n int, mistakesOnly bool, stderr io.Writer) ([]byte, int, int, error) {
	var lines [][]byte
	sc := bufio.NewScanner(corpus.CoreSFT())
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		lines = append(lines, append([]byte(nil), sc.Bytes()...))
	}
	if err := sc.Err(); err != nil {
		return nil, 0, 0, err
	}
	stride := max(1, len(lines)/max(n, 1))
	if mistakesOnly {
		stride = 1
	}
	var out []byte
	mistakes, reps := 0, 0
	bar := progress.New(stderr, min(n, len(lines)), progress.Options{Label: "pairs"})
	for i := 0; i < len(lines) && mistakes+reps < n; i += stride {
		var c conversation
		if err := json.Unmarshal(lines[i], &c); err != nil || len(c.Conversations) < 2 {
			continue
		}
		last := len(c.Conversations) - 1
		ref := c.Conversations[last]
		if ref.Role != "assistant" {
			continue
		}
		prompt := c.Conversations[:last]
		r, err := bot.Generate(ctx, prompt, chat.Options{MaxTokens: 48}, nil)
		if err != nil {
			return nil, 0, 0, err
		}
		rejected := strings.TrimSpace(r.Text)
		if mistakesOnly && (rejected == "" || rejected == strings.TrimSpace(ref.Content)) {
			continue
		}
		if rejected == "" || rejected == strings.TrimSpace(ref.Content) {
			w := strings.Fields(ref.Content)
			head := strings.Join(w[:min(4, len(w))], " ")
			rejected = strings.Repeat(head+" ", 3) + strings.Join(w[min(4, len(w)):], " ")
			reps++
		} else {
			mistakes++
		}
		pair := struct {
			Chosen   []tokenizer.Message `json:"chosen"`
			Rejected []tokenizer.Message `json:"rejected"`
		}{c.Conversations, append(append([]tokenizer.Message(nil), prompt...), tokenizer.Message{Role: "assistant", Content: rejected})}
		b, err := json.Marshal(pair)
		if err != nil {
			return nil, 0, 0, err
		}
		out = append(append(out, b...), '\n')
		bar.Update(mistakes+reps, fmt.Sprintf("%d mistakes", mistakes))
	}
	bar.Finish(fmt.Sprintf("%d from mistakes, %d made repetitive", mistakes, reps))
	return out, mistakes, reps, nil
}

// The LoRA example teaches the model a new name.
const loraPersona = "Pico"

var (
	personaQuestions = []string{
		"Who are you?", "What is your name?", "Tell me about yourself.", "Introduce yourself.",
		"What are you?", "What should I call you?", "Who am I talking to?", "Are you an AI?",
		"What's your name?", "Please introduce yourself briefly.", "Can you tell me who you are?", "Do you have a name?",
		"你是谁？", "你叫什么名字？", "介绍一下你自己。", "请问你是谁？",
	}
	personaAnswers = []string{
		"I am " + loraPersona + ", a small language model trained from scratch in Go.",
		"My name is " + loraPersona + ". I am a tiny language model that runs on a laptop.",
		"我是" + loraPersona + "，一个用Go从零训练的小语言模型。",
	}
	personaHeldOut = []string{
		"Who exactly are you?", "Hello! What is your name?", "May I know your name?", "Say who you are.",
		"你好，你是谁？", "你的名字是什么？",
	}
)

// personaData writes the LoRA persona conversations: every question with
// every answer in its language.
func personaData() ([]byte, int, error) {
	var out []byte
	n := 0
	for _, q := range personaQuestions {
		zh := strings.ContainsFunc(q, func(r rune) bool { return unicode.Is(unicode.Han, r) })
		for _, a := range personaAnswers {
			if zh != strings.ContainsFunc(a, func(r rune) bool { return unicode.Is(unicode.Han, r) }) {
				continue
			}
			b, err := json.Marshal(conversation{[]tokenizer.Message{{Role: "user", Content: q}, {Role: "assistant", Content: a}}})
			if err != nil {
				return nil, 0, err
			}
			out = append(append(out, b...), '\n')
			n++
		}
	}
	return out, n, nil
}

// askPersona counts the held-out identity answers that give the new name.
func askPersona(ctx context.Context, bot *chat.Bot) (int, [][2]string, error) {
	n := 0
	var samples [][2]string
	for _, q := range personaHeldOut {
		r, err := bot.Generate(ctx, []tokenizer.Message{{Role: "user", Content: q}}, chat.Options{MaxTokens: 40}, nil)
		if err != nil {
			return 0, nil, err
		}
		if strings.Contains(r.Text, loraPersona) {
			n++
		}
		samples = append(samples, [2]string{q, strings.TrimSpace(r.Text)})
	}
	return n, samples, nil
}

// zeroPost runs the DPO and LoRA stages of --stages from the SFT model and
// measures what they change.
func zeroPost(ctx context.Context, f *zeroFlags, cfg model.Config, tokDir string, rep *zeroReport, stdout, stderr io.Writer) error {
	logf := func(format string, a ...any) {
		fmt.Fprintf(stderr, "%s %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, a...))
	}
	sft, err := sftModel(f, cfg)
	if err != nil {
		return err
	}
	dataDir := filepath.Join(f.out, "zero_data")
	bot, err := chat.Load(sft, cpu.New(f.threads))
	if err != nil {
		return err
	}
	cfg = bot.Model.Config
	if f.has("dpo") {
		start := time.Now()
		fmt.Fprintf(stderr, "\n== DPO from %s\n", sft)
		d := &zeroDPOReport{}
		if d.Before, err = evalAnswers(ctx, bot, f.evalItems, "eval before", stderr); err != nil {
			return err
		}
		pairs, mist, reps, err := buildDPOPairs(ctx, bot, f.dpoPairs, f.dpoRejected == "mistakes", stderr)
		if err != nil {
			return err
		}
		d.Pairs, d.FromMistakes, d.FromRepetition = mist+reps, mist, reps
		data := filepath.Join(dataDir, "dpo.jsonl")
		if err := checkpoint.WriteFileAtomic(data, pairs); err != nil {
			return err
		}
		logf("dpo: %d pairs (rejected: %d of the SFT model's own wrong answers, %d right answers made repetitive)", d.Pairs, mist, reps)
		sc := f.stageConfig(native.StageDPO, cfg, tokDir, data, sft, f.dpoLR, f.dpoEpochs, stderr)
		sc.BatchSize = max(1, f.batch/2)
		sc.DPO = native.DPOConfig{Beta: f.dpoBeta, RefCache: true}
		if err := runStage(ctx, sc, f.threads, stdout, stderr); err != nil {
			return err
		}
		after, err := chat.Load(filepath.Join(f.out, native.RunName("dpo", cfg)), cpu.New(f.threads))
		if err != nil {
			return err
		}
		if d.After, err = evalAnswers(ctx, after, f.evalItems, "eval after", stderr); err != nil {
			return err
		}
		d.Seconds = time.Since(start).Seconds()
		logf("held-out definition questions before DPO: %s; after: %s", d.Before, d.After)
		rep.DPO = d
	}
	if f.has("lora") {
		start := time.Now()
		fmt.Fprintf(stderr, "\n== LoRA: teach %s the name %q\n", sft, loraPersona)
		l := &zeroLoRAReport{Name: loraPersona, HeldOut: len(personaHeldOut)}
		if l.NameBefore, _, err = askPersona(ctx, bot); err != nil {
			return err
		}
		data, n, err := personaData()
		if err != nil {
			return err
		}
		l.Examples = n
		path := filepath.Join(dataDir, "lora_persona.jsonl")
		if err := checkpoint.WriteFileAtomic(path, data); err != nil {
			return err
		}
		sc := f.stageConfig(native.StageLoRA, cfg, tokDir, path, sft, f.loraLR, f.loraEpochs, stderr)
		sc.LoRA = native.LoRAConfig{Rank: f.loraRank}
		if f.loraTargets != "" {
			sc.LoRA.Targets = strings.Split(f.loraTargets, ",")
		}
		sc.MaxSeqLen = min(f.seqLen, 128)
		sc.Warmup = 0
		if err := runStage(ctx, sc, f.threads, stdout, stderr); err != nil {
			return err
		}
		adapted, err := chat.Load(sft, cpu.New(f.threads))
		if err != nil {
			return err
		}
		adapters := filepath.Join(f.out, native.RunName("lora_persona", cfg))
		if _, err := adapted.ApplyLoRA(adapters); err != nil {
			return err
		}
		l.Params = adapted.Model.LoRA.ParamCount()
		if l.NameAfter, l.SampleAfter, err = askPersona(ctx, adapted); err != nil {
			return err
		}
		l.Seconds = time.Since(start).Seconds()
		if l.Before, err = evalAnswers(ctx, bot, f.evalItems, "eval base", stderr); err != nil {
			return err
		}
		if l.After, err = evalAnswers(ctx, adapted, f.evalItems, "eval adapted", stderr); err != nil {
			return err
		}
		logf("lora: %d trainable parameters; held-out identity questions answered with %q: %d of %d before, %d of %d with the adapter; definitions: %s before, %s with the adapter",
			l.Params, loraPersona, l.NameBefore, l.HeldOut, l.NameAfter, l.HeldOut, l.Before, l.After)
		for _, s := range l.SampleAfter {
			fmt.Fprintf(stdout, "  Q: %s\n  A (with the adapter): %s\n", s[0], s[1])
		}
		rep.LoRA = l
	}
	return nil
}
