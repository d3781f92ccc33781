package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// applyPatch changes a decoded tokenizer.json the way
// tools/oracle/gen-variants.mjs does.
func applyPatch(t *testing.T, j map[string]any, p map[string]any) {
	t.Helper()
	if v, ok := p["pre_tokenizer"]; ok {
		j["pre_tokenizer"] = v
	}
	if v, ok := p["added"]; ok {
		j["added_tokens"] = append(j["added_tokens"].([]any), v.([]any)...)
	}
	m := j["model"].(map[string]any)
	for _, k := range []string{"unk_token", "fuse_unk", "ignore_merges"} {
		if v, ok := p[k]; ok {
			m[k] = v
		}
	}
	if v, ok := p["drop_bytes"]; ok {
		var bad []string
		for _, b := range v.([]any) {
			bad = append(bad, std.byteToStr[int(b.(float64))])
		}
		hasBad := func(s string) bool {
			for _, c := range bad {
				if strings.Contains(s, c) {
					return true
				}
			}
			return false
		}
		vocab := m["vocab"].(map[string]any)
		for k := range vocab {
			if hasBad(k) {
				delete(vocab, k)
			}
		}
		var merges []any
		for _, mg := range m["merges"].([]any) {
			pair := mg.([]any)
			if !hasBad(pair[0].(string)) && !hasBad(pair[1].(string)) {
				merges = append(merges, mg)
			}
		}
		m["merges"] = merges
	}
	if v, ok := p["legacy_merges"]; ok && v.(bool) {
		merges := m["merges"].([]any)
		for i, mg := range merges {
			pair := mg.([]any)
			merges[i] = pair[0].(string) + " " + pair[1].(string)
		}
	}
}

// TestVariantsGolden checks configurations MiniMind does not use but
// tokenizer.json allows against Hugging Face (testdata/variants.jsonl.gz).
func TestVariantsGolden(t *testing.T) {
	p := filepath.Join(fixtureDir, "minimind2", TokenizerFile)
	base, err := os.ReadFile(p)
	if err != nil {
		t.Skipf("fixture %s not found: %v", p, err)
	}
	readGzipLines(t, "variants.jsonl.gz", func(line []byte) {
		var v struct {
			Name  string         `json:"name"`
			Patch map[string]any `json:"patch"`
			Cases []struct {
				T   string  `json:"t"`
				IDs []int32 `json:"ids"`
				Dec string  `json:"dec"`
			} `json:"cases"`
		}
		if err := json.Unmarshal(line, &v); err != nil {
			t.Fatal(err)
		}
		t.Run(v.Name, func(t *testing.T) {
			var j map[string]any
			if err := json.Unmarshal(base, &j); err != nil {
				t.Fatal(err)
			}
			applyPatch(t, j, v.Patch)
			data, err := json.Marshal(j)
			if err != nil {
				t.Fatal(err)
			}
			tok, err := FromJSON(data, nil)
			if err != nil {
				t.Fatal(err)
			}
			bad := 0
			for _, c := range v.Cases {
				got := tok.Encode(c.T)
				if !slices.Equal(got, c.IDs) {
					if bad++; bad <= 5 {
						t.Errorf("Encode(%q)\n got %v\nwant %v", c.T, got, c.IDs)
					}
				}
				if dec := tok.Decode(c.IDs); dec != c.Dec {
					if bad++; bad <= 5 {
						t.Errorf("Decode(%v) = %q, want %q", c.IDs, dec, c.Dec)
					}
				}
			}
			if bad > 0 {
				t.Errorf("%d of %d cases differ", bad, len(v.Cases))
			}
		})
	})
}
