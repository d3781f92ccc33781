package corpus

import (
	"fmt"
	"strings"
)

// Question phrasings. %s is the word as displayed. Each conversation draws
// one phrasing from its item's hash.
var (
	qDefine = []string{
		"What does %q mean?",
		"What is the meaning of the word %q?",
		"Define %q.",
		"What does the word %s mean?",
		"Can you tell me what %q means?",
		"Explain the meaning of %q.",
		"%s: what does it mean?",
		"I don't know the word %q. What does it mean?",
		"Please define the word %q.",
		"What is the definition of %q?",
		"Give me the definition of %s.",
		"meaning of %s",
	}
	qDefineNoun = []string{"What is %s %s?", "What's %s %s?"} // article, word
	qDefineVerb = []string{"What does it mean to %s?", "What does %q mean as a verb?"}
	qDefinePOS  = []string{"What does %q mean as %s %s?", "What is the meaning of %q as %s %s?", "Define %q as %s %s."}
	qDefineZH   = []string{"英文单词“%s”是什么意思？", "“%s”这个英语单词是什么意思？", "%s 是什么意思？"}
	qExample    = []string{
		"Use %q in a sentence.",
		"Give me an example sentence with the word %q.",
		"How do you use %q in a sentence?",
		"Can you show me %q used in a sentence?",
		"Write a sentence using the word %s.",
		"Example of %q in a sentence, please.",
	}
	qSynonym = []string{
		"What is another word for %q?",
		"Give me a synonym for %q.",
		"What are some synonyms of %q?",
		"Which words mean the same as %q?",
		"Synonyms for %s?",
		"Tell me a word that means the same as %q.",
	}
	qAntonym = []string{
		"What is the opposite of %q?",
		"Give me an antonym of %q.",
		"What is an antonym for %q?",
		"What word means the opposite of %q?",
		"Opposite of %s?",
	}
	qHypernym = []string{
		"What kind of thing is %s %s?",
		"%s %s is a type of what?",
		"What category does %q belong to?",
		"What is a more general word for %q?",
	}
	qHypernymVerb = []string{
		"What is a more general word for %q?",
		"To %s is a way to do what?",
		"What is %q a kind of?",
	}
	qHyponym = []string{
		"Name some kinds of %s.",
		"What are some types of %s?",
		"Give examples of kinds of %s.",
		"List a few kinds of %s.",
	}
	qHyponymVerb = []string{
		"What are some ways to %s?",
		"Name some ways to %s.",
	}
	qFollowExample = []string{
		"Can you use it in a sentence?",
		"Give me an example.",
		"Use it in a sentence, please.",
		"How would I use it?",
		"Example?",
	}
	qFollowSynonym = []string{
		"What is another word for it?",
		"Any synonyms?",
		"Is there a word that means the same?",
		"And a synonym?",
	}
	qFollowAntonym = []string{
		"And what is its opposite?",
		"What is the opposite?",
		"Any antonyms?",
	}
	qFollowOther = []string{
		"Does it have other meanings?",
		"Can it mean anything else?",
		"What else can it mean?",
	}
)

// userSays and assistantSays build messages.
func userSays(s string) Message      { return Message{Role: "user", Content: s} }
func assistantSays(s string) Message { return Message{Role: "assistant", Content: s} }

// defineQuestion draws a definition question for a word in one part of
// speech; withPOS names the part of speech in the question (for a word's
// secondary parts of speech).
func defineQuestion(r *rng, display, pos string, zh, withPOS bool) string {
	if zh {
		return fmt.Sprintf(pick(r, qDefineZH), display)
	}
	if withPOS {
		return fmt.Sprintf(pick(r, qDefinePOS), display, article(posName(pos)), posName(pos))
	}
	switch {
	case pos == "noun" && !isCapitalized(display) && r.chance(0.25):
		return fmt.Sprintf(pick(r, qDefineNoun), article(display), display)
	case pos == "verb" && r.chance(0.25):
		return fmt.Sprintf(pick(r, qDefineVerb), display)
	}
	return fmt.Sprintf(pick(r, qDefine), display)
}

// defineAnswer states sense 1 and, sometimes, an example or a second sense.
func defineAnswer(r *rng, display string, p *wordPOS, zh bool) string {
	s := p.Senses[0]
	if zh {
		return fmt.Sprintf("“%s”（%s）的意思是：%s。", display, posNameZH(p.POS), s.Gloss)
	}
	ans := defineSentence(display, p.POS, s.Gloss)
	if len(s.Examples) > 0 && r.chance(0.3) {
		ans += " " + exampleSentence(s.Examples[0])
	} else if len(p.Senses) > 1 && r.chance(0.3) {
		ans += " " + alsoSentence(display, p.POS, p.Senses[1].Gloss)
	}
	return ans
}

