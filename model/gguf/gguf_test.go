package gguf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/tokenizer"
)

func testTokenizer(t testing.TB, which string) *tokenizer.Tokenizer {
	t.Helper()
	tok, err := tokenizer.Load("../../testdata/minimind/" + which)
	require.NoError(t, err)
	return tok
}

func randData(n int, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 1))
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(r.NormFloat64())
	}
	return out
}

func TestMetadataRoundTrip(t *testing.T) {
	kvs := []KV{
		{"u8", uint8(7)}, {"i8", int8(-7)}, {"u16", uint16(700)}, {"i16", int16(-700)},
		{"u32", uint32(70000)}, {"i32", int32(-70000)}, {"f32", float32(1.5)}, {"b", true},
		{"s", "héllo"}, {"u64", uint64(1) << 40}, {"i64", int64(-1) << 40}, {"f64", 2.25},
		{"as", []string{"a", "", "ĠHello"}}, {"ai", []int32{1, -2, 3}}, {"af", []float32{0.5}},
		{"ab", []bool{true, false}}, {"nested", []any{[]int32{1}, []string{"x", "y"}}},
	}
	var buf bytes.Buffer
	require.NoError(t, Write(&buf, kvs, []Tensor{{Name: "t", Shape: []int{2, 3}, Type: F32, Data: []float32{1, 2, 3, 4, 5, 6}}}))
	f, err := Parse(buf.Bytes())
	require.NoError(t, err)
	require.Equal(t, uint32(3), f.Version)
	require.Len(t, f.KVs(), len(kvs))
	for i, kv := range kvs {
		assert.Equal(t, kv, f.KVs()[i], kv.Key)
	}
	got, err := f.Float32("t")
	require.NoError(t, err)
	assert.Equal(t, []float32{1, 2, 3, 4, 5, 6}, got)
	ti, _ := f.Tensor("t")
	assert.Equal(t, []uint64{3, 2}, ti.Dims)
	assert.Equal(t, []int{2, 3}, ti.Shape())
	assert.Equal(t, int64(DefaultAlignment), func() int64 { return f.dataStart % int64(DefaultAlignment) }()+int64(DefaultAlignment))

	_, err = f.String("u32")
	assert.ErrorIs(t, err, ErrValueType)
	assert.ErrorContains(t, err, "key u32 holds a uint32, want a string")
	_, err = f.Uint("nothere")
	assert.ErrorIs(t, err, ErrMissing)
	assert.ErrorContains(t, err, "nothere")
}

func TestQuantization(t *testing.T) {
	x := randData(32*64, 3)
	x[5] = 0 // and a block of zeros
	for i := 64; i < 96; i++ {
		x[i] = 0
	}
	for _, tc := range []struct {
		typ     TensorType
		maxRel  float64 // max |err| / block max |x|
		rmsRel  float64
		perByte int
	}{
		{F32, 0, 0, 4}, {F16, 1e-3, 1e-3, 2}, {BF16, 8e-3, 8e-3, 2},
		{Q8_0, 0.5/127 + 1.0/1024, 0.006, 34}, {Q4_0, 1.0/8 + 1.0/1024, 0.1, 18},
	} {
		t.Run(tc.typ.String(), func(t *testing.T) {
			n, err := tc.typ.ByteSize(int64(len(x)))
			require.NoError(t, err)
			buf := make([]byte, n)
			require.NoError(t, Encode(buf, x, tc.typ))
			y := make([]float32, len(x))
			require.NoError(t, Decode(y, buf, tc.typ))
			var se, sx float64
			for b := 0; b < len(x)/32; b++ {
				var amax float64
				for _, v := range x[b*32 : (b+1)*32] {
					amax = math.Max(amax, math.Abs(float64(v)))
				}
				for i := b * 32; i < (b+1)*32; i++ {
					d := math.Abs(float64(y[i] - x[i]))
					require.LessOrEqual(t, d, tc.maxRel*amax+1e-12, "value %d: %v → %v", i, x[i], y[i])
					se += d * d
					sx += float64(x[i]) * float64(x[i])
				}
			}
			assert.LessOrEqual(t, math.Sqrt(se/sx), tc.rmsRel+1e-12)
		})
	}
	// Known encodings: a Q8_0 block of 0..31 has d = 31/127 and q = round(i·127/31).
	in := make([]float32, 32)
	for i := range in {
		in[i] = float32(i)
	}
	b8 := make([]byte, Q8_0BlockBytes)
	require.NoError(t, Encode(b8, in, Q8_0))
	assert.Equal(t, byte(127), b8[2+31])
	assert.Equal(t, byte(4), b8[2+1]) // 127/31 = 4.097 → 4
	// Q4_0: the value of largest magnitude, 31, maps to q = 0 (d = −31/8).
	b4 := make([]byte, Q4_0BlockBytes)
	require.NoError(t, Encode(b4, in, Q4_0))
	assert.Equal(t, byte(8), b4[2]&15)    // 0 → 8
	assert.Equal(t, byte(0), b4[2+15]>>4) // 31 → 0
}

