package corpus

import (
	"fmt"
	"strings"
)

// maxDocTokens bounds the tokens (seqTokens) of one pretraining document,
// so that documents fit a 256-token sequence.
const maxDocTokens = 230

// maxConvTokens bounds the tokens (seqTokens, plus 5 a message for the chat
// template) of one conversation.
const maxConvTokens = 250

// convTokens estimates a conversation's tokens with its chat template.
func convTokens(c Conversation) int {
	n := 0
	for _, m := range c.Conversations {
		n += seqTokens(m.Content)
	}
	return n + 5*len(c.Conversations)
}

// packDocuments concatenates short entries (in the given order) into
// documents of at most maxDocTokens estimated tokens, separated by sep. An
// entry longer than the budget becomes a document of its own.
func packDocuments(entries []string, sep string) []string {
	var docs []string
	cur := ""
	for _, e := range entries {
		if cur == "" {
			cur = e
			continue
		}
		next := cur + sep + e
		if seqTokens(next) > maxDocTokens {
			docs = append(docs, cur)
			cur = e
			continue
		}
		cur = next
	}
	if cur != "" {
		docs = append(docs, cur)
	}
	return docs
}

// biblePassages cuts the verses of each chapter into passages of whole
// verses under the token budget, each headed by its reference:
//
//	John 3:16-21
//	For God so loved the world, ...
//
// It returns the passages keyed by chapter ("John.3"), chapters in order.
func biblePassages(verses []bibleVerse) (keys []string, passages map[string][]string) {
	passages = make(map[string][]string)
	var curKey, name string
	var buf []string
	first, last := 0, 0
	flush := func() {
		if len(buf) == 0 {
			return
		}
		ref := fmt.Sprintf("%s %d:%d", name, atoiOr(strings.SplitN(curKey, ".", 2)[1], 0), first)
		if last != first {
			ref += fmt.Sprintf("-%d", last)
		}
		passages[curKey] = append(passages[curKey], ref+"\n"+strings.Join(buf, " "))
		buf = nil
	}
	for _, v := range verses {
		key := fmt.Sprintf("%s.%d", v.Book, v.Chapter)
		if key != curKey {
			flush()
			curKey, name = key, bibleBookName(v.Book)
			keys = append(keys, key)
		}
		text := strings.Join(append(append([]string(nil), buf...), v.Text), " ")
		if len(buf) > 0 && seqTokens(text)+8 > maxDocTokens {
			flush()
		}
		if len(buf) == 0 {
			first = v.Verse
		}
		buf = append(buf, v.Text)
		last = v.Verse
	}
	flush()
	return keys, passages
}

// elementDocument is the pretraining entry of an element, in one of two
// styles.
func elementDocument(e element) string {
	if newRNG("elementdoc", e.Name).chance(0.5) {
		return fmt.Sprintf("%s\nSymbol: %s. Atomic number: %d. Atomic weight: %s.",
			capitalize(e.Name), e.Symbol, e.Number, e.Weight)
	}
	return fmt.Sprintf("%s is a chemical element with the symbol %s and atomic number %d. Its atomic weight is %s.",
		capitalize(e.Name), e.Symbol, e.Number, strings.Trim(e.Weight, "()"))
}

// elementConversations asks for an element's symbol, atomic number, the
// element of a symbol or number, and what it is.
func elementConversations(e element) []Conversation {
	r := newRNG("element", e.Name)
	name := capitalize(e.Name)
	qa := [][2]string{
		{fmt.Sprintf(pick(r, []string{"What is the chemical symbol for %s?", "What is the symbol of %s?", "Symbol for %s?"}), e.Name),
			fmt.Sprintf("The chemical symbol for %s is %s.", e.Name, e.Symbol)},
		{fmt.Sprintf(pick(r, []string{"What is the atomic number of %s?", "What is %s's atomic number?"}), e.Name),
			fmt.Sprintf("%s has atomic number %d.", name, e.Number)},
		{fmt.Sprintf(pick(r, []string{"Which element has the symbol %s?", "What element is %s?"}), e.Symbol),
			fmt.Sprintf("%s is the symbol of %s.", e.Symbol, e.Name)},
		{fmt.Sprintf(pick(r, []string{"Which element has atomic number %d?", "What is element number %d?"}), e.Number),
			fmt.Sprintf("Element number %d is %s (%s).", e.Number, e.Name, e.Symbol)},
		{fmt.Sprintf(pick(r, []string{"What is %s?", "Tell me about %s.", "Tell me about the element %s."}), e.Name),
			fmt.Sprintf("%s is a chemical element with the symbol %s and atomic number %d.", name, e.Symbol, e.Number)},
	}
	var out []Conversation
	for i, p := range qa {
		if i == 0 || i == 4 || r.chance(0.5) {
			out = append(out, Conversation{[]Message{userSays(p[0]), assistantSays(p[1])}})
		}
	}
	return out
}

