package tokenizer

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
)

// TestConcurrentEncode encodes from many goroutines at once (run with -race)
// and compares with one goroutine.
func TestConcurrentEncode(t *testing.T) {
	tok := loadFixture(t, "minimind3")
	texts := []string{"Hello world, it's 2024!", "你好，世界！<|im_end|>", "  code:\n\tx := 1\n", strings.Repeat("重复", 100)}
	want := make([][]int32, len(texts))
	for i, s := range texts {
		want[i] = tok.Encode(s)
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < 50; r++ {
				for i, s := range texts {
					if got := tok.Encode(s); !slices.Equal(got, want[i]) {
						t.Errorf("concurrent Encode(%q) = %v", s, got)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}

// TestEncodeBatchContext checks that a cancelled context stops EncodeBatch.
func TestEncodeBatchContext(t *testing.T) {
	tok := loadFixture(t, "minimind2")
	texts := make([]string, 10000)
	for i := range texts {
		texts[i] = "some text to encode"
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := tok.EncodeBatchContext(ctx, texts); !errors.Is(err, context.Canceled) {
		t.Errorf("EncodeBatchContext with a cancelled context: %v", err)
	}
	out, err := tok.EncodeBatchContext(context.Background(), texts[:3])
	if err != nil || len(out) != 3 || !slices.Equal(out[2], tok.Encode(texts[2])) {
		t.Errorf("EncodeBatchContext: %v, %v", out, err)
	}
	if got := tok.EncodeBatch(nil); len(got) != 0 {
		t.Errorf("EncodeBatch(nil) = %v", got)
	}
}

// TestAccessors checks the small lookups.
func TestAccessors(t *testing.T) {
	tok := loadFixture(t, "minimind3")
	if id, ok := tok.TokenToID("<think>"); !ok || id != 25 || tok.IsSpecial(id) {
		t.Errorf("<think>: %d %v special=%v", id, ok, tok.IsSpecial(id))
	}
	if id, ok := tok.TokenToID("Ġthe"); !ok || id < 259 {
		t.Errorf("Ġthe: %d %v", id, ok)
	}
	if s, ok := tok.IDToToken(2); !ok || s != "<|im_end|>" || !tok.IsSpecial(2) {
		t.Errorf("IDToToken(2) = %q %v", s, ok)
	}
	for _, id := range []int32{-1, 6400, 1 << 30} {
		if _, ok := tok.IDToToken(id); ok {
			t.Errorf("IDToToken(%d) found a token", id)
		}
	}
	if len(tok.AddedTokens()) != 36 || len(tok.Merges()) != 6108 || tok.VocabSize() != 6400 {
		t.Errorf("added %d merges %d vocab %d", len(tok.AddedTokens()), len(tok.Merges()), tok.VocabSize())
	}
	if pt := tok.PreTokenizer(); pt.AddPrefixSpace || !pt.UseRegex {
		t.Errorf("PreTokenizer = %+v", pt)
	}
	if len(ByteLevelAlphabet()) != 256 || ByteLevelAlphabet()[' '] != "Ġ" {
		t.Error("ByteLevelAlphabet")
	}
	if !strings.Contains(tok.String(), "6400 ids") {
		t.Errorf("String() = %q", tok.String())
	}
}
