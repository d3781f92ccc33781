package corpus

import (
	"sort"
	"strings"
	"unicode"
)

// EvalItem is one held-out definition question. The word's dictionary entry
// is in the pretraining text, but no SFT conversation asks about the word:
// the evaluation measures whether instruction tuning lets the model say
// what pretraining taught it.
type EvalItem struct {
	// Word is the word as displayed, e.g. "dog".
	Word string `json:"word"`
	// POS is its part of speech: "noun", "verb", "adj" or "adv".
	POS string `json:"pos"`
	// Question is the prompt to send as the user turn.
	Question string `json:"question"`
	// Reference is the definition the corpus gives (WordNet sense 1).
	Reference string `json:"reference"`
	// Terms are the defining terms: an answer is correct when it contains
	// at least one of them (see Match).
	Terms []string `json:"terms"`
	// Core is true for the words just after the core vocabulary (see
	// CoreEvalWords), whose short texts are in CorePretrainFile.
	Core bool `json:"core,omitempty"`
}

// Match reports whether answer contains one of the item's terms,
// case-insensitively and at a word start (so "canines" matches "canine").
func (it EvalItem) Match(answer string) bool {
	return len(it.MatchedTerms(answer)) > 0
}

// MatchedTerms returns the terms that answer contains (see Match).
func (it EvalItem) MatchedTerms(answer string) []string {
	var out []string
	for _, t := range it.Terms {
		if containsWordForm(answer, t) {
			out = append(out, t)
		}
	}
	return out
}

// stopWordText lists function words and vague words that never count as
// defining terms.
const stopWordText = `a an the of or and to in on at by for with from into onto as is are was
be been being that which who whom whose this these those it its such than then there their them
they he she his her one ones some any all each every other another more most less least very
not no especially usually often used using use make makes made having have has had do does
done something someone somebody anything thing things person people way ways being kind kinds
type types part parts state quality act process form forms manner relating pertaining characterized
also etc without within between about after before under over above below up down out off
much many few small large good great certain particular given same different various
based taking following existing happening arising outside inside long short`

// stopWordSet returns stopWordText as a set.
func stopWordSet() map[string]bool {
	set := make(map[string]bool)
	for _, w := range strings.Fields(stopWordText) {
		set[w] = true
	}
	return set
}

// glossWords splits a gloss into lower-case words of letters.
func glossWords(g string) []string {
	return strings.FieldsFunc(strings.ToLower(g), func(r rune) bool { return !unicode.IsLetter(r) && r != '-' })
}

// glossFrequency counts in how many sense-1 glosses of the words each
// gloss word appears.
func glossFrequency(words []*word) map[string]int {
	df := make(map[string]int)
	for _, w := range words {
		seen := make(map[string]bool)
		for _, t := range glossWords(w.primary().Senses[0].Gloss) {
			if !seen[t] {
				seen[t] = true
				df[t]++
			}
		}
	}
	return df
}

// evalItem builds the evaluation item of a word from its primary part of
// speech, sense 1: the terms are its broader terms and up to three
// distinctive gloss words (at least four letters, not stop words, not the
// word itself, in at most 1 in 300 glosses, or 2). ok is false when no term is
// found or the part of speech is an adverb.
func evalItem(w *word, df map[string]int, nGlosses int, stop map[string]bool) (EvalItem, bool) {
	p := w.primary()
	if p.POS == "adv" {
		return EvalItem{}, false
	}
	s := p.Senses[0]
	seen := map[string]bool{}
	for _, t := range glossWords(w.Lemma) {
		seen[t] = true
	}
	var terms []string
	for _, h := range s.Hypernyms {
		k := strings.ToLower(h)
		if !seen[k] {
			seen[k] = true
			terms = append(terms, k)
		}
	}
	limit := max(nGlosses/300, 2)
	n := 0
	for _, t := range glossWords(s.Gloss) {
		if n == 3 {
			break
		}
		if len(t) < 4 || stop[t] || seen[t] || df[t] > limit || strings.HasPrefix(t, strings.ToLower(w.Lemma)) {
			continue
		}
		seen[t] = true
		terms = append(terms, t)
		n++
	}
	if len(terms) == 0 {
		return EvalItem{}, false
	}
	sort.Strings(terms)
	r := newRNG("eval", w.Lemma)
	return EvalItem{
		Word:      w.Display,
		POS:       p.POS,
		Question:  defineQuestion(r, w.Display, p.POS, false, false),
		Reference: defineSentence(w.Display, p.POS, s.Gloss),
		Terms:     terms,
	}, true
}
