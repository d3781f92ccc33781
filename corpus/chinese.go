package corpus

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// maxReciteRunes bounds the poems the SFT set asks to recite, so that
// question, poem and chat template fit 256 tokens.
const maxReciteRunes = 200

// poemKey identifies a poem for hashing and splitting.
func poemKey(p poem) string { return p.Collection + "/" + p.Author + "/" + p.FullTitle }

// poemHeader is "《夜思》\n唐·李白".
func poemHeader(p poem) string { return fmt.Sprintf("%s\n%s·%s", p.FullTitle, p.Dynasty, p.Author) }

// poetKind is "诗人" (poet) for both collections: song100 holds shi poems.
func poetKind(p poem) string { return p.Dynasty + "代诗人" }

// poemDocuments renders a poem as pretraining text: a header and the poem,
// or a sentence naming the poem and its author before it. Long poems are
// cut into parts of whole lines, each under the token budget.
func poemDocuments(p poem) []string {
	r := newRNG("poemdoc", poemKey(p))
	head := poemHeader(p)
	if r.chance(0.5) {
		head = fmt.Sprintf("%s是%s%s的作品，全诗如下：", p.FullTitle, poetKind(p), p.Author)
	}
	var docs []string
	cur, lines := head, 0
	for _, l := range p.Lines {
		next := cur + "\n" + l
		if lines > 0 && seqTokens(next) > maxDocTokens {
			docs = append(docs, cur)
			next, lines = p.FullTitle+"（续）\n"+l, 0
		}
		cur = next
		lines++
	}
	return append(docs, cur)
}

// next-line questions: %s is a half line.
var (
	qRecite = []string{
		"请背诵%s的%s。",
		"背一下%[2]s。",
		"你会背%[2]s吗？",
		"%[2]s全文是什么？",
		"请写出%s的诗%s。",
		"能给我念一下%[2]s吗？",
	}
	qReciteEN  = []string{"Please recite the poem %[2]s by %[1]s.", "Can you recite %[2]s?"}
	qAuthor    = []string{"%s的作者是谁？", "%s是谁写的？", "谁写了%s？", "%s是哪位诗人的作品？"}
	qNextLine  = []string{"“%s”的下一句是什么？", "“%s”，下一句是？", "“%s”后面一句是什么？"}
	qPrevLine  = []string{"“%s”的上一句是什么？", "“%s”前面一句是什么？"}
	qFirstLine = []string{"%s的第一句是什么？", "%s开头是哪一句？"}
	qPoemsBy   = []string{"%s写过哪些诗？", "%s有哪些有名的诗？", "请列举几首%s的诗。"}
	qAnyPoem   = []string{"背一首%s诗。", "给我念一首%s诗吧。", "来一首%s诗。"}
	qFollowWho = []string{"作者是谁？", "这是谁写的？", "这首诗的作者是谁？"}
)

// halfLines splits the poem's lines at commas and full stops into the
// half lines that "next line" questions use: "床前明月光", "疑是地上霜", ...
func halfLines(p poem) []string {
	var out []string
	for _, l := range p.Lines {
		for _, h := range strings.FieldsFunc(l, func(r rune) bool { return strings.ContainsRune("，。？！；：", r) }) {
			h = strings.TrimSpace(h)
			if utf8.RuneCountInString(h) >= 3 {
				out = append(out, h)
			}
		}
	}
	return out
}

// reciteAnswer is the header and the poem.
func reciteAnswer(p poem) string { return poemHeader(p) + "\n" + p.Body() }

