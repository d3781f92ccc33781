package native

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
)

// cacheVersion changes whenever the cache layout or the sample rules change.
const cacheVersion = 1

// cacheMagic ends every cache file.
const cacheMagic = "MMTOKv1\n"

// maxReportedLines is how many malformed lines are kept with their errors.
const maxReportedLines = 10

// CacheKey identifies the inputs of a tokenized cache: a cache is reused
// only when every field matches.
type CacheKey struct {
	Version       int    `json:"version"`
	DataName      string `json:"data_name"`     // base name of the data file
	DataSize      int64  `json:"data_size"`     // bytes
	DataModTime   int64  `json:"data_mod_time"` // Unix nanoseconds
	Tokenizer     string `json:"tokenizer"`     // hash of the tokenizer files
	Mode          Mode   `json:"mode"`
	MaxSeqLen     int    `json:"max_seq_len"`
	Vocab         int    `json:"vocab"`
	BOS           int32  `json:"bos"`
	EOS           int32  `json:"eos"`
	PAD           int32  `json:"pad"`
	SystemPrompts bool   `json:"system_prompts"`
	Seed          uint64 `json:"seed"` // only with SystemPrompts
}

// NewCacheKey returns the key for data file path processed with cfg by a
// tokenizer whose files hash to tokHash.
func NewCacheKey(path string, cfg DataConfig, tokHash string) (CacheKey, error) {
	st, err := os.Stat(path)
	if err != nil {
		return CacheKey{}, fmt.Errorf("native: data file: %w", err)
	}
	k := CacheKey{Version: cacheVersion, DataName: filepath.Base(path), DataSize: st.Size(),
		DataModTime: st.ModTime().UnixNano(), Tokenizer: tokHash, Mode: cfg.Mode, MaxSeqLen: cfg.MaxSeqLen,
		Vocab: cfg.Vocab, BOS: cfg.BOS, EOS: cfg.EOS, PAD: cfg.PAD, SystemPrompts: cfg.SystemPrompts && cfg.Mode == SFT}
	if k.SystemPrompts {
		k.Seed = cfg.Seed
	}
	return k, nil
}

// Hash is a short hex digest of the key, used in the cache file name.
func (k CacheKey) Hash() string {
	b, _ := json.Marshal(k)
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:8])
}

// FileName is the cache file name for the key: data name, mode, length and hash.
func (k CacheKey) FileName() string {
	name := strings.TrimSuffix(k.DataName, filepath.Ext(k.DataName))
	return fmt.Sprintf("%s.%s.%d.%s.mmtok", name, k.Mode, k.MaxSeqLen, k.Hash())
}

// HashFiles returns a hex SHA-256 over the contents of the named files (in
// order); missing files are an error.
func HashFiles(paths ...string) (string, error) {
	h := sha256.New()
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return "", fmt.Errorf("native: %w", err)
		}
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return "", fmt.Errorf("native: reading %s: %w", p, err)
		}
		fmt.Fprintf(h, "\x00%s\x00", filepath.Base(p))
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// LineError is a malformed line of a data file.
type LineError struct {
	Line int    `json:"line"`
	Err  string `json:"error"`
}

// DataStats summarises a tokenized data file.
type DataStats struct {
	Lines    int         `json:"lines"`     // lines read
	Samples  int         `json:"samples"`   // good samples
	Blank    int         `json:"blank"`     // empty lines (skipped silently)
	Bad      int         `json:"bad"`       // malformed lines (skipped)
	BadLines []LineError `json:"bad_lines"` // the first few malformed lines
	Tokens   int64       `json:"tokens"`    // tokens in all samples
}

// MalformedError reports the malformed lines of a data file.
type MalformedError struct {
	File  string
	Count int
	Lines []LineError
}

// Error lists the count and the first malformed lines with their problems.
func (e *MalformedError) Error() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s: %d malformed line(s)", e.File, e.Count)
	for i, l := range e.Lines {
		if i == 0 {
			sb.WriteString(": ")
		} else {
			sb.WriteString("; ")
		}
		fmt.Fprintf(&sb, "line %d: %s", l.Line, l.Err)
	}
	return sb.String()
}

