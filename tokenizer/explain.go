package tokenizer

// WordMerges shows how one pre-tokenizer word of a text became tokens: its
// bytes as ByteLevel symbols, then every BPE merge in the order the encoder
// applies them (lowest rank first, leftmost among equal ranks).
type WordMerges struct {
	// Text is the word as it appears in the text (an added token such as
	// <|im_start|> is one word with no merges).
	Text string `json:"text"`
	// Added is set when the word is an added (special) token.
	Added bool `json:"added,omitempty"`
	// Start lists the initial symbols (one per byte) and their ids.
	Start    []string `json:"start"`
	StartIDs []int32  `json:"startIds"`
	// Merges are applied one at a time.
	Merges []MergeStep `json:"merges"`
	// IDs are the word's final ids (what Encode produces for it).
	IDs []int32 `json:"ids"`
}

// MergeStep is one applied merge: the pair at position At (symbols At and
// At+1) joined into one symbol, with the merge's rank in the merge list.
type MergeStep struct {
	Rank   int      `json:"rank"`
	At     int      `json:"at"`
	Left   string   `json:"left"`
	Right  string   `json:"right"`
	Merged string   `json:"merged"`
	ID     int32    `json:"id"`
	After  []string `json:"after"` // the word's symbols after this merge
}

// ExplainMerges splits text into words as Encode does and records, for each
// word, the merges BPE applies one at a time. Concatenating the words' IDs
// gives Encode(text). Symbols are shown as the text of their bytes (a symbol
// ending inside a UTF-8 character shows U+FFFD).
func (t *Tokenizer) ExplainMerges(text string) []WordMerges {
	var out []WordMerges
	var segs []segment
	if t.plain == nil && t.norm == nil {
		segs = []segment{{start: 0, end: len(text)}}
	} else {
		segs = t.splitAdded(nil, text)
	}
	for _, sg := range segs {
		if sg.tok != nil {
			out = append(out, WordMerges{Text: sg.tok.Content, Added: true, Start: []string{sg.tok.Content},
				StartIDs: []int32{sg.tok.ID}, IDs: []int32{sg.tok.ID}, Merges: []MergeStep{}})
			continue
		}
		piece := text[sg.start:sg.end]
		if piece == "" {
			continue
		}
		if t.pre.AddPrefixSpace && piece[0] != ' ' {
			piece = " " + piece
		}
		if !t.pre.UseRegex {
			out = append(out, t.explainWord(piece))
			continue
		}
		for i := 0; i < len(piece); {
			j := nextWord(piece, i)
			out = append(out, t.explainWord(piece[i:j]))
			i = j
		}
	}
	return out
}

// explainWord merges one word step by step, as mergeShort does.
func (t *Tokenizer) explainWord(word string) WordMerges {
	m := &t.model
	w := WordMerges{Text: word, Merges: []MergeStep{}}
	if m.ignoreMerges {
		if id, ok := m.vocab[string(appendSymbols(nil, word))]; ok {
			w.Start, w.StartIDs, w.IDs = []string{word}, []int32{id}, []int32{id}
			return w
		}
	}
	ids := m.initialSymbols(nil, word)
	w.StartIDs = append([]int32(nil), ids...)
	w.Start = t.symbolTexts(ids)
	for len(ids) > 1 {
		best, at, id := noMerge, -1, int32(-1)
		for k := 0; k+1 < len(ids); k++ {
			if r, mid := m.lookup(ids[k], ids[k+1]); r < best {
				best, at, id = r, k, mid
			}
		}
		if at < 0 {
			break
		}
		left, right := t.symbolText(ids[at]), t.symbolText(ids[at+1])
		ids = append(ids[:at+1], ids[at+2:]...)
		ids[at] = id
		w.Merges = append(w.Merges, MergeStep{Rank: int(best), At: at, Left: left, Right: right,
			Merged: t.symbolText(id), ID: id, After: t.symbolTexts(ids)})
	}
	w.IDs = ids
	return w
}

func (t *Tokenizer) symbolText(id int32) string { return t.Decode([]int32{id}) }

func (t *Tokenizer) symbolTexts(ids []int32) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = t.symbolText(id)
	}
	return out
}
