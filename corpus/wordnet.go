package corpus

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// wnPOS names the four WordNet database files, in the order they are read.
var wnPOS = [...]string{"noun", "verb", "adj", "adv"}

// wnPointer is one pointer of a synset: a semantic relation (Source and
// Target 0) or a lexical one between word Source of this synset and word
// Target of the other (1-based).
type wnPointer struct {
	Symbol string // "@" hypernym, "~" hyponym, "!" antonym, "&" similar, ...
	Offset string // 8-digit synset offset of the target
	POS    byte   // 'n', 'v', 'a', 's' or 'r' of the target
	Source int
	Target int
}

// wnSynset is one line of a data.* file.
type wnSynset struct {
	Offset   string   // the line's own 8-digit offset
	Type     byte     // ss_type: n v a s r
	Words    []string // words with underscores replaced by spaces, adjective markers stripped
	Pointers []wnPointer
	Gloss    string   // the definition part of the gloss (before the first example)
	Examples []string // quoted example sentences of the gloss
}

// wnIndexEntry is one line of an index.* file: a lemma and its senses in
// WordNet's order (most frequent first).
type wnIndexEntry struct {
	Lemma     string   // lower case, spaces for underscores
	POS       string   // "noun", "verb", "adj" or "adv"
	TagSenses int      // tagsense_cnt: senses seen in the tagged corpus
	Synsets   []string // synset offsets, sense 1 first
}

// wordNet is the parsed database: synsets by "pos:offset" and the index.
type wordNet struct {
	synsets map[string]*wnSynset // key: file pos ("noun"...) + ":" + offset
	index   []wnIndexEntry       // in file order: noun, verb, adj, adv; each sorted by lemma
	freq    map[string]int       // lemma (lower case, spaces) → summed tag counts from cntlist.rev
}

// posFile maps a pointer's or synset's ss_type to its data file.
func posFile(t byte) string {
	switch t {
	case 'n':
		return "noun"
	case 'v':
		return "verb"
	case 'a', 's':
		return "adj"
	case 'r':
		return "adv"
	}
	return ""
}

// synset returns the synset a pointer targets, or nil.
func (wn *wordNet) synset(pos byte, offset string) *wnSynset {
	return wn.synsets[posFile(pos)+":"+offset]
}

// readWordNet parses the index, data and cntlist.rev files under dir.
func readWordNet(dir string) (*wordNet, error) {
	wn := &wordNet{synsets: make(map[string]*wnSynset), freq: make(map[string]int)}
	for _, pos := range wnPOS {
		path := filepath.Join(dir, "data."+pos)
		if err := eachLine(path, func(n int, line string) error {
			if strings.HasPrefix(line, "  ") || line == "" {
				return nil // license header
			}
			s, err := parseSynset(line)
			if err != nil {
				return fmt.Errorf("%s:%d: %w", path, n, err)
			}
			wn.synsets[pos+":"+s.Offset] = s
			return nil
		}); err != nil {
			return nil, err
		}
	}
	for _, pos := range wnPOS {
		path := filepath.Join(dir, "index."+pos)
		if err := eachLine(path, func(n int, line string) error {
			if strings.HasPrefix(line, "  ") || line == "" {
				return nil
			}
			e, err := parseIndexLine(line, pos)
			if err != nil {
				return fmt.Errorf("%s:%d: %w", path, n, err)
			}
			wn.index = append(wn.index, e)
			return nil
		}); err != nil {
			return nil, err
		}
	}
	path := filepath.Join(dir, "cntlist.rev")
	if err := eachLine(path, func(n int, line string) error {
		f := strings.Fields(line)
		if len(f) != 3 {
			return fmt.Errorf("%s:%d: want 3 fields, got %d", path, n, len(f))
		}
		lemma, _, ok := strings.Cut(f[0], "%")
		if !ok {
			return fmt.Errorf("%s:%d: sense key %q has no %%", path, n, f[0])
		}
		c, err := strconv.Atoi(f[2])
		if err != nil {
			return fmt.Errorf("%s:%d: tag count: %w", path, n, err)
		}
		wn.freq[strings.ReplaceAll(lemma, "_", " ")] += c
		return nil
	}); err != nil {
		return nil, err
	}
	return wn, nil
}

// eachLine calls fn with every line of the file (1-based line numbers).
func eachLine(path string, fn func(n int, line string) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("corpus: %w", err)
	}
	defer f.Close()
	return eachLineReader(f, path, fn)
}