// tinyModel returns a preset with random weights.
func tinyModel(t testing.TB, preset string) (model.Config, *model.Weights) {
	t.Helper()
	c, err := model.Preset(preset)
	require.NoError(t, err)
	return c, model.InitWeights(c, 7)
}

func TestExportImportRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		preset, tok, arch string
	}{
		{"tiny", "minimind2", ArchLlama},
		{"tiny3", "minimind3", ArchQwen3},
		{"tiny3-moe", "minimind3", ArchQwen3MoE},
	} {
		t.Run(tc.preset, func(t *testing.T) {
			c, w := tinyModel(t, tc.preset)
			tok := testTokenizer(t, tc.tok)
			var buf bytes.Buffer
			require.NoError(t, Export(&buf, c, w, tok, ExportOptions{Type: F32}))
			f, err := Parse(buf.Bytes())
			require.NoError(t, err)
			arch, _ := f.String("general.architecture")
			assert.Equal(t, tc.arch, arch)
			c2, err := f.Config()
			require.NoError(t, err)
			assert.Equal(t, c, c2)
			w2, err := f.Weights(c2)
			require.NoError(t, err)
			p1, p2 := c.Params(w), c2.Params(w2)
			for i := range p1 {
				require.Equal(t, (*p1[i].Ptr).(*model.Host).Data, (*p2[i].Ptr).(*model.Host).Data, p1[i].Name)
			}
			// The llama architecture stores q/k permuted, so the stored tensor differs.
			if tc.arch == ArchLlama {
				raw, err := f.Float32("blk.0.attn_q.weight")
				require.NoError(t, err)
				assert.NotEqual(t, w.Layers[0].Q.(*model.Host).Data, raw)
			}
			// The tokenizer rebuilt from the metadata encodes and templates as the original.
			tj, tc2, err := f.TokenizerFiles()
			require.NoError(t, err)
			tok2, err := tokenizer.FromJSON(tj, tc2)
			require.NoError(t, err)
			for _, s := range []string{"Hello, world! 你好 <|im_start|>user\n  x", "  spaces\tand\nnewlines 12345 <think>"} {
				assert.Equal(t, tok.Encode(s), tok2.Encode(s), s)
			}
			msgs := []tokenizer.Message{{Role: "user", Content: "hi"}}
			p1s, err := tok.ApplyChatTemplate(msgs, tokenizer.ChatOptions{AddGenerationPrompt: true})
			require.NoError(t, err)
			p2s, err := tok2.ApplyChatTemplate(msgs, tokenizer.ChatOptions{AddGenerationPrompt: true})
			require.NoError(t, err)
			assert.Equal(t, p1s, p2s)
			for _, sp := range []string{"bos", "eos", "pad"} {
				a, _ := tok.SpecialID(sp)
				b, _ := tok2.SpecialID(sp)
				assert.Equal(t, a, b, sp)
			}
		})
	}
}

