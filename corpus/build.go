package corpus

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// The corpus files, in the order the manifest lists them.
const (
	PretrainFile     = "pretrain.jsonl.gz"      // training text, {"text": ...} per line
	SFTFile          = "sft.jsonl.gz"           // training conversations, {"conversations": [...]} per line
	CorePretrainFile = "core_pretrain.jsonl.gz" // short texts about the CoreWords most common words
	CoreSFTFile      = "core_sft.jsonl.gz"      // focused conversations about the core words
	ValPretrainFile  = "val_pretrain.jsonl.gz"  // held-out text (2% of words, chapters, poems, characters)
	ValSFTFile       = "val_sft.jsonl.gz"       // conversations about the held-out items
	EvalFile         = "eval.jsonl.gz"          // EvalItem per line
	ManifestFile     = "manifest.json"          // Manifest: sources, counts, sizes, checksums
)

// FormatVersion is the version of the corpus layout written into the manifest.
const FormatVersion = 2

// Options configure Generate and Build.
type Options struct {
	// Root is the file-system root under which the Debian packages are
	// installed; "" means "/". Tests point it at a miniature tree.
	Root string
	// Log receives one progress line per stage; nil discards them.
	Log io.Writer
	// CoreWords and CoreEvalWords override the sizes of the core
	// vocabulary and of the evaluation band after it (0: the constants of
	// the same names). Tests on miniature sources make them small.
	CoreWords, CoreEvalWords int
}

// Manifest describes a built corpus: where it came from and what is in it.
type Manifest struct {
	Format  int        `json:"format"`
	Seed    int        `json:"seed"`
	Sources []Source   `json:"sources"`
	Files   []FileInfo `json:"files"`
}

// FileInfo describes one corpus file.
type FileInfo struct {
	Name         string     `json:"name"`
	Kind         string     `json:"kind"`  // "pretrain", "sft" or "eval"
	Split        string     `json:"split"` // "train", "validation" or "eval"
	Records      int        `json:"records"`
	Bytes        int        `json:"bytes"`      // uncompressed jsonl size
	GzipBytes    int        `json:"gzip_bytes"` // compressed size
	SHA256       string     `json:"sha256"`     // of the uncompressed jsonl
	Chars        int        `json:"chars"`      // characters of text / message contents
	CJKChars     int        `json:"cjk_chars"`
	ApproxTokens int        `json:"approx_tokens"` // CJK chars / 1.6 + other chars / 4
	Parts        []PartInfo `json:"parts"`
}

// PartInfo counts the records of one source within a file.
type PartInfo struct {
	Source       string `json:"source"`
	Records      int    `json:"records"`
	Chars        int    `json:"chars"`
	ApproxTokens int    `json:"approx_tokens"`
}

// File is one generated file: its name and bytes.
type File struct {
	Name string
	Data []byte
}

// record is one line of an output file before ordering.
type record struct {
	source string // "wordnet", "bible", "poems", "unihan", "elements", "identity"
	key    string // unique within the file; orders the file by its hash
	value  any    // PretrainRecord, Conversation or EvalItem
}

// output collects the records of one file.
type output struct {
	name, kind, split string
	records           []record
}

func (o *output) add(source, key string, v any) {
	o.records = append(o.records, record{source: source, key: key, value: v})
}

