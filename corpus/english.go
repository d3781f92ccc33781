package corpus

import (
	"fmt"
	"strings"
)

// posName is the English name of a part of speech.
func posName(pos string) string {
	switch pos {
	case "adj":
		return "adjective"
	case "adv":
		return "adverb"
	}
	return pos
}

// posNameZH is the Chinese name of a part of speech.
func posNameZH(pos string) string {
	switch pos {
	case "noun":
		return "名词"
	case "verb":
		return "动词"
	case "adj":
		return "形容词"
	}
	return "副词"
}

// isCapitalized reports whether a display form starts with an upper-case
// ASCII letter (a proper noun such as "Monday").
func isCapitalized(s string) bool { return s != "" && s[0] >= 'A' && s[0] <= 'Z' }

// startsWithDeterminer reports whether a noun gloss starts like a noun
// phrase with an article, so that "A dog is <gloss>" reads well.
func startsWithDeterminer(g string) bool {
	for _, p := range []string{"a ", "an ", "the ", "any ", "one ", "someone ", "something "} {
		if strings.HasPrefix(g, p) {
			return true
		}
	}
	return false
}

// defineSentence states one sense of a word as a sentence:
//
//	noun:  "A dog is a member of the genus Canis ..." or "\"water\" means binary compound ..."
//	verb:  "To run means to move fast by using one's feet ..."
//	other: "\"big\" means above average in size ..."
func defineSentence(display, pos, gloss string) string {
	switch pos {
	case "noun":
		if isCapitalized(display) {
			return sentence(display + " is " + gloss)
		}
		if startsWithDeterminer(gloss) {
			return sentence(capitalize(article(display)) + " " + display + " is " + gloss)
		}
	case "verb":
		return sentence("to " + display + " means to " + strings.TrimPrefix(gloss, "to "))
	}
	return sentence(fmt.Sprintf("%q means %s", display, gloss))
}

// alsoSentence states a further sense: "\"dog\" can also mean a dull unattractive ...".
func alsoSentence(display, pos, gloss string) string {
	if pos == "verb" {
		return sentence("to " + display + " can also mean to " + strings.TrimPrefix(gloss, "to "))
	}
	return sentence(fmt.Sprintf("%q can also mean %s", display, gloss))
}

// exampleSentence quotes an example: `For example: "the dog barked all night".`
func exampleSentence(ex string) string {
	return fmt.Sprintf("For example: %q.", ex)
}

// synonymSentence: "Another word for big is large." / "Other words for big are large and great."
func synonymSentence(display string, syns []string) string {
	if len(syns) == 1 {
		return fmt.Sprintf("Another word for %q is %q.", display, syns[0])
	}
	return fmt.Sprintf("Other words for %q are %s.", display, joinList(quoteAll(syns), "and"))
}

// antonymSentence: "The opposite of good is bad."
func antonymSentence(display string, ants []string) string {
	return fmt.Sprintf("The opposite of %q is %s.", display, joinList(quoteAll(ants), "or"))
}

// hypernymSentence: "A dog is a kind of canine." / "To stroll is a way to walk."
func hypernymSentence(display, pos string, hyper []string) string {
	if pos == "verb" {
		return sentence(fmt.Sprintf("to %s is a way to %s", display, joinList(hyper, "or")))
	}
	subj := capitalize(article(display)) + " " + display
	if isCapitalized(display) {
		subj = display
	}
	return fmt.Sprintf("%s is a kind of %s.", subj, joinList(hyper, "and"))
}

// hyponymSentence: "Kinds of dog include puppy, pooch and hunting dog." /
// "Ways to walk include march and stroll."
func hyponymSentence(display, pos string, hypo []string) string {
	if pos == "verb" {
		return fmt.Sprintf("Ways to %s include %s.", display, joinList(hypo, "and"))
	}
	return fmt.Sprintf("Kinds of %s include %s.", display, joinList(hypo, "and"))
}

