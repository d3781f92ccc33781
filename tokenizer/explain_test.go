package tokenizer

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestExplainMerges checks, on the Hugging Face golden strings, that the
// merges applied one at a time end in exactly the ids of Encode (which the
// golden test checks against Hugging Face) and that each step joins the
// named neighbours.
func TestExplainMerges(t *testing.T) {
	for _, fx := range []struct{ dir, key string }{{"minimind2", "m2"}, {"minimind3", "m3"}} {
		t.Run(fx.dir, func(t *testing.T) {
			tok := loadFixture(t, fx.dir)
			n := 0
			readGzipLines(t, "encode.jsonl.gz", func(line []byte) {
				if n >= 2000 {
					return
				}
				n++
				var row struct{ T string }
				require.NoError(t, json.Unmarshal(line, &row))
				words := tok.ExplainMerges(row.T)
				var ids []int32
				for _, w := range words {
					ids = append(ids, w.IDs...)
					syms := slices.Clone(w.Start)
					for _, m := range w.Merges {
						require.Less(t, m.At+1, len(syms), "%q: merge %+v", w.Text, m)
						syms = slices.Replace(syms, m.At, m.At+2, m.Merged)
						require.Equal(t, m.After, syms)
					}
					if len(w.Merges) > 0 {
						require.Len(t, w.IDs, len(w.Merges[len(w.Merges)-1].After))
					}
				}
				require.True(t, slices.Equal(tok.Encode(row.T), ids), "%q: %v, Encode %v", row.T, ids, tok.Encode(row.T))
			})
			assert.Equal(t, 2000, n)
		})
	}
}

func ExampleTokenizer_ExplainMerges() {
	tok, err := Load("../testdata/minimind/minimind2")
	if err != nil {
		panic(err)
	}
	for _, w := range tok.ExplainMerges("Hello world") {
		fmt.Printf("%q: %q", w.Text, w.Start)
		for _, m := range w.Merges {
			fmt.Printf(" → %q", m.After)
		}
		fmt.Println()
	}
	// Output:
	// "Hello": ["H" "e" "l" "l" "o"] → ["H" "e" "l" "lo"] → ["H" "el" "lo"]
	// " world": [" " "w" "o" "r" "l" "d"] → [" " "w" "or" "l" "d"] → [" w" "or" "l" "d"] → [" w" "or" "ld"] → [" wor" "ld"] → [" world"]
}