// Generate reads the Debian sources under opt.Root and returns the corpus
// files (the .jsonl.gz files and manifest.json), byte for byte what Build
// writes. The same installed package versions always give the same bytes.
func Generate(ctx context.Context, opt Options) ([]File, *Manifest, error) {
	root := rootOrSlash(opt.Root)
	logf := func(format string, a ...any) {
		if opt.Log != nil {
			fmt.Fprintf(opt.Log, format+"\n", a...)
		}
	}
	start := time.Now()
	if err := CheckSources(root); err != nil {
		return nil, nil, err
	}
	versions, err := installedVersions(root, AptPackages())
	if err != nil {
		return nil, nil, err
	}
	sources := RequiredSources()
	for i := range sources {
		sources[i].Version = versions[sources[i].Package]
	}

	pre := &output{name: PretrainFile, kind: "pretrain", split: "train"}
	sft := &output{name: SFTFile, kind: "sft", split: "train"}
	vpre := &output{name: ValPretrainFile, kind: "pretrain", split: "validation"}
	vsft := &output{name: ValSFTFile, kind: "sft", split: "validation"}
	eval := &output{name: EvalFile, kind: "eval", split: "eval"}
	corePre := &output{name: CorePretrainFile, kind: "pretrain", split: "train"}
	coreSFT := &output{name: CoreSFTFile, kind: "sft", split: "train"}
	byPre := map[split]*output{splitTrain: pre, splitEval: pre, splitVal: vpre}
	bySFT := map[split]*output{splitTrain: sft, splitVal: vsft}

	dropped := 0
	addConvs := func(o *output, source, key string, convs []Conversation) {
		for i, c := range convs {
			if convTokens(c) > maxConvTokens {
				dropped++ // too long for a 256-token sequence
				continue
			}
			o.add(source, fmt.Sprintf("%s/%d", key, i), c)
		}
	}
	addDocs := func(o *output, source, key string, docs []string) {
		for i, d := range docs {
			o.add(source, fmt.Sprintf("%s/%d", key, i), PretrainRecord{Text: d})
		}
	}

	// WordNet: dictionary entries and word conversations.
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	wn, err := readWordNet(filepath.Join(root, wordnetDir))
	if err != nil {
		return nil, nil, err
	}
	words := selectWords(wn)
	df := glossFrequency(words)
	stop := stopWordSet()
	rank, sizes := rankWords(words), opt.sizes()
	entries := map[split][]string{}
	for _, w := range shuffled(words, func(w *word) string { return w.Lemma }) {
		core, coreEval := sizes.isCore(rank[w.Lemma]), sizes.isEvalBand(rank[w.Lemma])
		sp := sizes.split(w.Lemma, rank[w.Lemma])
		if sp == splitVal {
			entries[splitVal] = append(entries[splitVal], wordDocument(w))
			addConvs(vsft, "wordnet", w.Lemma, wordConversations(w))
			continue
		}
		entries[splitTrain] = append(entries[splitTrain], wordDocument(w))
		if sp == splitEval {
			if it, ok := evalItem(w, df, len(words), stop); ok {
				it.Core = coreEval
				eval.add("wordnet", w.Lemma, it)
				if coreEval {
					cards := coreCards(w)
					addDocs(corePre, "wordnet", w.Lemma, cards[:])
				}
				continue
			}
		}
		addConvs(sft, "wordnet", w.Lemma, wordConversations(w))
		if core {
			cards := coreCards(w)
			addDocs(corePre, "wordnet", w.Lemma, cards[:])
			addConvs(coreSFT, "wordnet", w.Lemma, coreConversations(w))
		}
	}
	for _, sp := range []split{splitTrain, splitVal} {
		addDocs(byPre[sp], "wordnet", fmt.Sprintf("words%d", sp), packDocuments(entries[sp], "\n\n"))
	}
	logf("wordnet: %d words (%v)", len(words), time.Since(start).Round(time.Millisecond))

	// The World English Bible: passages of whole verses.
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	verses, err := readBible(filepath.Join(root, swordWEBDir))
	if err != nil {
		return nil, nil, err
	}
	keys, passages := biblePassages(verses)
	for _, k := range keys {
		addDocs(byPre[splitOf("chapter", k, false)], "bible", k, passages[k])
	}
	logf("bible: %d verses, %d chapters (%v)", len(verses), len(keys), time.Since(start).Round(time.Millisecond))

	// Classical Chinese poems.
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	var poems []poem
	for _, c := range []struct{ file, dynasty string }{{"tang300", "唐"}, {"song100", "宋"}} {
		ps, err := readPoems(filepath.Join(root, fortunesDir, c.file), c.file, c.dynasty)
		if err != nil {
			return nil, nil, err
		}
		poems = append(poems, ps...)
	}
	var trainPoems []poem
	for _, p := range poems {
		sp := splitOf("poem", poemKey(p), false)
		addDocs(byPre[sp], "poems", poemKey(p), poemDocuments(p))
		addConvs(bySFT[sp], "poems", poemKey(p), poemConversations(p))
		if sp == splitTrain {
			trainPoems = append(trainPoems, p)
		}
	}
	addConvs(sft, "poems", "poets", poetConversations(trainPoems))
	logf("poems: %d (%v)", len(poems), time.Since(start).Round(time.Millisecond))

	// Unihan: common Chinese characters.
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	chars, err := readUnihan(filepath.Join(root, unicodeDir))
	if err != nil {
		return nil, nil, err
	}
	hanEntries := map[split][]string{}
	for _, h := range shuffled(chars, func(h hanChar) string { return h.Char }) {
		sp := splitOf("char", h.Char, false)
		hanEntries[sp] = append(hanEntries[sp], hanDocument(h))
		addConvs(bySFT[sp], "unihan", h.Char, hanConversations(h))
	}
	for _, sp := range []split{splitTrain, splitVal} {
		addDocs(byPre[sp], "unihan", fmt.Sprintf("chars%d", sp), packDocuments(hanEntries[sp], "\n"))
	}
	logf("unihan: %d characters (%v)", len(chars), time.Since(start).Round(time.Millisecond))

	// Chemical elements.
	elements, err := readElements(filepath.Join(root, elementsDict))
	if err != nil {
		return nil, nil, err
	}
	elEntries := map[split][]string{}
	for _, e := range shuffled(elements, func(e element) string { return e.Name }) {
		sp := splitOf("element", e.Name, false)
		elEntries[sp] = append(elEntries[sp], elementDocument(e))
		addConvs(bySFT[sp], "elements", e.Name, elementConversations(e))
	}
	for _, sp := range []split{splitTrain, splitVal} {
		addDocs(byPre[sp], "elements", fmt.Sprintf("elements%d", sp), packDocuments(elEntries[sp], "\n\n"))
	}
	logf("elements: %d (%v)", len(elements), time.Since(start).Round(time.Millisecond))

	addConvs(sft, "identity", "identity", identityConversations())
	logf("conversations over %d tokens left out: %d", maxConvTokens, dropped)

	// Encode every file, then the manifest.
	m := &Manifest{Format: FormatVersion, Seed: buildSeed, Sources: sources}
	var files []File
	for _, o := range []*output{pre, sft, corePre, coreSFT, vpre, vsft, eval} {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		f, info, err := encodeOutput(o)
		if err != nil {
			return nil, nil, err
		}
		files = append(files, f)
		m.Files = append(m.Files, info)
	}
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, nil, fmt.Errorf("corpus: encoding %s: %w", ManifestFile, err)
	}
	files = append(files, File{Name: ManifestFile, Data: append(mb, '\n')})
	logf("encoded %d files (%v)", len(files), time.Since(start).Round(time.Millisecond))
	return files, m, nil
}