// cacheMeta is the JSON trailer of a cache file.
type cacheMeta struct {
	Key       CacheKey  `json:"key"`
	Stats     DataStats `json:"stats"`
	Width     int       `json:"width"`      // bytes per token id (2 or 4)
	HasMask   bool      `json:"has_mask"`   // SFT: a bit mask follows each sample's ids
	IndexOff  int64     `json:"index_off"`  // byte offset of the index
	IndexSize int       `json:"index_size"` // samples in the index
}

// Dataset is a tokenized data file read from its cache. Samples are read
// on demand, so a multi-GB corpus costs 12 bytes of memory per sample.
// Doc is safe for concurrent use.
type Dataset struct {
	Path  string // the cache file
	Key   CacheKey
	Stats DataStats
	f     io.ReaderAt
	close func() error
	width int
	mask  bool
	pad   int32   // padding id
	offs  []int64 // [samples] byte offset of each sample
	lens  []int32 // [samples] tokens in each sample
}

// Len is the number of samples.
func (d *Dataset) Len() int { return len(d.lens) }

// DocLen is the number of tokens of sample i.
func (d *Dataset) DocLen(i int) int { return int(d.lens[i]) }

// Doc reads sample i.
func (d *Dataset) Doc(i int) (Doc, error) {
	if i < 0 || i >= len(d.lens) {
		return Doc{}, fmt.Errorf("native: sample %d out of range [0, %d)", i, len(d.lens))
	}
	n := int(d.lens[i])
	size := n * d.width
	if d.mask {
		size += (n + 7) / 8
	}
	buf := make([]byte, size)
	if _, err := d.f.ReadAt(buf, d.offs[i]); err != nil {
		return Doc{}, fmt.Errorf("native: %s: sample %d: %w", d.Path, i, err)
	}
	doc := Doc{Tokens: make([]int32, n)}
	for j := range n {
		if d.width == 2 {
			doc.Tokens[j] = int32(binary.LittleEndian.Uint16(buf[2*j:]))
		} else {
			doc.Tokens[j] = int32(binary.LittleEndian.Uint32(buf[4*j:]))
		}
	}
	if d.mask {
		bits := buf[n*d.width:]
		doc.Mask = make([]bool, n)
		for j := range n {
			doc.Mask[j] = bits[j/8]&(1<<(j%8)) != 0
		}
	}
	return doc, nil
}

// Close releases the cache file.
func (d *Dataset) Close() error {
	if d.close == nil {
		return nil
	}
	return d.close()
}

// NewMemDataset returns a dataset holding docs in memory (for tests and
// small jobs), padded with pad. The docs must already be tokenized and cut
// to length.
func NewMemDataset(docs []Doc, pad int32) *Dataset {
	var buf bytes.Buffer
	d := &Dataset{Path: "memory", width: 4, pad: pad}
	for _, doc := range docs {
		if doc.Mask != nil {
			d.mask = true
		}
	}
	for _, doc := range docs {
		d.offs = append(d.offs, int64(buf.Len()))
		d.lens = append(d.lens, int32(len(doc.Tokens)))
		buf.Write(encodeDoc(nil, doc, d.width, d.mask))
		d.Stats.Tokens += int64(len(doc.Tokens))
	}
	d.Stats.Samples, d.Stats.Lines = len(docs), len(docs)
	d.f = bytes.NewReader(buf.Bytes())
	return d
}

// encodeDoc appends the cache form of doc: ids of width bytes, then the
// label mask as bits when mask is set.
func encodeDoc(dst []byte, doc Doc, width int, mask bool) []byte {
	for _, id := range doc.Tokens {
		if width == 2 {
			dst = binary.LittleEndian.AppendUint16(dst, uint16(id))
		} else {
			dst = binary.LittleEndian.AppendUint32(dst, uint32(id))
		}
	}
	if mask {
		bits := make([]byte, (len(doc.Tokens)+7)/8)
		for j := range doc.Tokens {
			if doc.Labelled(j) {
				bits[j/8] |= 1 << (j % 8)
			}
		}
		dst = append(dst, bits...)
	}
	return dst
}

