package corpus

import (
	"regexp"
	"sort"
	"strings"
)

// wordSense is what the corpus says about one sense of a word.
type wordSense struct {
	Gloss     string
	Examples  []string // examples that contain the word (or a form starting with it)
	Synonyms  []string
	Hypernyms []string // broader terms (nouns and verbs)
	Hyponyms  []string // narrower terms, most frequent first
	Antonyms  []string
}

// wordPOS is one part of speech of a word.
type wordPOS struct {
	POS       string // "noun", "verb", "adj", "adv"
	TagSenses int
	Senses    []wordSense // sense 1 first
}

// word is one dictionary entry: a lemma with its parts of speech.
type word struct {
	Lemma   string // lower case key
	Display string // as written in WordNet's sense 1, e.g. "Monday"
	Freq    int    // summed tag counts (cntlist.rev), the commonness rank
	POS     []wordPOS
}

// primary returns the part of speech with the most tagged senses (the
// first such, in noun, verb, adj, adv order).
func (w *word) primary() *wordPOS {
	best := &w.POS[0]
	for i := range w.POS {
		if w.POS[i].TagSenses > best.TagSenses {
			best = &w.POS[i]
		}
	}
	return best
}

// maxGlossBytes leaves out the few senses whose gloss alone would fill a
// 256-token sequence (long lists of names).
const maxGlossBytes = 320

// maxSenses is the number of senses kept for a part of speech: its tagged
// senses, at least 1 and at most 3.
const maxSenses = 3

var reLemma = regexp.MustCompile(`^[a-z][a-z' -]*[a-z]$`)

// selectWords builds the dictionary entries of the common words: lemmas of
// at most three words, made of letters, spaces, hyphens and apostrophes,
// with at least one sense seen in WordNet's tagged corpus. The result is
// sorted by lemma.
func selectWords(wn *wordNet) []*word {
	byLemma := make(map[string]*word)
	for _, e := range wn.index {
		if e.TagSenses < 1 || len(e.Lemma) > 24 || !reLemma.MatchString(e.Lemma) ||
			strings.Count(e.Lemma, " ") > 2 {
			continue
		}
		n := min(max(e.TagSenses, 1), maxSenses, len(e.Synsets))
		wp := wordPOS{POS: e.POS, TagSenses: e.TagSenses}
		display := ""
		seen := make(map[string]bool)
		for _, off := range e.Synsets[:n] {
			s := wn.synsets[e.POS+":"+off]
			if s == nil || s.Gloss == "" || len(s.Gloss) > maxGlossBytes || seen[s.Gloss] {
				continue
			}
			seen[s.Gloss] = true
			idx := -1
			for i, w := range s.Words {
				if strings.EqualFold(w, e.Lemma) {
					idx = i
					break
				}
			}
			if idx < 0 {
				continue
			}
			if display == "" {
				display = s.Words[idx]
			}
			wp.Senses = append(wp.Senses, senseOf(wn, s, idx, e.Lemma))
		}
		if len(wp.Senses) == 0 {
			continue
		}
		w := byLemma[e.Lemma]
		if w == nil {
			w = &word{Lemma: e.Lemma, Display: display, Freq: wn.freq[e.Lemma]}
			byLemma[e.Lemma] = w
		}
		w.POS = append(w.POS, wp)
	}
	out := make([]*word, 0, len(byLemma))
	for _, k := range sortedKeys(byLemma) {
		out = append(out, byLemma[k])
	}
	return out
}

// senseOf collects the facts of synset s for its word number idx (0-based).
func senseOf(wn *wordNet, s *wnSynset, idx int, lemma string) wordSense {
	ws := wordSense{Gloss: s.Gloss}
	for _, ex := range s.Examples {
		if containsWordForm(ex, lemma) && len(ex) <= 200 {
			ws.Examples = append(ws.Examples, ex)
		}
	}
	seen := map[string]bool{strings.ToLower(lemma): true}
	add := func(list *[]string, w string, limit int) {
		k := strings.ToLower(w)
		if seen[k] || len(*list) >= limit {
			return
		}
		seen[k] = true
		*list = append(*list, w)
	}
	for _, w := range s.Words {
		add(&ws.Synonyms, w, 5)
	}
	var hypo []string
	for _, p := range s.Pointers {
		t := wn.synset(p.POS, p.Offset)
		if t == nil || len(t.Words) == 0 {
			continue
		}
		switch p.Symbol {
		case "@", "@i":
			add(&ws.Hypernyms, t.Words[0], 2)
		case "~", "~i":
			hypo = append(hypo, bestWord(wn, t))
		case "!":
			if p.Source == idx+1 && p.Target >= 1 && p.Target <= len(t.Words) {
				add(&ws.Antonyms, t.Words[p.Target-1], 3)
			}
		}
	}
	// Narrower terms: the most common first, ties alphabetical.
	sort.SliceStable(hypo, func(i, j int) bool {
		fi, fj := wn.freq[strings.ToLower(hypo[i])], wn.freq[strings.ToLower(hypo[j])]
		if fi != fj {
			return fi > fj
		}
		return hypo[i] < hypo[j]
	})
	for _, w := range hypo {
		add(&ws.Hyponyms, w, 4)
	}
	return ws
}

// bestWord returns the most common word of a synset (the first on ties).
func bestWord(wn *wordNet, s *wnSynset) string {
	best, bf := s.Words[0], -1
	for _, w := range s.Words {
		if f := wn.freq[strings.ToLower(w)]; f > bf {
			best, bf = w, f
		}
	}
	return best
}

// containsWordForm reports whether text contains lemma at a word start,
// case-insensitively, so that "barked" counts for "bark".
func containsWordForm(text, lemma string) bool {
	t, l := strings.ToLower(text), strings.ToLower(lemma)
	for i := 0; ; {
		j := strings.Index(t[i:], l)
		if j < 0 {
			return false
		}
		j += i
		if j == 0 || !isLetter(t[j-1]) {
			return true
		}
		i = j + 1
	}
}

func isLetter(b byte) bool { return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' }
