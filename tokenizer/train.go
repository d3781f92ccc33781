package tokenizer

import (
	"bufio"
	"container/heap"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/minimind-go/minimind/tokenizer/internal/ojson"
)

// MiniMindSpecialTokens are the special tokens MiniMind trains with, in id
// order: <|endoftext|> (pad, unk), <|im_start|> (bos), <|im_end|> (eos).
var MiniMindSpecialTokens = []string{"<|endoftext|>", "<|im_start|>", "<|im_end|>"}

// TrainOptions configures Train. The zero value trains like MiniMind.
type TrainOptions struct {
	// VocabSize is the size of the vocabulary to reach, special tokens and
	// alphabet included (0 means 6400).
	VocabSize int
	// MinFrequency stops the training when the best pair occurs fewer times.
	MinFrequency int64
	// SpecialTokens come first in the vocabulary (nil means
	// MiniMindSpecialTokens; use an empty non-nil slice for none).
	SpecialTokens []string
	// SeenAlphabetOnly leaves out the ByteLevel symbols that the corpus does
	// not use (Hugging Face's default trainer); MiniMind includes all 256.
	SeenAlphabetOnly bool
	// ChatTemplate is written to tokenizer_config.json ("" means MiniMind's
	// ChatML template, MiniMindChatTemplate).
	ChatTemplate string
	// Workers is the number of goroutines that split the texts into words
	// (0 means GOMAXPROCS).
	Workers int
	// Progress, when set, is called from time to time.
	Progress func(TrainProgress)
}

// TrainProgress reports how far training is.
type TrainProgress struct {
	Stage string // "count" while reading the corpus, "merge" while merging
	Texts int64  // texts read so far
	Bytes int64  // bytes of text read so far
	Words int    // distinct words (from the merge stage on)
	Done  int    // vocabulary entries so far (merge stage)
	Total int    // the vocabulary size aimed at (merge stage)
}

// JSONLTexts yields the texts of a jsonl corpus: the "text" field of
// pretraining lines ({"text": ...}) and, for SFT lines ({"conversations":
// [{"role": ..., "content": ...}, ...]}), the content (and reasoning_content)
// of each message in turn. Blank lines are skipped; a line that is not
// JSON, or has neither field, stops the sequence with an error naming the
// line. name is used in errors.
func JSONLTexts(r io.Reader, name string) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		br := bufio.NewReaderSize(r, 1<<20)
		for line := 1; ; line++ {
			b, err := br.ReadBytes('\n')
			if len(strings.TrimSpace(string(b))) > 0 {
				var row struct {
					Text          *string `json:"text"`
					Conversations []struct {
						Content          any     `json:"content"`
						ReasoningContent *string `json:"reasoning_content"`
					} `json:"conversations"`
				}
				if jerr := json.Unmarshal(b, &row); jerr != nil {
					yield("", fmt.Errorf("%s:%d: %w", name, line, jerr))
					return
				}
				switch {
				case row.Text != nil:
					if !yield(*row.Text, nil) {
						return
					}
				case row.Conversations != nil:
					for _, m := range row.Conversations {
						if m.ReasoningContent != nil && *m.ReasoningContent != "" {
							if !yield(*m.ReasoningContent, nil) {
								return
							}
						}
						if s, ok := m.Content.(string); ok && s != "" {
							if !yield(s, nil) {
								return
							}
						}
					}
				default:
					yield("", fmt.Errorf("%s:%d: neither \"text\" nor \"conversations\"", name, line))
					return
				}
			}
			if err == io.EOF {
				return
			}
			if err != nil {
				yield("", fmt.Errorf("%s:%d: %w", name, line, err))
				return
			}
		}
	}
}

// LineTexts yields each line of r with its line ending, which is how Hugging
// Face's Tokenizer.train(files) reads plain text files.
func LineTexts(r io.Reader) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		br := bufio.NewReaderSize(r, 1<<20)
		for {
			s, err := br.ReadString('\n')
			if s != "" && !yield(s, nil) {
				return
			}
			if err == io.EOF {
				return
			}
			if err != nil {
				yield("", err)
				return
			}
		}
	}
}

