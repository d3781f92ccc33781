package native

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/cpu"
	"github.com/minimind-go/minimind/tokenizer"
)

// BenchmarkTrainStep times one training step (forward, cross-entropy,
// backward, clipping, AdamW) on random tokens: minimind2-small at 4×256 is
// the shape compared with PyTorch in BENCHMARKS.md
// (go test -run - -bench TrainStep/minimind2-small -benchtime 3x -cpuprofile cpu.out).
func BenchmarkTrainStep(b *testing.B) {
	for _, bc := range []struct {
		preset string
		B, T   int
	}{
		{"tiny", 4, 64},
		{"minimind2-small", 4, 256},
	} {
		b.Run(fmt.Sprintf("%s/%dx%d", bc.preset, bc.B, bc.T), func(b *testing.B) {
			cfg, err := model.Preset(bc.preset)
			if err != nil {
				b.Fatal(err)
			}
			m, err := model.New(cfg, cpu.New(0), model.InitWeights(cfg, 1))
			if err != nil {
				b.Fatal(err)
			}
			tr, err := NewTrainer(m, DefaultOptim())
			if err != nil {
				b.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(1, 2))
			n := bc.B * bc.T
			batch := model.Batch{B: bc.B, T: bc.T, Input: make([]int32, n), Labels: make([]int32, n)} // [B, T]
			for i := range batch.Input {
				batch.Input[i] = int32(3 + rng.IntN(cfg.Vocab-3))
				batch.Labels[i] = batch.Input[i]
			}
			if _, err := tr.MicroStep(batch, 5e-4); err != nil { // warm-up
				b.Fatal(err)
			}
			b.ResetTimer()
			for range b.N {
				if _, err := tr.MicroStep(batch, 5e-4); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}

// BenchmarkBuildCache measures tokenizing a pretraining jsonl file into the
// cache with MiniMind's tokenizer on all cores (MB/s of jsonl).
func BenchmarkBuildCache(b *testing.B) {
	dir := filepath.Join("..", "testdata", "minimind", "minimind2")
	tk, err := tokenizer.Load(dir)
	if err != nil {
		b.Fatalf("MiniMind tokenizer fixture missing: %v", err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	parts := []string{"小模型也能从零开始训练，这是一个关于语言模型的例子。", "The quick brown fox jumps over the lazy dog while the model learns. ",
		"数据集包含中文和英文的句子，用于测试分词速度。", "Tokenizers split text into pieces; 2024 年 3 月 15 日。"}
	var sb strings.Builder
	for sb.Len() < 8<<20 {
		var text strings.Builder
		for range 3 + rng.IntN(10) {
			text.WriteString(parts[rng.IntN(len(parts))])
		}
		line, _ := json.Marshal(map[string]string{"text": text.String()})
		sb.Write(line)
		sb.WriteByte('\n')
	}
	data := filepath.Join(b.TempDir(), "pre.jsonl")
	if err := os.WriteFile(data, []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	p, err := NewProcessor(DataConfig{Mode: Pretrain, MaxSeqLen: 340, Vocab: 6400, BOS: 1, EOS: 2}, FromTokenizer(tk))
	if err != nil {
		b.Fatal(err)
	}
	key, err := NewCacheKey(data, p.Config(), "bench")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(sb.Len()))
	b.ResetTimer()
	for i := range b.N {
		d, err := BuildCache(context.Background(), data, filepath.Join(b.TempDir(), fmt.Sprint(i)+".mmtok"), p, key, BuildOptions{})
		if err != nil {
			b.Fatal(err)
		}
		d.Close()
	}
}
