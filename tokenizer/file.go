package tokenizer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/minimind-go/minimind/tokenizer/internal/ojson"
)

// ByteLevelConfig is the configuration of a ByteLevel pre-tokenizer,
// post-processor or decoder in tokenizer.json.
type ByteLevelConfig struct {
	AddPrefixSpace bool // add a space before text that does not start with one
	TrimOffsets    bool // only affects offsets, which this package does not report
	UseRegex       bool // split words with the GPT-2 pattern
}

// maxID bounds the token ids a tokenizer.json may use, so that a damaged
// file cannot make the loader allocate without limit.
const maxID = 1 << 24

// fileJSON is the top level of tokenizer.json.
type fileJSON struct {
	Version       string          `json:"version"`
	Truncation    json.RawMessage `json:"truncation"`
	Padding       json.RawMessage `json:"padding"`
	AddedTokens   json.RawMessage `json:"added_tokens"`
	Normalizer    json.RawMessage `json:"normalizer"`
	PreTokenizer  json.RawMessage `json:"pre_tokenizer"`
	PostProcessor json.RawMessage `json:"post_processor"`
	Decoder       json.RawMessage `json:"decoder"`
	Model         json.RawMessage `json:"model"`
}

// modelJSON is tokenizer.json's "model".
type modelJSON struct {
	Type                    *string         `json:"type"`
	Dropout                 json.RawMessage `json:"dropout"`
	UnkToken                *string         `json:"unk_token"`
	ContinuingSubwordPrefix *string         `json:"continuing_subword_prefix"`
	EndOfWordSuffix         *string         `json:"end_of_word_suffix"`
	FuseUnk                 bool            `json:"fuse_unk"`
	ByteFallback            bool            `json:"byte_fallback"`
	IgnoreMerges            bool            `json:"ignore_merges"`
	Vocab                   json.RawMessage `json:"vocab"`
	Merges                  json.RawMessage `json:"merges"`
}

func isNull(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || string(t) == "null"
}

// parseByteLevel reads a {"type": "ByteLevel", ...} object of the field
// named field. Missing flags take Hugging Face's defaults (all true).
func parseByteLevel(raw json.RawMessage, field string) (ByteLevelConfig, error) {
	var v struct {
		Type           *string `json:"type"`
		AddPrefixSpace *bool   `json:"add_prefix_space"`
		TrimOffsets    *bool   `json:"trim_offsets"`
		UseRegex       *bool   `json:"use_regex"`
	}
	cfg := ByteLevelConfig{true, true, true}
	if err := json.Unmarshal(raw, &v); err != nil {
		return cfg, fmt.Errorf("%s: %w", field, err)
	}
	if v.Type == nil || *v.Type != "ByteLevel" {
		got := "no type"
		if v.Type != nil {
			got = fmt.Sprintf("type %q", *v.Type)
		}
		return cfg, fmt.Errorf("%s: %s is not supported, only ByteLevel", field, got)
	}
	if v.AddPrefixSpace != nil {
		cfg.AddPrefixSpace = *v.AddPrefixSpace
	}
	if v.TrimOffsets != nil {
		cfg.TrimOffsets = *v.TrimOffsets
	}
	if v.UseRegex != nil {
		cfg.UseRegex = *v.UseRegex
	}
	return cfg, nil
}