// exampleAnswer presents an example sentence.
func exampleAnswer(r *rng, ex string) string {
	switch r.intn(3) {
	case 0:
		return sentence(ex)
	case 1:
		return fmt.Sprintf("Here is an example: %q", sentence(ex))
	}
	return exampleSentence(ex)
}

// firstExample returns the first example sentence over the senses.
func firstExample(p *wordPOS) (string, bool) {
	for _, s := range p.Senses {
		if len(s.Examples) > 0 {
			return s.Examples[0], true
		}
	}
	return "", false
}

// wordConversations generates the SFT conversations of one word: a
// definition (sometimes as a multi-turn conversation with follow-ups),
// and some of: an example sentence, synonyms, antonyms, broader and
// narrower terms. Every conversation is about this word only.
func wordConversations(w *word) []Conversation {
	r := newRNG("wordsft", w.Lemma)
	var out []Conversation
	for pi := range w.POS {
		p := &w.POS[pi]
		primary := p == w.primary()
		if !primary && !r.chance(0.5) {
			continue
		}
		s := p.Senses[0]
		d := w.Display
		ex, hasEx := firstExample(p)
		zh := r.chance(0.06)
		if !zh && r.chance(0.12) {
			// Multi-turn: define, then two follow-ups.
			conv := []Message{userSays(defineQuestion(r, d, p.POS, false, !primary)), assistantSays(defineAnswer(r, d, p, false))}
			type follow struct{ q, a string }
			var f []follow
			if hasEx {
				f = append(f, follow{pick(r, qFollowExample), exampleAnswer(r, ex)})
			}
			if len(s.Synonyms) > 0 {
				f = append(f, follow{pick(r, qFollowSynonym), synonymSentence(d, s.Synonyms)})
			}
			if len(s.Antonyms) > 0 {
				f = append(f, follow{pick(r, qFollowAntonym), antonymSentence(d, s.Antonyms)})
			}
			if len(p.Senses) > 1 {
				f = append(f, follow{pick(r, qFollowOther), "Yes. " + alsoSentence(d, p.POS, p.Senses[1].Gloss)})
			}
			for i := 0; i < len(f) && i < 2; i++ {
				conv = append(conv, userSays(f[i].q), assistantSays(f[i].a))
			}
			out = append(out, Conversation{conv})
		} else {
			out = append(out, Conversation{[]Message{
				userSays(defineQuestion(r, d, p.POS, zh, !primary)), assistantSays(defineAnswer(r, d, p, zh)),
			}})
		}
		if !primary {
			continue
		}
		if hasEx && r.chance(0.35) {
			out = append(out, Conversation{[]Message{
				userSays(fmt.Sprintf(pick(r, qExample), d)), assistantSays(exampleAnswer(r, ex)),
			}})
		}
		if len(s.Synonyms) > 0 && r.chance(0.25) {
			out = append(out, Conversation{[]Message{
				userSays(fmt.Sprintf(pick(r, qSynonym), d)), assistantSays(synonymSentence(d, s.Synonyms)),
			}})
		}
		if len(s.Antonyms) > 0 && r.chance(0.6) {
			out = append(out, Conversation{[]Message{
				userSays(fmt.Sprintf(pick(r, qAntonym), d)), assistantSays(antonymSentence(d, s.Antonyms)),
			}})
		}
		if len(s.Hypernyms) > 0 && r.chance(0.2) {
			out = append(out, Conversation{[]Message{
				userSays(hypernymQuestion(r, d, p.POS)), assistantSays(hypernymSentence(d, p.POS, s.Hypernyms)),
			}})
		}
		if len(s.Hyponyms) >= 2 && r.chance(0.15) {
			q := pick(r, qHyponym)
			if p.POS == "verb" {
				q = pick(r, qHyponymVerb)
			}
			out = append(out, Conversation{[]Message{
				userSays(fmt.Sprintf(q, d)), assistantSays(hyponymSentence(d, p.POS, s.Hyponyms)),
			}})
		}
	}
	return out
}

// hypernymQuestion draws a question for the broader terms of a word.
func hypernymQuestion(r *rng, d, pos string) string {
	switch {
	case pos == "verb":
		return fmt.Sprintf(pick(r, qHypernymVerb), d)
	case isCapitalized(d):
		return fmt.Sprintf("What is %s?", d)
	}
	q := pick(r, qHypernym)
	if strings.Count(q, "%") == 2 {
		art := article(d)
		if strings.HasPrefix(q, "%s") {
			art = capitalize(art)
		}
		return fmt.Sprintf(q, art, d)
	}
	return fmt.Sprintf(q, d)
}