// OpenCache opens the cache file at path and checks that it was built for
// key.
func OpenCache(path string, key CacheKey) (*Dataset, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("native: cache: %w", err)
	}
	d, err := readCache(f, path, key)
	if err != nil {
		f.Close()
		return nil, err
	}
	d.close = f.Close
	return d, nil
}

func readCache(f *os.File, path string, key CacheKey) (*Dataset, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("native: cache %s: %w", path, err)
	}
	size := st.Size()
	bad := func(format string, args ...any) error {
		return fmt.Errorf("native: cache %s: %s", path, fmt.Sprintf(format, args...))
	}
	if size < 16 {
		return nil, bad("too short")
	}
	tail := make([]byte, 16) // [meta length uint64][magic]
	if _, err := f.ReadAt(tail, size-16); err != nil {
		return nil, bad("%v", err)
	}
	if string(tail[8:]) != cacheMagic {
		return nil, bad("not a token cache (bad magic)")
	}
	mlen := int64(binary.LittleEndian.Uint64(tail))
	if mlen <= 0 || mlen > size-16 {
		return nil, bad("bad trailer length %d", mlen)
	}
	mbuf := make([]byte, mlen)
	if _, err := f.ReadAt(mbuf, size-16-mlen); err != nil {
		return nil, bad("%v", err)
	}
	var meta cacheMeta
	if err := json.Unmarshal(mbuf, &meta); err != nil {
		return nil, bad("trailer: %v", err)
	}
	if meta.Key != key {
		return nil, bad("built for other inputs")
	}
	n := meta.IndexSize
	if (meta.Width != 2 && meta.Width != 4) || n < 0 || meta.IndexOff < 0 || meta.IndexOff+int64(n)*12 != size-16-mlen {
		return nil, bad("inconsistent index")
	}
	ibuf := make([]byte, n*12) // [samples] (offset uint64, length uint32)
	if _, err := f.ReadAt(ibuf, meta.IndexOff); err != nil {
		return nil, bad("index: %v", err)
	}
	d := &Dataset{Path: path, Key: meta.Key, Stats: meta.Stats, f: f, width: meta.Width, mask: meta.HasMask, pad: key.PAD,
		offs: make([]int64, n), lens: make([]int32, n)}
	var next int64
	for i := range n {
		off := int64(binary.LittleEndian.Uint64(ibuf[12*i:]))
		ln := int32(binary.LittleEndian.Uint32(ibuf[12*i+8:]))
		if off != next || ln < 0 || int(ln) > maxDocLen(key.Mode, key.MaxSeqLen) {
			return nil, bad("index entry %d is inconsistent", i)
		}
		sz := int64(ln) * int64(meta.Width)
		if meta.HasMask {
			sz += int64(ln+7) / 8
		}
		next = off + sz
		d.offs[i], d.lens[i] = off, ln
	}
	if next != meta.IndexOff {
		return nil, bad("index does not cover the data")
	}
	return d, nil
}

// BuildOptions controls BuildCache.
type BuildOptions struct {
	// Workers tokenizing in parallel (≤ 0: all cores).
	Workers int
	// Strict stops at the first malformed line instead of skipping it.
	Strict bool
	// Progress, when set, is called now and then with the bytes of the
	// data file read so far.
	Progress func(read int64)
}

// chunk is a run of consecutive lines tokenized by one worker.
type chunk struct {
	first int      // line number of lines[0]
	lines [][]byte // raw lines without the newline
	read  int64    // bytes of the data file read up to the end of this chunk
	docs  []Doc
	errs  []error // per line; nil for good or blank lines
	blank []bool
	done  chan struct{}
}

