package tokenizer

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sync"
)

// File names inside a tokenizer folder.
const (
	TokenizerFile = "tokenizer.json"
	ConfigFile    = "tokenizer_config.json"
)

// Kinds of ids, for decoding.
const (
	kindNone    = iota // not a token
	kindModel          // a token of the BPE vocabulary
	kindAdded          // a non-special added token
	kindSpecial        // a special added token
)

// Tokenizer is a byte-level BPE tokenizer. It is safe for concurrent use;
// its methods never modify it except SetConfig.
type Tokenizer struct {
	version        string
	model          bpeModel
	added          []*AddedToken          // in file order, ids assigned
	addedByContent map[string]*AddedToken // content → token
	plain, norm    *matcher               // added tokens matched on the raw / normalized text
	pre, dec       ByteLevelConfig        // pre-tokenizer and decoder
	post           *ByteLevelConfig       // optional ByteLevel post-processor
	idTok          []string               // [n ids] id → token text (ByteLevel symbols, or an added token's content)
	idKind         []uint8                // [n ids] kind of each id
	config         *Config                // tokenizer_config.json, nil when absent
	chat           chatTemplate           // the parsed chat template

	mu   sync.Mutex // guards free
	free []*encoder // idle encoders with their word caches
}

// Load reads a tokenizer from a folder holding tokenizer.json (and
// optionally tokenizer_config.json), or from the path of a tokenizer.json
// file (its folder's tokenizer_config.json is read when present).
func Load(p string) (*Tokenizer, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	dir, file := p, TokenizerFile
	if !st.IsDir() {
		dir, file = filepath.Dir(p), filepath.Base(p)
	}
	return load(os.DirFS(dir), ".", file, dir)
}

// LoadFS reads a tokenizer from the folder dir of fsys (as Load does for a
// folder); it lets a program embed a default tokenizer.
func LoadFS(fsys fs.FS, dir string) (*Tokenizer, error) {
	return load(fsys, dir, TokenizerFile, dir)
}

func load(fsys fs.FS, dir, file, shown string) (*Tokenizer, error) {
	name := path.Join(dir, file)
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	var cfg []byte
	cfgName := path.Join(dir, ConfigFile)
	if cfg, err = fs.ReadFile(fsys, cfgName); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	t, err := parseFile(data, filepath.Join(shown, file))
	if err != nil {
		return nil, err
	}
	if cfg != nil {
		c, err := ParseConfig(cfg, filepath.Join(shown, ConfigFile))
		if err != nil {
			return nil, err
		}
		t.config = c
	}
	return t, nil
}

// FromJSON builds a tokenizer from the contents of tokenizer.json and,
// when config is not nil, tokenizer_config.json.
func FromJSON(tokenizerJSON, config []byte) (*Tokenizer, error) {
	t, err := parseFile(tokenizerJSON, TokenizerFile)
	if err != nil {
		return nil, err
	}
	if config != nil {
		c, err := ParseConfig(config, ConfigFile)
		if err != nil {
			return nil, err
		}
		t.config = c
	}
	return t, nil
}

// MarshalTokenizerJSON returns tokenizer.json as Hugging Face's
// save(pretty=true) writes it.
func (t *Tokenizer) MarshalTokenizerJSON() ([]byte, error) { return t.marshalFile() }

// Save writes tokenizer.json and, when the tokenizer has a Config,
// tokenizer_config.json into dir, creating it. Each file is written to a
// temporary name first and then renamed.
func (t *Tokenizer) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("tokenizer: %w", err)
	}
	data, err := t.marshalFile()
	if err != nil {
		return fmt.Errorf("tokenizer: %s: %w", TokenizerFile, err)
	}
	if err := writeFileAtomic(filepath.Join(dir, TokenizerFile), data); err != nil {
		return err
	}
	if t.config == nil {
		return nil
	}
	data, err = t.config.Marshal()
	if err != nil {
		return fmt.Errorf("tokenizer: %s: %w", ConfigFile, err)
	}
	return writeFileAtomic(filepath.Join(dir, ConfigFile), data)
}

func writeFileAtomic(name string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".tmp*")
	if err != nil {
		return fmt.Errorf("tokenizer: %w", err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(0o644)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), name)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("tokenizer: writing %s: %w", name, err)
	}
	return nil
}