// Train learns a byte-level BPE tokenizer from texts with the algorithm of
// Hugging Face's BpeTrainer: words are counted after the ByteLevel
// pre-tokenizer, the vocabulary starts with the special tokens and the
// ByteLevel alphabet (sorted by symbol), and the most frequent adjacent pair
// is merged until the vocabulary is full, ties going to the pair with the
// smallest (left id, right id). The result has MiniMind's layout, including
// a tokenizer_config.json with the chat template.
func Train(ctx context.Context, texts iter.Seq2[string, error], opts TrainOptions) (*Tokenizer, error) {
	if opts.VocabSize == 0 {
		opts.VocabSize = 6400
	}
	if opts.VocabSize < 0 || opts.VocabSize >= maxID {
		return nil, fmt.Errorf("tokenizer: train: vocab size %d out of range", opts.VocabSize)
	}
	if opts.SpecialTokens == nil {
		opts.SpecialTokens = MiniMindSpecialTokens
	}
	if opts.ChatTemplate == "" {
		opts.ChatTemplate = MiniMindChatTemplate
	}
	counts, err := countWords(ctx, texts, opts)
	if err != nil {
		return nil, err
	}
	tr := newBPETrainer(opts)
	if err := tr.run(ctx, counts); err != nil {
		return nil, err
	}
	return tr.tokenizer()
}

// countWords splits every text into pre-tokenizer words and counts them.
// Words are kept as raw bytes.
func countWords(ctx context.Context, texts iter.Seq2[string, error], opts TrainOptions) (map[string]int64, error) {
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	const batchBytes = 1 << 20
	batches := make(chan []string, 2*workers)
	results := make([]map[string]int64, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := map[string]int64{}
			for batch := range batches {
				for _, s := range batch {
					for i := 0; i < len(s); {
						j := nextWord(s, i)
						m[s[i:j]]++
						i = j
					}
				}
			}
			results[w] = m
		}()
	}
	var (
		p       = TrainProgress{Stage: "count"}
		batch   []string
		size    int
		readErr error
	)
	for s, err := range texts {
		if err != nil {
			readErr = fmt.Errorf("tokenizer: train: %w", err)
			break
		}
		if ctx.Err() != nil {
			readErr = ctx.Err()
			break
		}
		batch = append(batch, s)
		size += len(s)
		p.Texts++
		p.Bytes += int64(len(s))
		if size >= batchBytes {
			batches <- batch
			batch, size = nil, 0
			if opts.Progress != nil {
				opts.Progress(p)
			}
		}
	}
	if len(batch) > 0 && readErr == nil {
		batches <- batch
	}
	close(batches)
	wg.Wait()
	if readErr != nil {
		return nil, readErr
	}
	if opts.Progress != nil {
		opts.Progress(p)
	}
	total := results[0]
	for _, m := range results[1:] {
		for k, v := range m {
			total[k] += v
		}
	}
	return total, nil
}

// bpeTrainer holds the state of one training run.
type bpeTrainer struct {
	opts      TrainOptions
	tokens    []string         // id → token in ByteLevel symbols
	ids       map[string]int32 // token → id
	nSpecial  int
	merges    [][2]int32 // in rank order
	byteToSym [256]int32 // id of each byte's symbol
}

func newBPETrainer(opts TrainOptions) *bpeTrainer {
	return &bpeTrainer{opts: opts, ids: map[string]int32{}}
}

// add appends tok to the vocabulary unless it is there, returning its id.
func (tr *bpeTrainer) add(tok string) int32 {
	if id, ok := tr.ids[tok]; ok {
		return id
	}
	id := int32(len(tr.tokens))
	tr.tokens = append(tr.tokens, tok)
	tr.ids[tok] = id
	return id
}

// trainWord is one distinct word: its symbols, merged in place, and count.
type trainWord struct {
	syms  []int32
	count int64
}

// pairEntry is a heap entry: a pair, its count when pushed, and the words
// that may hold it.
type pairEntry struct {
	count int64
	pair  uint64
	pos   []int32
}

// pairHeap orders pairs by count, highest first, then by (left, right) id,
// smallest first, as Hugging Face's trainer does.
type pairHeap []*pairEntry