// BuildCache tokenizes the jsonl file dataPath with p on all cores,
// streaming, and writes the cache file cachePath (atomically: a temporary
// file renamed at the end). Malformed lines are counted and skipped, or
// stop the build with a *MalformedError when opt.Strict.
func BuildCache(ctx context.Context, dataPath, cachePath string, p *Processor, key CacheKey, opt BuildOptions) (*Dataset, error) {
	in, err := os.Open(dataPath)
	if err != nil {
		return nil, fmt.Errorf("native: data file: %w", err)
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(cachePath), 0o755); err != nil {
		return nil, fmt.Errorf("native: cache folder: %w", err)
	}
	out, err := os.CreateTemp(filepath.Dir(cachePath), "."+filepath.Base(cachePath)+".tmp*")
	if err != nil {
		return nil, fmt.Errorf("native: cache: %w", err)
	}
	tmp := out.Name()
	ok := false
	defer func() {
		if !ok {
			out.Close()
			os.Remove(tmp)
		}
	}()
	width := 2
	if p.cfg.Vocab > 1<<16 {
		width = 4
	}
	meta := cacheMeta{Key: key, Width: width, HasMask: p.cfg.Mode != Pretrain}
	idx, err := tokenizeStream(ctx, in, dataPath, out, p, &meta, opt)
	if err != nil {
		return nil, err
	}
	w := bufio.NewWriterSize(out, 1<<20)
	for _, e := range idx {
		var b [12]byte
		binary.LittleEndian.PutUint64(b[:], uint64(e.off))
		binary.LittleEndian.PutUint32(b[8:], uint32(e.n))
		w.Write(b[:])
	}
	mj, err := json.Marshal(meta)
	if err != nil {
		return nil, fmt.Errorf("native: cache: %w", err)
	}
	w.Write(mj)
	var tail [8]byte
	binary.LittleEndian.PutUint64(tail[:], uint64(len(mj)))
	w.Write(tail[:])
	w.WriteString(cacheMagic)
	if err := w.Flush(); err != nil {
		return nil, fmt.Errorf("native: writing cache %s: %w", cachePath, err)
	}
	if err := out.Sync(); err != nil {
		return nil, fmt.Errorf("native: writing cache %s: %w", cachePath, err)
	}
	if err := out.Close(); err != nil {
		return nil, fmt.Errorf("native: writing cache %s: %w", cachePath, err)
	}
	if err := os.Rename(tmp, cachePath); err != nil {
		return nil, fmt.Errorf("native: cache: %w", err)
	}
	ok = true
	return OpenCache(cachePath, key)
}

type indexEntry struct {
	off int64
	n   int32
}