// parseFile builds a Tokenizer from the bytes of tokenizer.json; name is
// used in error messages.
func parseFile(data []byte, name string) (*Tokenizer, error) {
	wrap := func(err error) error { return fmt.Errorf("tokenizer: %s: %w", name, err) }
	var f fileJSON
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, wrap(err)
	}
	for _, c := range []struct {
		field string
		raw   json.RawMessage
	}{{"truncation", f.Truncation}, {"padding", f.Padding}, {"normalizer", f.Normalizer}} {
		if !isNull(c.raw) {
			return nil, wrap(fmt.Errorf("%s: only null is supported", c.field))
		}
	}
	t := &Tokenizer{version: f.Version}
	if t.version == "" {
		t.version = "1.0"
	}
	if isNull(f.PreTokenizer) {
		return nil, wrap(errors.New("pre_tokenizer: null is not supported, only ByteLevel"))
	}
	var err error
	if t.pre, err = parseByteLevel(f.PreTokenizer, "pre_tokenizer"); err != nil {
		return nil, wrap(err)
	}
	if isNull(f.Decoder) {
		return nil, wrap(errors.New("decoder: null is not supported, only ByteLevel"))
	}
	if t.dec, err = parseByteLevel(f.Decoder, "decoder"); err != nil {
		return nil, wrap(err)
	}
	if !isNull(f.PostProcessor) {
		// A ByteLevel post-processor only adjusts offsets; anything else
		// (templates adding special tokens) would change the ids.
		pp, err := parseByteLevel(f.PostProcessor, "post_processor")
		if err != nil {
			return nil, wrap(err)
		}
		t.post = &pp
	}
	if isNull(f.Model) {
		return nil, wrap(errors.New("model: missing"))
	}
	if err := t.parseModel(f.Model); err != nil {
		return nil, wrap(err)
	}
	var added []AddedToken
	if !isNull(f.AddedTokens) {
		if err := json.Unmarshal(f.AddedTokens, &added); err != nil {
			return nil, wrap(fmt.Errorf("added_tokens: %w", err))
		}
	}
	if err := t.setAdded(added); err != nil {
		return nil, wrap(err)
	}
	return t, nil
}

// parseModel reads the BPE model.
func (t *Tokenizer) parseModel(raw json.RawMessage) error {
	var mj modelJSON
	if err := json.Unmarshal(raw, &mj); err != nil {
		return fmt.Errorf("model: %w", err)
	}
	if mj.Type != nil && *mj.Type != "BPE" {
		return fmt.Errorf("model.type: %q is not supported, only BPE", *mj.Type)
	}
	m := &t.model
	if !isNull(mj.Dropout) {
		var d float64
		if err := json.Unmarshal(mj.Dropout, &d); err != nil {
			return fmt.Errorf("model.dropout: %w", err)
		}
		if d != 0 {
			return fmt.Errorf("model.dropout: %v is not supported, only null or 0", d)
		}
		m.dropout = json.Number(bytes.TrimSpace(mj.Dropout))
	}
	if p := mj.ContinuingSubwordPrefix; p != nil && *p != "" {
		return fmt.Errorf("model.continuing_subword_prefix: %q is not supported, only null", *p)
	}
	if p := mj.EndOfWordSuffix; p != nil && *p != "" {
		return fmt.Errorf("model.end_of_word_suffix: %q is not supported, only null", *p)
	}
	m.emptyPrefix = mj.ContinuingSubwordPrefix != nil
	m.emptySuffix = mj.EndOfWordSuffix != nil
	if mj.ByteFallback {
		return errors.New("model.byte_fallback: true is not supported (ByteLevel covers every byte)")
	}
	m.fuseUnk = mj.FuseUnk
	m.ignoreMerges = mj.IgnoreMerges
	if isNull(mj.Vocab) {
		return errors.New("model.vocab: missing")
	}
	if err := json.Unmarshal(mj.Vocab, &m.vocab); err != nil {
		return fmt.Errorf("model.vocab: %w", err)
	}
	maxSeen := int32(-1)
	byID := make(map[int32]string, len(m.vocab))
	// Ids may leave gaps, but not so wide that a small file could make the
	// id tables huge.
	limit := int32(min(maxID, 4*len(m.vocab)+1024))
	for tok, id := range m.vocab {
		if id < 0 || id >= limit {
			return fmt.Errorf("model.vocab: token %q has id %d, outside [0, %d)", tok, id, limit)
		}
		if other, dup := byID[id]; dup {
			a, b := other, tok
			if b < a {
				a, b = b, a
			}
			return fmt.Errorf("model.vocab: tokens %q and %q share id %d", a, b, id)
		}
		byID[id] = tok
		maxSeen = max(maxSeen, id)
	}
	m.vocabR = make([]string, maxSeen+1)
	m.hasID = make([]bool, maxSeen+1)
	for id, tok := range byID {
		m.vocabR[id] = tok
		m.hasID[id] = true
	}
	m.unkID = -1
	if mj.UnkToken != nil {
		id, ok := m.vocab[*mj.UnkToken]
		if !ok {
			return fmt.Errorf("model.unk_token: %q is not in the vocabulary", *mj.UnkToken)
		}
		m.unkID, m.unkToken, m.hasUnk = id, *mj.UnkToken, true
	}
	for b := 0; b < 256; b++ {
		m.byteIDs[b] = -1
		if id, ok := m.vocab[std.byteToStr[b]]; ok {
			m.byteIDs[b] = id
		}
	}
	if isNull(mj.Merges) {
		return errors.New("model.merges: missing")
	}
	var merges []json.RawMessage
	if err := json.Unmarshal(mj.Merges, &merges); err != nil {
		return fmt.Errorf("model.merges: %w", err)
	}
	m.mergeList = make([][2]string, 0, len(merges))
	m.merges = make(map[uint64]uint64, len(merges))
	for i, raw := range merges {
		var pair [2]string
		var s string
		var parts []string
		if err := json.Unmarshal(raw, &s); err == nil {
			parts = strings.Split(s, " ")
		} else if err := json.Unmarshal(raw, &parts); err != nil {
			return fmt.Errorf("model.merges[%d]: want \"a b\" or [\"a\", \"b\"]: %w", i, err)
		}
		if len(parts) != 2 {
			return fmt.Errorf("model.merges[%d]: want two parts, got %d", i, len(parts))
		}
		pair = [2]string{parts[0], parts[1]}
		if err := m.addMerge(pair, i); err != nil {
			return fmt.Errorf("model.merges[%d]: %w", i, err)
		}
	}
	m.table = newMergeTable(m.merges)
	return nil
}