// eachLineReader is eachLine over an open reader; name is used in errors.
func eachLineReader(r io.Reader, name string, fn func(n int, line string) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	n := 0
	for sc.Scan() {
		n++
		if err := fn(n, sc.Text()); err != nil {
			return fmt.Errorf("corpus: %w", err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("corpus: reading %s: %w", name, err)
	}
	return nil
}

// parseSynset parses one data-file line (see WordNet's wndb(5WN)):
//
//	offset lex_filenum ss_type w_cnt word lex_id [word lex_id...] p_cnt [ptr...] [frames...] | gloss
func parseSynset(line string) (*wnSynset, error) {
	body, gloss, _ := strings.Cut(line, " | ")
	f := strings.Fields(body)
	if len(f) < 6 {
		return nil, fmt.Errorf("synset line has %d fields, want at least 6", len(f))
	}
	s := &wnSynset{Offset: f[0]}
	if len(f[2]) != 1 {
		return nil, fmt.Errorf("synset %s: bad ss_type %q", f[0], f[2])
	}
	s.Type = f[2][0]
	wcnt, err := strconv.ParseInt(f[3], 16, 32)
	if err != nil {
		return nil, fmt.Errorf("synset %s: w_cnt: %w", f[0], err)
	}
	i := 4
	for k := 0; k < int(wcnt); k++ {
		if i+1 >= len(f) {
			return nil, fmt.Errorf("synset %s: truncated word list", f[0])
		}
		s.Words = append(s.Words, cleanWord(f[i]))
		i += 2
	}
	if i >= len(f) {
		return nil, fmt.Errorf("synset %s: missing p_cnt", f[0])
	}
	pcnt, err := strconv.Atoi(f[i])
	if err != nil {
		return nil, fmt.Errorf("synset %s: p_cnt: %w", f[0], err)
	}
	i++
	for k := 0; k < pcnt; k++ {
		if i+3 >= len(f) {
			return nil, fmt.Errorf("synset %s: truncated pointer list", f[0])
		}
		st := f[i+3]
		if len(st) != 4 || len(f[i+2]) != 1 {
			return nil, fmt.Errorf("synset %s: bad pointer %v", f[0], f[i:i+4])
		}
		src, err1 := strconv.ParseInt(st[:2], 16, 32)
		dst, err2 := strconv.ParseInt(st[2:], 16, 32)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("synset %s: bad source/target %q", f[0], st)
		}
		s.Pointers = append(s.Pointers, wnPointer{
			Symbol: f[i], Offset: f[i+1], POS: f[i+2][0], Source: int(src), Target: int(dst),
		})
		i += 4
	}
	s.Gloss, s.Examples = splitGloss(strings.TrimSpace(gloss))
	return s, nil
}

// cleanWord turns a data-file word into display form: underscores become
// spaces and an adjective position marker such as "(a)", "(p)" or "(ip)" is dropped.
func cleanWord(w string) string {
	if j := strings.IndexByte(w, '('); j > 0 && strings.HasSuffix(w, ")") {
		w = w[:j]
	}
	return strings.ReplaceAll(w, "_", " ")
}

// splitGloss separates a gloss into its definition and its quoted examples:
//
//	a member of the genus Canis ...; occurs in many breeds; "the dog barked all night"
//
// gives ("a member of the genus Canis ...; occurs in many breeds",
// ["the dog barked all night"]). An unbalanced quote ends the examples.
func splitGloss(g string) (def string, examples []string) {
	q := strings.IndexByte(g, '"')
	if q < 0 {
		return strings.TrimRight(strings.TrimSpace(g), ";:, "), nil
	}
	def = strings.TrimRight(strings.TrimSpace(g[:q]), ";:, ")
	rest := g[q:]
	for {
		q = strings.IndexByte(rest, '"')
		if q < 0 {
			break
		}
		end := strings.IndexByte(rest[q+1:], '"')
		if end < 0 {
			break
		}
		ex := strings.TrimSpace(rest[q+1 : q+1+end])
		if ex != "" {
			examples = append(examples, ex)
		}
		rest = rest[q+1+end+1:]
	}
	return def, examples
}

// parseIndexLine parses one index-file line:
//
//	lemma pos synset_cnt p_cnt [ptr_symbol...] sense_cnt tagsense_cnt synset_offset [synset_offset...]
func parseIndexLine(line, pos string) (wnIndexEntry, error) {
	f := strings.Fields(line)
	if len(f) < 7 {
		return wnIndexEntry{}, fmt.Errorf("index line has %d fields, want at least 7", len(f))
	}
	cnt, err := strconv.Atoi(f[2])
	if err != nil {
		return wnIndexEntry{}, fmt.Errorf("lemma %q: synset_cnt: %w", f[0], err)
	}
	pcnt, err := strconv.Atoi(f[3])
	if err != nil {
		return wnIndexEntry{}, fmt.Errorf("lemma %q: p_cnt: %w", f[0], err)
	}
	i := 4 + pcnt
	if i+2+cnt > len(f) {
		return wnIndexEntry{}, fmt.Errorf("lemma %q: want %d offsets after field %d, line has %d fields", f[0], cnt, i+2, len(f))
	}
	tag, err := strconv.Atoi(f[i+1])
	if err != nil {
		return wnIndexEntry{}, fmt.Errorf("lemma %q: tagsense_cnt: %w", f[0], err)
	}
	return wnIndexEntry{
		Lemma:     strings.ReplaceAll(f[0], "_", " "),
		POS:       pos,
		TagSenses: tag,
		Synsets:   append([]string(nil), f[i+2:i+2+cnt]...),
	}, nil
}