// poemConversations generates the SFT conversations of one poem: recite it
// (alone or followed by "who wrote it?"), its author, its first line, and
// next/previous half lines.
func poemConversations(p poem) []Conversation {
	r := newRNG("poemsft", poemKey(p))
	var out []Conversation
	title := "《" + p.Title + "》"
	if utf8.RuneCountInString(p.Body()) <= maxReciteRunes {
		q := fmt.Sprintf(pick(r, qRecite), p.Author, title)
		if r.chance(0.08) {
			q = fmt.Sprintf(pick(r, qReciteEN), p.Author, title)
		}
		conv := []Message{userSays(q), assistantSays(reciteAnswer(p))}
		if r.chance(0.25) && !strings.Contains(q, p.Author) {
			conv = append(conv, userSays(pick(r, qFollowWho)),
				assistantSays(fmt.Sprintf("这首诗的作者是%s%s。", poetKind(p), p.Author)))
		}
		out = append(out, Conversation{conv})
	}
	shortTitle := utf8.RuneCountInString(p.Title) <= 16
	if shortTitle && r.chance(0.7) {
		out = append(out, Conversation{[]Message{
			userSays(fmt.Sprintf(pick(r, qAuthor), title)),
			assistantSays(fmt.Sprintf("%s是%s%s写的。", title, poetKind(p), p.Author)),
		}})
	}
	if shortTitle && r.chance(0.4) {
		out = append(out, Conversation{[]Message{
			userSays(fmt.Sprintf(pick(r, qFirstLine), title)),
			assistantSays(fmt.Sprintf("%s的第一句是“%s”", title, p.Lines[0])),
		}})
	}
	halves := halfLines(p)
	for k := 0; k < 2 && len(halves) >= 2; k++ {
		i := r.intn(len(halves) - 1)
		if r.chance(0.75) {
			out = append(out, Conversation{[]Message{
				userSays(fmt.Sprintf(pick(r, qNextLine), halves[i])),
				assistantSays(fmt.Sprintf("“%s”的下一句是“%s”，出自%s%s的%s。", halves[i], halves[i+1], p.Dynasty+"·", p.Author, title)),
			}})
		} else {
			out = append(out, Conversation{[]Message{
				userSays(fmt.Sprintf(pick(r, qPrevLine), halves[i+1])),
				assistantSays(fmt.Sprintf("“%s”的上一句是“%s”。", halves[i+1], halves[i])),
			}})
		}
	}
	return out
}

// poetConversations lists the poems of each poet with at least two poems
// (poems given in order), and asks for any poem of a dynasty.
func poetConversations(poems []poem) []Conversation {
	byAuthor := make(map[string][]poem)
	for _, p := range poems {
		byAuthor[p.Dynasty+"/"+p.Author] = append(byAuthor[p.Dynasty+"/"+p.Author], p)
	}
	var out []Conversation
	for _, k := range sortedKeys(byAuthor) {
		ps := byAuthor[k]
		if len(ps) < 2 {
			continue
		}
		r := newRNG("poet", k)
		var titles []string
		for _, p := range ps {
			titles = append(titles, "《"+p.Title+"》")
			if len(titles) == 6 {
				break
			}
		}
		out = append(out, Conversation{[]Message{
			userSays(fmt.Sprintf(pick(r, qPoemsBy), ps[0].Author)),
			assistantSays(fmt.Sprintf("%s是%s，写过%s等诗。", ps[0].Author, poetKind(ps[0]), strings.Join(titles, "、"))),
		}})
	}
	// "Recite any Tang/Song poem": short poems, each asked once.
	for _, p := range poems {
		r := newRNG("anypoem", poemKey(p))
		if utf8.RuneCountInString(p.Body()) > 120 || !r.chance(0.3) {
			continue
		}
		out = append(out, Conversation{[]Message{
			userSays(fmt.Sprintf(pick(r, qAnyPoem), p.Dynasty)),
			assistantSays("好的，这是" + poetKind(p) + p.Author + "的" + "《" + p.Title + "》：\n" + p.Body()),
		}})
	}
	return out
}

// readingsZH lists a character's readings: "shuǐ" or "le、liǎo、liào".
func readingsZH(h hanChar) string { return strings.Join(h.Readings, "、") }

// hanDocument renders one character as a short dictionary entry, in one of
// two styles.
func hanDocument(h hanChar) string {
	r := newRNG("handoc", h.Char)
	var b strings.Builder
	if r.chance(0.5) {
		fmt.Fprintf(&b, "%s（%s）：%d画", h.Char, readingsZH(h), h.Strokes)
		if h.Radical != "" {
			fmt.Fprintf(&b, "，部首%s", h.Radical)
		}
		if len(h.Traditional) > 0 {
			fmt.Fprintf(&b, "，繁体作%s", strings.Join(h.Traditional, "、"))
		}
		fmt.Fprintf(&b, "。英文：%s。", h.Definition)
		return b.String()
	}
	fmt.Fprintf(&b, "汉字“%s”读作%s，共%d画", h.Char, readingsZH(h), h.Strokes)
	if h.Radical != "" {
		fmt.Fprintf(&b, "，部首是“%s”", h.Radical)
	}
	b.WriteString("。")
	if len(h.Traditional) > 0 {
		fmt.Fprintf(&b, "它的繁体字是“%s”。", strings.Join(h.Traditional, "”和“"))
	}
	fmt.Fprintf(&b, "它的英文意思是：%s。", h.Definition)
	return b.String()
}