func (h pairHeap) Len() int { return len(h) }
func (h pairHeap) Less(i, j int) bool {
	if h[i].count != h[j].count {
		return h[i].count > h[j].count
	}
	return h[i].pair < h[j].pair
}
func (h pairHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *pairHeap) Push(x any)   { *h = append(*h, x.(*pairEntry)) }
func (h *pairHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// run trains on the word counts.
func (tr *bpeTrainer) run(ctx context.Context, counts map[string]int64) error {
	for _, s := range tr.opts.SpecialTokens {
		tr.add(s)
	}
	tr.nSpecial = len(tr.tokens)
	// The alphabet: the symbols used by the words (and all 256 unless
	// SeenAlphabetOnly), sorted by rune.
	var seen [256]bool
	for w := range counts {
		for i := 0; i < len(w); i++ {
			seen[w[i]] = true
		}
	}
	var alphabet []rune
	for b := 0; b < 256; b++ {
		if seen[b] || !tr.opts.SeenAlphabetOnly {
			alphabet = append(alphabet, std.byteToRune[b])
		}
	}
	sort.Slice(alphabet, func(i, j int) bool { return alphabet[i] < alphabet[j] })
	for _, r := range alphabet {
		tr.add(string(r))
	}
	for b := 0; b < 256; b++ {
		tr.byteToSym[b] = -1
		if id, ok := tr.ids[std.byteToStr[b]]; ok {
			tr.byteToSym[b] = id
		}
	}
	// Words in a fixed order (the order does not change the result, only
	// the order of work).
	keys := make([]string, 0, len(counts))
	total := 0
	for w := range counts {
		keys = append(keys, w)
		total += len(w)
	}
	sort.Strings(keys)
	arena := make([]int32, 0, total)
	words := make([]trainWord, len(keys))
	for i, w := range keys {
		start := len(arena)
		for k := 0; k < len(w); k++ {
			arena = append(arena, tr.byteToSym[w[k]])
		}
		words[i] = trainWord{syms: arena[start:len(arena):len(arena)], count: counts[w]}
	}
	// Count the pairs and where they occur.
	pairCounts := map[uint64]int64{}
	where := map[uint64][]int32{}
	for i, w := range words {
		for k := 0; k+1 < len(w.syms); k++ {
			p := pairKey(w.syms[k], w.syms[k+1])
			pairCounts[p] += w.count
			if l := where[p]; len(l) == 0 || l[len(l)-1] != int32(i) {
				where[p] = append(l, int32(i))
			}
		}
	}
	h := make(pairHeap, 0, len(where))
	for p, pos := range where {
		if c := pairCounts[p]; c > 0 {
			h = append(h, &pairEntry{count: c, pair: p, pos: pos})
		}
	}
	heap.Init(&h)
	clear(where)
	progress := func() {
		if tr.opts.Progress != nil {
			tr.opts.Progress(TrainProgress{Stage: "merge", Words: len(words), Done: len(tr.tokens), Total: tr.opts.VocabSize})
		}
	}
	progress()
	for len(tr.tokens) < tr.opts.VocabSize && h.Len() > 0 {
		if len(tr.merges)%64 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			if len(tr.merges)%512 == 0 {
				progress()
			}
		}
		top := heap.Pop(&h).(*pairEntry)
		if c := pairCounts[top.pair]; c != top.count {
			top.count = c
			heap.Push(&h, top)
			continue
		}
		if top.count < 1 || top.count < tr.opts.MinFrequency {
			break
		}
		a, b := int32(top.pair>>32), int32(uint32(top.pair))
		newID := tr.add(tr.tokens[a] + tr.tokens[b])
		tr.merges = append(tr.merges, [2]int32{a, b})
		for _, wi := range top.pos {
			w := &words[wi]
			w.syms = mergeTrainWord(w.syms, a, b, newID, func(p uint64, delta int64) {
				pairCounts[p] += delta * w.count
				if delta > 0 {
					if l := where[p]; len(l) == 0 || l[len(l)-1] != wi {
						where[p] = append(l, wi)
					}
				}
			})
		}
		delete(pairCounts, top.pair)
		// Push the pairs that were formed, in a fixed order.
		formed := make([]uint64, 0, len(where))
		for p := range where {
			formed = append(formed, p)
		}
		sort.Slice(formed, func(i, j int) bool { return formed[i] < formed[j] })
		for _, p := range formed {
			if c := pairCounts[p]; c > 0 {
				heap.Push(&h, &pairEntry{count: c, pair: p, pos: where[p]})
			}
		}
		clear(where)
	}
	progress()
	return nil
}

