package corpus

import (
	"fmt"
	"sort"
	"strings"
)

// CoreWords is the size of the core vocabulary: the most common words by
// WordNet's tag counts (water, house, light, city, friend, good, ...). A
// tiny model trained for minutes cannot learn twenty thousand definitions,
// but it can learn a few hundred when it sees each many times, so the core
// files give every core word short, focused texts and conversations that
// MiniMind-Zero repeats. Every core word is a training word.
const CoreWords = 500

// CoreEvalWords is the number of words after the core vocabulary (ranks
// CoreWords to CoreWords+CoreEvalWords-1) that are held out for the
// evaluation: their short texts are in CorePretrainFile and their entries
// in PretrainFile, but no conversation anywhere asks about them, so the
// evaluation measures whether instruction tuning lets the model say what
// pretraining taught it. Adverbs are not asked about (their glosses rarely
// have a defining term) and stay ordinary training words.
const CoreEvalWords = 150

// rankWords returns the rank of every word by commonness: summed tag
// counts, most common first, ties by lemma.
func rankWords(words []*word) map[string]int {
	sorted := append([]*word(nil), words...)
	sort.SliceStable(sorted, func(i, j int) bool {
		if sorted[i].Freq != sorted[j].Freq {
			return sorted[i].Freq > sorted[j].Freq
		}
		return sorted[i].Lemma < sorted[j].Lemma
	})
	rank := make(map[string]int, len(sorted))
	for i, w := range sorted {
		rank[w.Lemma] = i
	}
	return rank
}

// coreSizes are the sizes of the core vocabulary and of the evaluation band
// after it (CoreWords and CoreEvalWords unless a test asks for others).
type coreSizes struct{ words, eval int }

// sizes returns opt's core sizes, the defaults for zero fields.
func (opt Options) sizes() coreSizes {
	c := coreSizes{CoreWords, CoreEvalWords}
	if opt.CoreWords > 0 {
		c.words = opt.CoreWords
	}
	if opt.CoreEvalWords > 0 {
		c.eval = opt.CoreEvalWords
	}
	return c
}

// isCore reports whether the word of a commonness rank is a core word.
func (c coreSizes) isCore(rank int) bool { return rank < c.words }

// isEvalBand reports whether the word of a commonness rank is in the
// evaluation band just after the core vocabulary.
func (c coreSizes) isEvalBand(rank int) bool { return rank >= c.words && rank < c.words+c.eval }

// split assigns the word of a commonness rank to a split: the core
// vocabulary to training, the evaluation band to the evaluation, the
// others by hash (2% validation, 2% evaluation).
func (c coreSizes) split(lemma string, rank int) split {
	switch {
	case c.isCore(rank):
		return splitTrain
	case c.isEvalBand(rank):
		return splitEval
	}
	return splitOf("word", lemma, true)
}

// coreCards renders the two short pretraining texts of a core word: a prose
// card in the words of the SFT answers, and a dictionary card. Both state
// sense 1 of each part of speech (primary first) with the primary sense's
// example, synonyms, opposite and broader terms.
//
//	prose: "A river is a large natural stream of water ... For example: ... Other words ..."
//	card:  "river (noun): a large natural stream of water .... Example: ... Synonyms: ..."
func coreCards(w *word) [2]string {
	p := w.primary()
	order := []*wordPOS{p}
	for i := range w.POS {
		if &w.POS[i] != p {
			order = append(order, &w.POS[i])
		}
	}
	var prose, card []string
	for i, q := range order {
		s := q.Senses[0]
		if i == 0 {
			prose = append(prose, defineSentence(w.Display, q.POS, s.Gloss))
			ex, hasEx := firstExample(q)
			if hasEx {
				prose = append(prose, exampleSentence(ex))
			}
			prose = append(prose, relationSentences(w.Display, q.POS, s)...)
			line := fmt.Sprintf("%s (%s): %s", w.Display, posName(q.POS), sentence(s.Gloss))
			if hasEx {
				line += fmt.Sprintf(" Example: %q.", ex)
			}
			if len(s.Synonyms) > 0 {
				line += fmt.Sprintf(" Synonyms: %s.", strings.Join(s.Synonyms, ", "))
			}
			if len(s.Antonyms) > 0 {
				line += fmt.Sprintf(" Opposite: %s.", strings.Join(s.Antonyms, ", "))
			}
			if len(s.Hypernyms) > 0 {
				line += fmt.Sprintf(" Kind of: %s.", strings.Join(s.Hypernyms, ", "))
			}
			card = append(card, line)
			continue
		}
		def := defineSentence(w.Display, q.POS, s.Gloss)
		if !strings.HasPrefix(def, w.Display) {
			def = decapitalize(def)
		}
		more := fmt.Sprintf("As %s %s, %s", article(posName(q.POS)), posName(q.POS), def)
		line := fmt.Sprintf("%s (%s): %s", w.Display, posName(q.POS), sentence(s.Gloss))
		if len(strings.Join(prose, " "))+len(more) > maxDocChars || len(strings.Join(card, "\n"))+len(line) > maxDocChars {
			break
		}
		prose = append(prose, more)
		card = append(card, line)
	}
	return [2]string{strings.Join(prose, " "), strings.Join(card, "\n")}
}

// coreConversations generates the SFT conversations of a core word: two
// definition questions in different words (one of them sometimes followed
// by "use it in a sentence"), a definition question for each further part
// of speech, and one question each for the example, synonyms, opposite and
// broader terms of sense 1 when the dictionary has them.
func coreConversations(w *word) []Conversation {
	r := newRNG("coresft", w.Lemma)
	p := w.primary()
	s := p.Senses[0]
	d := w.Display
	ex, hasEx := firstExample(p)
	var out []Conversation
	one := func(q, a string) {
		out = append(out, Conversation{[]Message{userSays(q), assistantSays(a)}})
	}
	q1 := defineQuestion(r, d, p.POS, false, false)
	q2 := defineQuestion(r, d, p.POS, false, false)
	for tries := 0; q2 == q1 && tries < 8; tries++ {
		q2 = defineQuestion(r, d, p.POS, false, false)
	}
	one(q1, defineSentence(d, p.POS, s.Gloss))
	if hasEx && r.chance(0.3) {
		out = append(out, Conversation{[]Message{
			userSays(q2), assistantSays(defineSentence(d, p.POS, s.Gloss)),
			userSays(pick(r, qFollowExample)), assistantSays(exampleAnswer(r, ex)),
		}})
	} else {
		one(q2, defineAnswer(r, d, p, false))
	}
	for i := range w.POS {
		if q := &w.POS[i]; q != p {
			one(defineQuestion(r, d, q.POS, false, true), defineSentence(d, q.POS, q.Senses[0].Gloss))
		}
	}
	if hasEx {
		one(fmt.Sprintf(pick(r, qExample), d), exampleAnswer(r, ex))
	}
	if len(s.Synonyms) > 0 {
		one(fmt.Sprintf(pick(r, qSynonym), d), synonymSentence(d, s.Synonyms))
	}
	if len(s.Antonyms) > 0 {
		one(fmt.Sprintf(pick(r, qAntonym), d), antonymSentence(d, s.Antonyms))
	}
	if len(s.Hypernyms) > 0 {
		one(hypernymQuestion(r, d, p.POS), hypernymSentence(d, p.POS, s.Hypernyms))
	}
	return out
}