func TestExportRefuses(t *testing.T) {
	tok := testTokenizer(t, "minimind2")
	c, w := tinyModel(t, "tiny-moe")
	err := Export(&bytes.Buffer{}, c, w, tok, ExportOptions{})
	assert.ErrorIs(t, err, ErrArch)
	assert.ErrorContains(t, err, "shared expert")
	c, w = tinyModel(t, "tiny")
	c.RopeScaling = model.DefaultYaRN()
	assert.ErrorIs(t, Export(&bytes.Buffer{}, c, w, tok, ExportOptions{}), ErrArch)
}

// exported returns a tiny model's GGUF with the given edit applied to its metadata or tensors.
func exported(t *testing.T, edit func(kvs []KV, ts []Tensor) ([]KV, []Tensor)) []byte {
	t.Helper()
	c, w := tinyModel(t, "tiny")
	kvs, ts, err := Build(c, w, testTokenizer(t, "minimind2"), ExportOptions{Type: F16})
	require.NoError(t, err)
	kvs, ts = edit(kvs, ts)
	var buf bytes.Buffer
	require.NoError(t, Write(&buf, kvs, ts))
	return buf.Bytes()
}

func setKV(kvs []KV, key string, v any) []KV {
	for i := range kvs {
		if kvs[i].Key == key {
			kvs[i].Value = v
		}
	}
	return kvs
}

func TestBadInput(t *testing.T) {
	good := exported(t, func(k []KV, ts []Tensor) ([]KV, []Tensor) { return k, ts })
	load := func(data []byte) error {
		f, err := Parse(data)
		if err != nil {
			return err
		}
		c, err := f.Config()
		if err != nil {
			return err
		}
		_, err = f.Weights(c)
		return err
	}
	require.NoError(t, load(good))
	for _, tc := range []struct {
		name     string
		data     []byte
		sentinel error
		mention  string
	}{
		{"truncated header", good[:200], ErrTruncated, "byte"},
		{"truncated data", good[:len(good)-100], ErrTruncated, "output_norm.weight"},
		{"bad magic", append([]byte("GGUX"), good[4:]...), ErrFormat, "magic"},
		{"unknown architecture", exported(t, func(k []KV, ts []Tensor) ([]KV, []Tensor) {
			return setKV(k, "general.architecture", "mamba"), ts
		}), ErrArch, "general.architecture"},
		{"wrong value type", exported(t, func(k []KV, ts []Tensor) ([]KV, []Tensor) {
			return setKV(k, "llama.block_count", "two"), ts
		}), ErrValueType, "llama.block_count"},
		{"wrong tensor shape", exported(t, func(k []KV, ts []Tensor) ([]KV, []Tensor) {
			for i := range ts {
				if ts[i].Name == "blk.1.ffn_up.weight" {
					ts[i].Shape = []int{ts[i].Shape[0] / 2, ts[i].Shape[1] * 2}
				}
			}
			return k, ts
		}), ErrTensor, "blk.1.ffn_up.weight"},
		{"missing tensor", exported(t, func(k []KV, ts []Tensor) ([]KV, []Tensor) {
			var out []Tensor
			for _, x := range ts {
				if x.Name != "blk.0.attn_k.weight" {
					out = append(out, x)
				}
			}
			return k, out
		}), ErrMissing, "blk.0.attn_k.weight"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := load(tc.data)
			require.Error(t, err)
			assert.True(t, errors.Is(err, tc.sentinel), "%v", err)
			assert.ErrorContains(t, err, tc.mention)
		})
	}
	// An unknown tensor type is named.
	bad := bytes.Clone(good)
	f, err := Parse(bad)
	require.NoError(t, err)
	_ = f
	idx := bytes.Index(bad, []byte("token_embd.weight"))
	require.Positive(t, idx)
	typOff := idx + len("token_embd.weight") + 4 + 16
	binary.LittleEndian.PutUint32(bad[typOff:], 12) // Q4_K
	_, err = Parse(bad)
	assert.ErrorIs(t, err, ErrTensor)
	assert.ErrorContains(t, err, "token_embd.weight")
}