// Identity and small-talk conversations. Each question is asked several
// times with answers drawn from the matching list.
var (
	identityQEN = []string{
		"Who are you?", "What are you?", "What is your name?", "Introduce yourself.",
		"Tell me about yourself.", "Are you a human?", "Are you ChatGPT?", "Who made you?",
		"Who created you?", "What kind of model are you?", "What's your name?", "Hi, who am I talking to?",
		"Are you an AI?", "How big are you?", "who are you", "What should I call you?",
	}
	identityAEN = []string{
		"I am MiniMind, a small language model trained from scratch. I am tiny, so I know only a little and I often make mistakes.",
		"I'm MiniMind, a tiny language model. I was trained from scratch on a small corpus of English words, a Bible translation, chemical elements, Chinese characters and classical Chinese poems.",
		"My name is MiniMind. I am a very small language model that was trained from scratch on an ordinary computer.",
		"I am MiniMind, a small AI language model trained from scratch by the MiniMind-Go project. I am not a human.",
	}
	identityQZH = []string{
		"你是谁？", "你是谁", "你叫什么名字？", "介绍一下你自己。", "请做个自我介绍。", "你是人吗？",
		"你是ChatGPT吗？", "谁创造了你？", "你是什么模型？", "你好，你是谁？", "我该怎么称呼你？", "你是AI吗？",
	}
	identityAZH = []string{
		"我是MiniMind，一个从零开始训练的小型语言模型。我很小，知道的东西不多，也经常会犯错。",
		"我叫MiniMind，是一个很小的语言模型，用英语单词、圣经译文、化学元素、汉字和古诗词等小语料从零训练而成。",
		"我是MiniMind，一个在普通电脑上从零训练出来的小模型，不是人类。",
		"你好！我是MiniMind，由MiniMind-Go项目从零训练的小型语言模型。",
	}
	abilityQEN = []string{"What can you do?", "How can you help me?", "What do you know?"}
	abilityAEN = []string{
		"I can explain common English words, give synonyms, opposites and example sentences, tell you about chemical elements and Chinese characters, and recite some classical Chinese poems. I am very small, so please check what I say.",
		"I know a little about English words, the chemical elements, Chinese characters and Tang and Song poems. Ask me what a word means, or ask me to recite a poem.",
	}
	abilityQZH = []string{"你能做什么？", "你会什么？", "你能帮我做什么？"}
	abilityAZH = []string{
		"我可以解释常见的英语单词，说说汉字的读音和意思，还会背一些唐诗宋词。我很小，回答不一定对。",
		"我会解释英语单词、介绍化学元素和汉字，也能背诵一些古诗。你可以问我一个词的意思，或者让我背一首诗。",
	}
	smallTalk = [][2][]string{
		{{"Hello!", "Hi!", "Hello", "hi", "Good morning!"}, {"Hello! I am MiniMind. How can I help you?", "Hi! What would you like to know?"}},
		{{"Thank you!", "Thanks.", "thanks a lot"}, {"You're welcome!", "Glad I could help."}},
		{{"Goodbye!", "Bye.", "See you later."}, {"Goodbye! Have a nice day.", "Bye! Come back any time."}},
		{{"How are you?", "How are you doing?"}, {"I'm fine, thank you. How can I help you?", "I am doing well. What would you like to ask?"}},
		{{"你好", "你好！", "嗨", "早上好！"}, {"你好！我是MiniMind，有什么可以帮你的吗？", "你好！请问你想了解什么？"}},
		{{"谢谢！", "谢谢你", "多谢"}, {"不客气！", "很高兴能帮到你。"}},
		{{"再见！", "拜拜"}, {"再见！祝你愉快。", "再见，欢迎再来！"}},
		{{"你好吗？", "最近怎么样？"}, {"我很好，谢谢！有什么可以帮你的吗？", "挺好的。你想问点什么？"}},
	}
)

// identityConversations are the fixed identity and small-talk set.
func identityConversations() []Conversation {
	var out []Conversation
	add := func(kind string, qs, as []string, times int) {
		for _, q := range qs {
			for k := 0; k < times; k++ {
				r := newRNG("identity", kind, q, fmt.Sprint(k))
				out = append(out, Conversation{[]Message{userSays(q), assistantSays(pick(r, as))}})
			}
		}
	}
	add("id-en", identityQEN, identityAEN, 4)
	add("id-zh", identityQZH, identityAZH, 4)
	add("ab-en", abilityQEN, abilityAEN, 3)
	add("ab-zh", abilityQZH, abilityAZH, 3)
	for i, st := range smallTalk {
		add(fmt.Sprint("talk", i), st[0], st[1], 2)
	}
	// Multi-turn: greeting, then who are you.
	for i := 0; i < 12; i++ {
		r := newRNG("identity-multi", fmt.Sprint(i))
		en := i%2 == 0
		if en {
			out = append(out, Conversation{[]Message{
				userSays(pick(r, smallTalk[0][0])), assistantSays(pick(r, smallTalk[0][1])),
				userSays(pick(r, identityQEN)), assistantSays(pick(r, identityAEN)),
			}})
		} else {
			out = append(out, Conversation{[]Message{
				userSays(pick(r, smallTalk[4][0])), assistantSays(pick(r, smallTalk[4][1])),
				userSays(pick(r, identityQZH)), assistantSays(pick(r, identityAZH)),
			}})
		}
	}
	return out
}