var (
	qHanMeaning   = []string{"“%s”是什么意思？", "“%s”字是什么意思？", "汉字“%s”的意思是什么？", "“%s”的英文意思是什么？", "“%s”用英语怎么说？"}
	qHanMeaningEN = []string{"What does the Chinese character %s mean?", "What is the meaning of %s in Chinese?"}
	qHanReading   = []string{"“%s”怎么读？", "“%s”字的拼音是什么？", "“%s”的读音是什么？"}
	qHanStrokes   = []string{"“%s”有几画？", "“%s”字一共几笔？", "“%s”的笔画数是多少？"}
	qHanRadical   = []string{"“%s”的部首是什么？", "“%s”字是什么部首？"}
	qHanTrad      = []string{"“%s”的繁体字是什么？", "“%s”的繁体怎么写？"}
	qFollowRead   = []string{"怎么读？", "它的拼音是什么？", "How do you pronounce it?"}
)

// hanReadingAnswer is "“水”读作shuǐ。" or, for several readings,
// "“了”有几个读音：le、liǎo、liào，最常用的是le。"
func hanReadingAnswer(h hanChar) string {
	if len(h.Readings) == 1 {
		return fmt.Sprintf("“%s”读作%s。", h.Char, h.Readings[0])
	}
	return fmt.Sprintf("“%s”有几个读音：%s，最常用的是%s。", h.Char, readingsZH(h), h.Readings[0])
}

// hanConversations generates the SFT conversations of one character: its
// meaning (in Chinese or English), and sometimes its reading, strokes,
// radical or traditional form.
func hanConversations(h hanChar) []Conversation {
	r := newRNG("hansft", h.Char)
	var out []Conversation
	var conv []Message
	if r.chance(0.15) {
		conv = []Message{
			userSays(fmt.Sprintf(pick(r, qHanMeaningEN), h.Char)),
			assistantSays(fmt.Sprintf("%s (%s) means: %s.", h.Char, h.Readings[0], h.Definition)),
		}
	} else {
		conv = []Message{
			userSays(fmt.Sprintf(pick(r, qHanMeaning), h.Char)),
			assistantSays(fmt.Sprintf("“%s”（%s）的英文意思是：%s。", h.Char, h.Readings[0], h.Definition)),
		}
	}
	if r.chance(0.12) {
		conv = append(conv, userSays(pick(r, qFollowRead)), assistantSays(hanReadingAnswer(h)))
	}
	out = append(out, Conversation{conv})
	switch r.intn(6) {
	case 0, 1:
		out = append(out, Conversation{[]Message{
			userSays(fmt.Sprintf(pick(r, qHanReading), h.Char)), assistantSays(hanReadingAnswer(h)),
		}})
	case 2:
		if h.Strokes > 0 {
			out = append(out, Conversation{[]Message{
				userSays(fmt.Sprintf(pick(r, qHanStrokes), h.Char)),
				assistantSays(fmt.Sprintf("“%s”共%d画。", h.Char, h.Strokes)),
			}})
		}
	case 3:
		if h.Radical != "" {
			out = append(out, Conversation{[]Message{
				userSays(fmt.Sprintf(pick(r, qHanRadical), h.Char)),
				assistantSays(fmt.Sprintf("“%s”的部首是“%s”。", h.Char, h.Radical)),
			}})
		}
	}
	if len(h.Traditional) > 0 && r.chance(0.6) {
		out = append(out, Conversation{[]Message{
			userSays(fmt.Sprintf(pick(r, qHanTrad), h.Char)),
			assistantSays(fmt.Sprintf("“%s”的繁体字是“%s”。", h.Char, strings.Join(h.Traditional, "”或“"))),
		}})
	}
	return out
}