// mergeTrainWord replaces every non-overlapping (a, b), left to right, by
// id in w and reports each change of pair counts, exactly as Hugging Face's
// Word::merge does.
func mergeTrainWord(w []int32, a, b, id int32, change func(pair uint64, delta int64)) []int32 {
	for i := 0; i < len(w); i++ {
		if w[i] != a || i+1 >= len(w) || w[i+1] != b {
			continue
		}
		if i > 0 {
			change(pairKey(w[i-1], a), -1)
			change(pairKey(w[i-1], id), 1)
		}
		w[i] = id
		copy(w[i+1:], w[i+2:])
		w = w[:len(w)-1]
		if i < len(w)-1 {
			change(pairKey(b, w[i+1]), -1)
			change(pairKey(id, w[i+1]), 1)
		}
	}
	return w
}

// tokenizer builds the trained Tokenizer with MiniMind's layout.
func (tr *bpeTrainer) tokenizer() (*Tokenizer, error) {
	t := &Tokenizer{
		version: "1.0",
		pre:     ByteLevelConfig{AddPrefixSpace: false, TrimOffsets: true, UseRegex: true},
		dec:     ByteLevelConfig{AddPrefixSpace: true, TrimOffsets: true, UseRegex: true},
	}
	m := &t.model
	m.vocab = make(map[string]int32, len(tr.tokens))
	m.vocabR = make([]string, len(tr.tokens))
	m.hasID = make([]bool, len(tr.tokens))
	for id, tok := range tr.tokens {
		m.vocab[tok] = int32(id)
		m.vocabR[id] = tok
		m.hasID[id] = true
	}
	m.unkID = -1
	for b := 0; b < 256; b++ {
		m.byteIDs[b] = -1
		if id, ok := m.vocab[std.byteToStr[b]]; ok {
			m.byteIDs[b] = id
		}
	}
	m.merges = make(map[uint64]uint64, len(tr.merges))
	for rank, p := range tr.merges {
		if err := m.addMerge([2]string{tr.tokens[p[0]], tr.tokens[p[1]]}, rank); err != nil {
			return nil, fmt.Errorf("tokenizer: train: merge %d: %w", rank, err)
		}
	}
	m.table = newMergeTable(m.merges)
	added := make([]AddedToken, 0, tr.nSpecial)
	for id, s := range tr.opts.SpecialTokens {
		added = append(added, AddedToken{ID: int32(id), Content: s, Special: true})
	}
	if err := t.setAdded(added); err != nil {
		return nil, err
	}
	c, err := miniMindConfig(tr.opts.SpecialTokens, tr.opts.ChatTemplate)
	if err != nil {
		return nil, err
	}
	t.config = c
	return t, nil
}

// miniMindConfig returns the tokenizer_config.json that MiniMind writes next
// to a trained tokenizer.
func miniMindConfig(special []string, template string) (*Config, error) {
	tok := func(i int) any {
		if i < len(special) {
			return special[i]
		}
		return nil
	}
	root := ojson.NewObject()
	root.Set("add_bos_token", false)
	root.Set("add_eos_token", false)
	root.Set("add_prefix_space", false)
	dec := ojson.NewObject()
	for i, s := range special {
		o := ojson.NewObject()
		o.Set("content", s)
		o.Set("lstrip", false)
		o.Set("normalized", false)
		o.Set("rstrip", false)
		o.Set("single_word", false)
		o.Set("special", true)
		dec.Set(fmt.Sprint(i), o)
	}
	root.Set("added_tokens_decoder", dec)
	root.Set("additional_special_tokens", []any{})
	root.Set("bos_token", tok(1))
	root.Set("clean_up_tokenization_spaces", false)
	root.Set("eos_token", tok(2))
	root.Set("legacy", true)
	root.Set("model_max_length", 32768)
	root.Set("pad_token", tok(0))
	root.Set("sp_model_kwargs", ojson.NewObject())
	root.Set("spaces_between_special_tokens", false)
	root.Set("tokenizer_class", "PreTrainedTokenizerFast")
	root.Set("unk_token", tok(0))
	root.Set("chat_template", template)
	data, err := (&ojson.Encoder{Indent: "  "}).Marshal(root)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: train: %w", err)
	}
	return ParseConfig(data, ConfigFile)
}