// Config returns the settings read from tokenizer_config.json, or nil.
func (t *Tokenizer) Config() *Config { return t.config }

// SetConfig replaces the tokenizer_config.json settings. It must not be
// called while the tokenizer is in use by other goroutines.
func (t *Tokenizer) SetConfig(c *Config) { t.config = c }

// VocabSize returns the number of ids: one more than the largest id of the
// vocabulary and the added tokens.
func (t *Tokenizer) VocabSize() int { return len(t.idTok) }

// PreTokenizer returns the ByteLevel pre-tokenizer settings.
func (t *Tokenizer) PreTokenizer() ByteLevelConfig { return t.pre }

// AddedTokens returns copies of the added tokens, in file order.
func (t *Tokenizer) AddedTokens() []AddedToken {
	out := make([]AddedToken, len(t.added))
	for i, a := range t.added {
		out[i] = *a
	}
	return out
}

// Merges returns the merges in rank order, each as its two tokens.
func (t *Tokenizer) Merges() [][2]string {
	out := make([][2]string, len(t.model.mergeList))
	copy(out, t.model.mergeList)
	return out
}

// TokenToID returns the id of a token: an added token's content, or a
// vocabulary entry written in ByteLevel symbols (such as "Ġthe").
func (t *Tokenizer) TokenToID(tok string) (int32, bool) {
	if a, ok := t.addedByContent[tok]; ok {
		return a.ID, true
	}
	id, ok := t.model.vocab[tok]
	return id, ok
}

// IDToToken returns the token of id as it is written in tokenizer.json.
func (t *Tokenizer) IDToToken(id int32) (string, bool) {
	if id < 0 || int(id) >= len(t.idTok) || t.idKind[id] == kindNone {
		return "", false
	}
	return t.idTok[id], true
}

// IsSpecial reports whether id is a special added token.
func (t *Tokenizer) IsSpecial(id int32) bool {
	return id >= 0 && int(id) < len(t.idKind) && t.idKind[id] == kindSpecial
}

// SpecialID returns the id of a special token named in tokenizer_config.json
// ("bos", "eos", "pad" or "unk"); ok is false when it is not set or unknown.
func (t *Tokenizer) SpecialID(which string) (id int32, ok bool) {
	if t.config == nil {
		return -1, false
	}
	var s string
	switch which {
	case "bos":
		s = t.config.BOSToken
	case "eos":
		s = t.config.EOSToken
	case "pad":
		s = t.config.PadToken
	case "unk":
		s = t.config.UnkToken
	default:
		return -1, false
	}
	if s == "" {
		return -1, false
	}
	return t.TokenToID(s)
}

// encoder holds per-goroutine scratch space and a word cache.
type encoder struct {
	scratch wordScratch
	sym     []byte     // ByteLevel spelling buffer (ignore_merges)
	segs    []segment  // pieces of the current text
	cache   *wordCache // recently seen words
	prefix  []byte     // " "+piece when add_prefix_space applies
}

func (t *Tokenizer) getEncoder() *encoder {
	t.mu.Lock()
	if n := len(t.free); n > 0 {
		e := t.free[n-1]
		t.free = t.free[:n-1]
		t.mu.Unlock()
		return e
	}
	t.mu.Unlock()
	return &encoder{cache: newWordCache()}
}

func (t *Tokenizer) putEncoder(e *encoder) {
	t.mu.Lock()
	if len(t.free) < 2*runtime.GOMAXPROCS(0) {
		t.free = append(t.free, e)
	}
	t.mu.Unlock()
}

// Encode returns the ids of text. Added tokens in the text (such as
// <|im_start|>) become their single ids; nothing else is added. Text that is
// not valid UTF-8 is encoded byte by byte without loss.
func (t *Tokenizer) Encode(text string) []int32 {
	return t.AppendEncode(make([]int32, 0, len(text)/3+4), text)
}

// AppendEncode appends the ids of text to dst and returns the result.
func (t *Tokenizer) AppendEncode(dst []int32, text string) []int32 {
	e := t.getEncoder()
	dst = t.encodeWith(e, dst, text)
	t.putEncoder(e)
	return dst
}