// tokenizeStream reads lines from in, tokenizes chunks of them on workers
// and writes the samples to out in file order. It fills meta's stats and
// index position and returns the index.
func tokenizeStream(ctx context.Context, in io.Reader, name string, out io.Writer, p *Processor, meta *cacheMeta, opt BuildOptions) ([]indexEntry, error) {
	ctx, cancel := context.WithCancel(ctx)
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	jobs := make(chan *chunk, workers)
	ordered := make(chan *chunk, 2*workers)
	var readErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // reader: splits the file into chunks of lines
		defer wg.Done()
		defer close(jobs)
		defer close(ordered)
		readErr = readChunks(ctx, in, func(c *chunk) bool {
			select {
			case ordered <- c:
			case <-ctx.Done():
				return false
			}
			select {
			case jobs <- c:
				return true
			case <-ctx.Done():
				return false
			}
		})
	}()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range jobs {
				c.docs = make([]Doc, len(c.lines))
				c.errs = make([]error, len(c.lines))
				c.blank = make([]bool, len(c.lines))
				for i, l := range c.lines {
					if len(bytes.TrimSpace(l)) == 0 {
						c.blank[i] = true
						continue
					}
					c.docs[i], c.errs[i] = p.Process(l, c.first+i)
				}
				close(c.done)
			}
		}()
	}
	defer func() { // stop the reader and the workers on every return
		cancel()
		wg.Wait()
	}()

	w := bufio.NewWriterSize(out, 1<<20)
	var idx []indexEntry
	var off int64
	var buf []byte
	st := &meta.Stats
	for c := range ordered {
		select {
		case <-c.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		for i, doc := range c.docs {
			line := c.first + i
			st.Lines = line
			if c.blank[i] {
				st.Blank++
				continue
			}
			if err := c.errs[i]; err != nil {
				if !errors.Is(err, errMalformed) {
					return nil, fmt.Errorf("native: %s: line %d: %w", name, line, err)
				}
				st.Bad++
				if len(st.BadLines) < maxReportedLines {
					st.BadLines = append(st.BadLines, LineError{Line: line, Err: err.Error()})
				}
				if opt.Strict {
					return nil, &MalformedError{File: name, Count: 1, Lines: []LineError{{Line: line, Err: err.Error()}}}
				}
				continue
			}
			buf = encodeDoc(buf[:0], doc, meta.Width, meta.HasMask)
			if _, err := w.Write(buf); err != nil {
				return nil, fmt.Errorf("native: writing cache: %w", err)
			}
			idx = append(idx, indexEntry{off: off, n: int32(len(doc.Tokens))})
			off += int64(len(buf))
			st.Samples++
			st.Tokens += int64(len(doc.Tokens))
		}
		if opt.Progress != nil {
			opt.Progress(c.read)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if readErr != nil {
		return nil, fmt.Errorf("native: reading %s: %w", name, readErr)
	}
	if err := w.Flush(); err != nil {
		return nil, fmt.Errorf("native: writing cache: %w", err)
	}
	meta.IndexOff, meta.IndexSize = off, len(idx)
	return idx, nil
}

// readChunks splits r into chunks of lines (without "\n" or "\r\n", a
// leading UTF-8 byte-order mark removed) and passes each to emit until it
// returns false.
func readChunks(ctx context.Context, r io.Reader, emit func(*chunk) bool) error {
	const maxLines, maxBytes = 256, 4 << 20
	br := bufio.NewReaderSize(r, 1<<20)
	line := 1
	var read int64
	c := &chunk{first: 1, done: make(chan struct{})}
	size := 0
	for {
		if ctx.Err() != nil {
			return nil
		}
		b, err := br.ReadBytes('\n')
		read += int64(len(b))
		if len(b) > 0 {
			b = bytes.TrimSuffix(b, []byte("\n"))
			b = bytes.TrimSuffix(b, []byte("\r"))
			if line == 1 {
				b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
			}
			c.lines = append(c.lines, b)
			size += len(b)
			line++
		}
		last := err != nil
		if len(c.lines) > 0 && (len(c.lines) == maxLines || size >= maxBytes || last) {
			c.read = read
			if !emit(c) {
				return nil
			}
			c = &chunk{first: line, done: make(chan struct{})}
			size = 0
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// LoadOptions controls LoadDataset.
type LoadOptions struct {
	BuildOptions
	// CacheDir holds the cache files (created if needed).
	CacheDir string
	// TokenizerHash identifies the tokenizer (see HashFiles).
	TokenizerHash string
	// Log, when set, receives one-line messages about the cache.
	Log func(msg string)
}

// LoadDataset returns the dataset of the jsonl file dataPath, reading the
// cache in opt.CacheDir when one was built for the same inputs and building
// it otherwise. In strict mode a cache holding malformed lines is an error.
func LoadDataset(ctx context.Context, dataPath string, p *Processor, opt LoadOptions) (*Dataset, error) {
	key, err := NewCacheKey(dataPath, p.cfg, opt.TokenizerHash)
	if err != nil {
		return nil, err
	}
	logf := func(format string, args ...any) {
		if opt.Log != nil {
			opt.Log(fmt.Sprintf(format, args...))
		}
	}
	path := filepath.Join(opt.CacheDir, key.FileName())
	d, err := OpenCache(path, key)
	switch {
	case err == nil:
		logf("data: using the token cache %s", path)
	case errors.Is(err, os.ErrNotExist):
		logf("data: tokenizing %s into %s", dataPath, path)
		d, err = BuildCache(ctx, dataPath, path, p, key, opt.BuildOptions)
	default:
		logf("data: rebuilding the token cache (%v)", err)
		d, err = BuildCache(ctx, dataPath, path, p, key, opt.BuildOptions)
	}
	if err != nil {
		return nil, err
	}
	if d.Stats.Bad > 0 {
		merr := &MalformedError{File: dataPath, Count: d.Stats.Bad, Lines: d.Stats.BadLines}
		if opt.Strict {
			d.Close()
			return nil, merr
		}
		logf("data: skipped %v", merr)
	}
	if d.Len() == 0 {
		d.Close()
		return nil, fmt.Errorf("native: %s holds no usable samples", dataPath)
	}
	return d, nil
}