// quoteAll wraps each item in double quotes.
func quoteAll(items []string) []string {
	out := make([]string, len(items))
	for i, s := range items {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

// maxDocChars bounds a word's pretraining entry: about 230 tokens (see
// seqTokens), so that nothing is cut at a sequence length of 256.
const maxDocChars = 500

// wordDocument renders the pretraining text of a word, in one of two
// styles chosen by the word's hash: a dictionary entry or plain prose.
func wordDocument(w *word) string {
	r := newRNG("worddoc", w.Lemma)
	var b strings.Builder
	if r.chance(0.5) {
		// Dictionary style:
		//   dog (noun)
		//   1. a member of ... Example: "...". Synonyms: .... Kind of: .... Kinds: ....
		for pi, p := range w.POS {
			head := fmt.Sprintf("%s (%s)\n", w.Display, posName(p.POS))
			if pi > 0 {
				head = "\n" + head
			}
			for si, s := range p.Senses {
				var line strings.Builder
				fmt.Fprintf(&line, "%d. %s", si+1, sentence(s.Gloss))
				if len(s.Examples) > 0 {
					fmt.Fprintf(&line, " Example: %q.", s.Examples[0])
				}
				if len(s.Synonyms) > 0 {
					fmt.Fprintf(&line, " Synonyms: %s.", strings.Join(s.Synonyms, ", "))
				}
				if len(s.Antonyms) > 0 {
					fmt.Fprintf(&line, " Opposite: %s.", strings.Join(s.Antonyms, ", "))
				}
				if len(s.Hypernyms) > 0 {
					fmt.Fprintf(&line, " Kind of: %s.", strings.Join(s.Hypernyms, ", "))
				}
				if len(s.Hyponyms) > 0 {
					fmt.Fprintf(&line, " Kinds: %s.", strings.Join(s.Hyponyms, ", "))
				}
				line.WriteString("\n")
				if si == 0 {
					// A part of speech starts with its header and first sense.
					if pi > 0 && b.Len()+len(head)+line.Len() > maxDocChars {
						return strings.TrimSpace(b.String())
					}
					b.WriteString(head)
				} else if b.Len()+line.Len() > maxDocChars {
					break
				}
				b.WriteString(line.String())
			}
		}
		return strings.TrimSpace(b.String())
	}
	// Prose style: one paragraph per part of speech.
	for pi, p := range w.POS {
		var para []string
		for si, s := range p.Senses {
			var sent []string
			if si == 0 {
				if pi == 0 {
					sent = append(sent, defineSentence(w.Display, p.POS, s.Gloss))
				} else {
					def := defineSentence(w.Display, p.POS, s.Gloss)
					if !strings.HasPrefix(def, w.Display) {
						def = decapitalize(def)
					}
					sent = append(sent, fmt.Sprintf("As %s %s, %s", article(posName(p.POS)), posName(p.POS), def))
				}
			} else {
				sent = append(sent, alsoSentence(w.Display, p.POS, s.Gloss))
			}
			if len(s.Examples) > 0 {
				sent = append(sent, exampleSentence(s.Examples[0]))
			}
			if si == 0 {
				sent = append(sent, relationSentences(w.Display, p.POS, s)...)
				if len(s.Hyponyms) > 0 {
					sent = append(sent, hyponymSentence(w.Display, p.POS, s.Hyponyms))
				}
			}
			text := strings.Join(sent, " ")
			if (si > 0 || pi > 0) && b.Len()+len(strings.Join(para, " "))+len(text) > maxDocChars {
				break
			}
			para = append(para, text)
		}
		if len(para) == 0 {
			break
		}
		if pi > 0 {
			b.WriteString("\n")
		}
		b.WriteString(strings.Join(para, " "))
	}
	return b.String()
}

// relationSentences states a sense's synonyms, opposites and broader terms,
// those it has, in that order.
func relationSentences(display, pos string, s wordSense) []string {
	var out []string
	if len(s.Synonyms) > 0 {
		out = append(out, synonymSentence(display, s.Synonyms))
	}
	if len(s.Antonyms) > 0 {
		out = append(out, antonymSentence(display, s.Antonyms))
	}
	if len(s.Hypernyms) > 0 {
		out = append(out, hypernymSentence(display, pos, s.Hypernyms))
	}
	return out
}