// addMerge records the merge pair with the given rank.
func (m *bpeModel) addMerge(pair [2]string, rank int) error {
	a, ok := m.vocab[pair[0]]
	if !ok {
		return fmt.Errorf("%q is not in the vocabulary", pair[0])
	}
	b, ok := m.vocab[pair[1]]
	if !ok {
		return fmt.Errorf("%q is not in the vocabulary", pair[1])
	}
	id, ok := m.vocab[pair[0]+pair[1]]
	if !ok {
		return fmt.Errorf("the merged token %q is not in the vocabulary", pair[0]+pair[1])
	}
	if rank > math.MaxInt32 {
		return errors.New("too many merges")
	}
	m.merges[pairKey(a, b)] = uint64(rank)<<32 | uint64(uint32(id))
	m.mergeList = append(m.mergeList, pair)
	return nil
}

// setAdded installs the added tokens, giving them ids the way Hugging Face
// does when it reads tokenizer.json: the id of the same text in the model
// vocabulary or among the earlier added tokens, otherwise the next free id
// after the vocabulary. The ids written in the file are only checked by
// Hugging Face (a warning) and are ignored here in the same way.
func (t *Tokenizer) setAdded(list []AddedToken) error {
	t.added = nil
	t.addedByContent = map[string]*AddedToken{}
	vocabSize := int32(len(t.model.vocab))
	maxAdded := int32(-1)
	for i := range list {
		a := list[i]
		if a.Content == "" {
			continue
		}
		if prev, ok := t.addedByContent[a.Content]; ok {
			a.ID = prev.ID
			*prev = a
			continue
		}
		if id, ok := t.model.vocab[a.Content]; ok {
			a.ID = id
		} else if maxAdded < 0 {
			a.ID = vocabSize
		} else if maxAdded >= vocabSize || vocabSize == 0 {
			a.ID = maxAdded + 1
		} else {
			a.ID = vocabSize
		}
		if a.ID >= maxID {
			return fmt.Errorf("added_tokens[%d]: too many tokens", i)
		}
		maxAdded = max(maxAdded, a.ID)
		p := new(AddedToken)
		*p = a
		t.added = append(t.added, p)
		t.addedByContent[a.Content] = p
	}
	t.rebuild()
	return nil
}