// shuffled returns the items ordered by the hash of their keys: a fixed,
// well-mixed order independent of the input order.
func shuffled[T any](items []T, key func(T) string) []T {
	out := append([]T(nil), items...)
	sort.SliceStable(out, func(i, j int) bool {
		return hash64("order", key(out[i])) < hash64("order", key(out[j]))
	})
	return out
}

// recordText returns the characters a record's text counts (for statistics).
func recordText(v any) string {
	switch v := v.(type) {
	case PretrainRecord:
		return v.Text
	case Conversation:
		var b bytes.Buffer
		for _, m := range v.Conversations {
			b.WriteString(m.Content)
		}
		return b.String()
	case EvalItem:
		return v.Question
	}
	return ""
}

// encodeOutput orders a file's records by the hash of their keys, encodes
// them as JSON lines, compresses them and counts them.
func encodeOutput(o *output) (File, FileInfo, error) {
	recs := append([]record(nil), o.records...)
	sort.SliceStable(recs, func(i, j int) bool {
		hi, hj := hash64("line", o.name, recs[i].source, recs[i].key), hash64("line", o.name, recs[j].source, recs[j].key)
		if hi != hj {
			return hi < hj
		}
		if recs[i].source != recs[j].source {
			return recs[i].source < recs[j].source
		}
		return recs[i].key < recs[j].key
	})
	info := FileInfo{Name: o.name, Kind: o.kind, Split: o.split, Records: len(recs)}
	parts := map[string]*PartInfo{}
	var raw bytes.Buffer
	for _, r := range recs {
		line, err := marshalLine(r.value)
		if err != nil {
			return File{}, FileInfo{}, fmt.Errorf("corpus: %s: record %s %s: %w", o.name, r.source, r.key, err)
		}
		raw.Write(line)
		chars, cjk := textStats(recordText(r.value))
		info.Chars += chars
		info.CJKChars += cjk
		p := parts[r.source]
		if p == nil {
			p = &PartInfo{Source: r.source}
			parts[r.source] = p
		}
		p.Records++
		p.Chars += chars
		p.ApproxTokens += approxTokens(chars, cjk)
	}
	info.ApproxTokens = approxTokens(info.Chars, info.CJKChars)
	for _, k := range sortedKeys(parts) {
		info.Parts = append(info.Parts, *parts[k])
	}
	gz, err := gzipBytes(raw.Bytes())
	if err != nil {
		return File{}, FileInfo{}, fmt.Errorf("corpus: compressing %s: %w", o.name, err)
	}
	info.Bytes = raw.Len()
	info.GzipBytes = len(gz)
	info.SHA256 = sha256Hex(raw.Bytes())
	return File{Name: o.name, Data: gz}, info, nil
}

// Build generates the corpus (see Generate) and writes its files into
// outDir, each through a temporary file renamed into place.
func Build(ctx context.Context, outDir string, opt Options) (*Manifest, error) {
	files, m, err := Generate(ctx, opt)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, fmt.Errorf("corpus: %w", err)
	}
	for _, f := range files {
		if err := writeFileAtomic(filepath.Join(outDir, f.Name), f.Data); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// writeFileAtomic writes data to a temporary file beside path and renames it.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("corpus: %w", err)
	}
	name := tmp.Name()
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(name, 0o644)
	}
	if werr == nil {
		werr = os.Rename(name, path)
	}
	if werr != nil {
		os.Remove(name)
		return fmt.Errorf("corpus: writing %s: %w", path, werr)
	}
	return nil
}