func (t *Tokenizer) encodeWith(e *encoder, dst []int32, text string) []int32 {
	if t.plain == nil && t.norm == nil {
		return t.encodePiece(e, dst, text)
	}
	e.segs = t.splitAdded(e.segs[:0], text)
	for _, sg := range e.segs {
		if sg.tok != nil {
			dst = append(dst, sg.tok.ID)
		} else {
			dst = t.encodePiece(e, dst, text[sg.start:sg.end])
		}
	}
	return dst
}

// splitAdded cuts text into added tokens and plain pieces: first by the
// tokens matched on the raw text, then each plain piece by the tokens
// matched on normalized text.
func (t *Tokenizer) splitAdded(segs []segment, text string) []segment {
	plainPiece := func(segs []segment, lo, hi int) []segment {
		return append(segs, segment{start: lo, end: hi})
	}
	second := func(segs []segment, lo, hi int) []segment {
		return t.norm.split(segs, text, lo, hi, plainPiece)
	}
	return t.plain.split(segs, text, 0, len(text), second)
}

// encodePiece encodes text that holds no added token.
func (t *Tokenizer) encodePiece(e *encoder, dst []int32, piece string) []int32 {
	if piece == "" {
		return dst
	}
	if t.pre.AddPrefixSpace && piece[0] != ' ' {
		e.prefix = append(append(e.prefix[:0], ' '), piece...)
		piece = string(e.prefix)
	}
	if !t.pre.UseRegex {
		return t.encodeWord(e, dst, piece)
	}
	for i := 0; i < len(piece); {
		j := nextWord(piece, i)
		dst = t.encodeWord(e, dst, piece[i:j])
		i = j
	}
	return dst
}

// encodeWord encodes one pre-tokenizer word, through the cache.
func (t *Tokenizer) encodeWord(e *encoder, dst []int32, word string) []int32 {
	if len(word) == 1 && !t.model.ignoreMerges {
		if id := t.model.byteIDs[word[0]]; id >= 0 {
			return append(dst, id)
		}
	}
	if len(word) > cacheWordLen {
		return t.model.encodeWord(dst, word, &e.scratch, &e.sym)
	}
	h := e.cache.hash(word)
	if ids, ok := e.cache.get(word, h); ok {
		return append(dst, ids...)
	}
	n := len(dst)
	dst = t.model.encodeWord(dst, word, &e.scratch, &e.sym)
	e.cache.put(word, h, dst[n:])
	return dst
}

// EncodeBatch encodes many texts using all cores; the result has one slice
// per text, in order.
func (t *Tokenizer) EncodeBatch(texts []string) [][]int32 {
	out, _ := t.EncodeBatchContext(context.Background(), texts)
	return out
}

// EncodeBatchContext is EncodeBatch that stops early, returning ctx.Err(),
// when ctx is cancelled.
func (t *Tokenizer) EncodeBatchContext(ctx context.Context, texts []string) ([][]int32, error) {
	out := make([][]int32, len(texts))
	workers := min(runtime.GOMAXPROCS(0), len(texts))
	if workers <= 1 {
		e := t.getEncoder()
		defer t.putEncoder(e)
		for i, s := range texts {
			if i%256 == 0 && ctx.Err() != nil {
				return out, ctx.Err()
			}
			out[i] = t.encodeWith(e, make([]int32, 0, len(s)/3+4), s)
		}
		return out, nil
	}
	// Hand out texts in chunks of about 64 KiB so that long and short texts
	// balance across workers without contention on the counter.
	var (
		next sync.Mutex
		pos  int
		wg   sync.WaitGroup
	)
	take := func() (int, int) {
		next.Lock()
		defer next.Unlock()
		lo := pos
		size := 0
		for pos < len(texts) && (pos == lo || size < 64<<10) {
			size += len(texts[pos]) + 16
			pos++
		}
		return lo, pos
	}
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := t.getEncoder()
			defer t.putEncoder(e)
			for ctx.Err() == nil {
				lo, hi := take()
				if lo == hi {
					return
				}
				for i := lo; i < hi; i++ {
					out[i] = t.encodeWith(e, make([]int32, 0, len(texts[i])/3+4), texts[i])
				}
			}
		}()
	}
	wg.Wait()
	return out, ctx.Err()
}

// String describes the tokenizer briefly.
func (t *Tokenizer) String() string {
	return fmt.Sprintf("BPE tokenizer: %d ids, %d merges, %d added tokens", len(t.idTok), len(t.model.mergeList), len(t.added))
}