// rebuild derives the id table and the matchers from the model and the
// added tokens.
func (t *Tokenizer) rebuild() {
	n := int32(len(t.model.vocabR))
	for _, a := range t.added {
		n = max(n, a.ID+1)
	}
	t.idTok = make([]string, n)
	t.idKind = make([]uint8, n)
	for id, tok := range t.model.vocabR {
		if t.model.hasID[id] {
			t.idTok[id] = tok
			t.idKind[id] = kindModel
		}
	}
	var plain, norm []*AddedToken
	for _, a := range t.added {
		t.idTok[a.ID] = a.Content
		t.idKind[a.ID] = kindAdded
		if a.Special {
			t.idKind[a.ID] = kindSpecial
		}
		if a.Normalized {
			norm = append(norm, a)
		} else {
			plain = append(plain, a)
		}
	}
	t.plain = newMatcher(plain)
	t.norm = newMatcher(norm)
}

// marshalFile writes tokenizer.json in the layout Hugging Face's
// save(pretty=true) produces.
func (t *Tokenizer) marshalFile() ([]byte, error) {
	root := ojson.NewObject()
	root.Set("version", t.version)
	root.Set("truncation", nil)
	root.Set("padding", nil)
	added := make([]*AddedToken, len(t.added))
	copy(added, t.added)
	sort.SliceStable(added, func(i, j int) bool { return added[i].ID < added[j].ID })
	list := make([]any, len(added))
	for i, a := range added {
		o := ojson.NewObject()
		o.Set("id", a.ID)
		o.Set("content", a.Content)
		o.Set("single_word", a.SingleWord)
		o.Set("lstrip", a.LStrip)
		o.Set("rstrip", a.RStrip)
		o.Set("normalized", a.Normalized)
		o.Set("special", a.Special)
		list[i] = o
	}
	root.Set("added_tokens", list)
	root.Set("normalizer", nil)
	root.Set("pre_tokenizer", byteLevelObject(t.pre))
	if t.post != nil {
		root.Set("post_processor", byteLevelObject(*t.post))
	} else {
		root.Set("post_processor", nil)
	}
	root.Set("decoder", byteLevelObject(t.dec))
	m := &t.model
	mo := ojson.NewObject()
	mo.Set("type", "BPE")
	if m.dropout != "" {
		mo.Set("dropout", m.dropout)
	} else {
		mo.Set("dropout", nil)
	}
	if m.hasUnk {
		mo.Set("unk_token", m.unkToken)
	} else {
		mo.Set("unk_token", nil)
	}
	mo.Set("continuing_subword_prefix", optString(m.emptyPrefix))
	mo.Set("end_of_word_suffix", optString(m.emptySuffix))
	mo.Set("fuse_unk", m.fuseUnk)
	mo.Set("byte_fallback", false)
	mo.Set("ignore_merges", m.ignoreMerges)
	vocab := ojson.NewObject()
	for id, tok := range m.vocabR {
		if m.hasID[id] {
			vocab.Set(tok, int32(id))
		}
	}
	mo.Set("vocab", vocab)
	mo.Set("merges", m.mergeList)
	root.Set("model", mo)
	enc := ojson.Encoder{Indent: "  "}
	return enc.Marshal(root)
}

// optString is "" when set, else null: the only supported values of
// continuing_subword_prefix and end_of_word_suffix.
func optString(set bool) any {
	if set {
		return ""
	}
	return nil
}

func byteLevelObject(c ByteLevelConfig) *ojson.Object {
	o := ojson.NewObject()
	o.Set("type", "ByteLevel")
	o.Set("add_prefix_space", c.AddPrefixSpace)
	o.Set("trim_offsets", c.TrimOffsets)
	o.Set("use_regex", c.UseRegex)
	return o
}
