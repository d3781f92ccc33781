package corpus

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestSplitGloss(t *testing.T) {
	tests := []struct {
		name, gloss, def string
		examples         []string
	}{
		{"plain", "an expression of greeting", "an expression of greeting", nil},
		{"one example", `a member of the genus Canis; occurs in many breeds; "the dog barked all night"`,
			"a member of the genus Canis; occurs in many breeds", []string{"the dog barked all night"}},
		{"two examples", `move fast; "Don't run--you'll be out of breath"; "The children ran to the store"`,
			"move fast", []string{"Don't run--you'll be out of breath", "The children ran to the store"}},
		{"attribution", `a quality; "the good die young"- Shakespeare`, "a quality", []string{"the good die young"}},
		{"unbalanced quote", `a unit of 12 inches; "a six board`, "a unit of 12 inches", nil},
		{"trailing semicolon", "an entity; ", "an entity", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			def, ex := splitGloss(tt.gloss)
			if def != tt.def || !reflect.DeepEqual(ex, tt.examples) {
				t.Errorf("splitGloss(%q) = %q, %q; want %q, %q", tt.gloss, def, ex, tt.def, tt.examples)
			}
		})
	}
}

func TestParseSynset(t *testing.T) {
	tests := []struct {
		name, line string
		want       *wnSynset
		wantErr    string
	}{
		{
			name: "noun",
			line: `02084071 05 n 03 dog 0 domestic_dog 0 Canis_familiaris 0 003 @ 02083346 n 0000 ~ 01322604 n 0000 ! 02084732 n 0102 | a member of the genus Canis; "the dog barked all night"  `,
			want: &wnSynset{Offset: "02084071", Type: 'n', Words: []string{"dog", "domestic dog", "Canis familiaris"},
				Pointers: []wnPointer{{"@", "02083346", 'n', 0, 0}, {"~", "01322604", 'n', 0, 0}, {"!", "02084732", 'n', 1, 2}},
				Gloss:    "a member of the genus Canis", Examples: []string{"the dog barked all night"}},
		},
		{
			name: "adjective marker and verb frames",
			line: `01382086 00 s 02 galore(ip) 0 in_large_quantity 0 001 & 01380267 a 0000 | in great numbers  `,
			want: &wnSynset{Offset: "01382086", Type: 's', Words: []string{"galore", "in large quantity"},
				Pointers: []wnPointer{{"&", "01380267", 'a', 0, 0}}, Gloss: "in great numbers"},
		},
		{
			name: "hex word count",
			line: `00001740 03 n 0a a 0 b 0 c 0 d 0 e 0 f 0 g 0 h 0 i 0 j 0 000 | letters`,
			want: &wnSynset{Offset: "00001740", Type: 'n', Words: strings.Fields("a b c d e f g h i j"), Gloss: "letters"},
		},
		{name: "truncated words", line: `00001740 03 n 05 dog 0 000 | x`, wantErr: "truncated word list"},
		{name: "truncated pointers", line: `00001740 03 n 01 dog 0 002 @ 1 n 0000 | x`, wantErr: "truncated pointer list"},
		{name: "bad count", line: `00001740 03 n zz dog 0 000 | x`, wantErr: "w_cnt"},
		{name: "short", line: `00001740 03 n`, wantErr: "fields"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseSynset(tt.line)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseSynset error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseSynset =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestParseIndexLine(t *testing.T) {
	got, err := parseIndexLine("ice_cream n 1 3 @ ~ + 1 1 07614500  ", "noun")
	if err != nil {
		t.Fatal(err)
	}
	want := wnIndexEntry{Lemma: "ice cream", POS: "noun", TagSenses: 1, Synsets: []string{"07614500"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	for _, bad := range []string{"dog n 7", "dog n x 0 7 1 a", "dog n 3 0 3 1 0001", "dog n 1 9 @ 1 1 0001"} {
		if _, err := parseIndexLine(bad, "noun"); err == nil {
			t.Errorf("parseIndexLine(%q) did not fail", bad)
		}
	}
}

func TestOSISPlain(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"words", `<w lemma="strong:H0430">In</w> <w lemma="x">the</w> beginning, God`, "In the beginning, God"},
		{"note dropped", `God<note placement="foot"><reference>1:1 </reference>Hebrew “Elohim”.</note> created`, "God created"},
		{"title dropped", `<title type="psalm">A Psalm by David.</title>Yahweh is my shepherd`, "Yahweh is my shepherd"},
		{"punctuation after tag", `<w>light</w> , and <w>good</w> .`, "light, and good."},
		{"entities", `salt &amp; light`, "salt & light"},
		{"quotes", `said, “ <q>Let there be light</q> ”`, "said, “Let there be light”"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := osisPlain([]byte(tt.in)); got != tt.want {
				t.Errorf("osisPlain(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestZTextRoundTrip(t *testing.T) {
	dir := t.TempDir()
	slots := [][]byte{
		nil, []byte(`<milestone/>`), []byte(`<div type="book"/>`),
		[]byte(`<chapter n="1" osisID="Gen.1" sID="Gen.1"/>`),
		[]byte(`In the beginning.`), nil, []byte(`Third verse. <chapter eID="Gen.1"/> glossary`),
		[]byte(`<chapter osisID="Gen.2"/>`), []byte(`Chapter two.`),
	}
	if err := writeZText(dir, "ot", slots, 3); err != nil {
		t.Fatal(err)
	}
	entries, err := readZText(dir, "ot")
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(slots) {
		t.Fatalf("read %d slots, want %d", len(entries), len(slots))
	}
	got := bibleVerses(entries)
	want := []bibleVerse{
		{"Gen", 1, 1, "In the beginning."}, {"Gen", 1, 3, "Third verse."}, {"Gen", 2, 1, "Chapter two."},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("bibleVerses = %+v, want %+v", got, want)
	}

	// A verse index pointing past its block is an error naming the file.
	bzv := filepath.Join(dir, "ot.bzv")
	data, _ := os.ReadFile(bzv)
	data[4*10+7] = 0x7f // slot 4's offset, high byte
	os.WriteFile(bzv, data, 0o644)
	if _, err := readZText(dir, "ot"); err == nil || !strings.Contains(err.Error(), "ot.bzv") {
		t.Errorf("corrupt index: error = %v, want one naming ot.bzv", err)
	}
}

func TestBiblePassages(t *testing.T) {
	long := strings.Repeat("word ", 90) // about 205 tokens
	verses := []bibleVerse{
		{"John", 3, 16, "For God so loved the world."}, {"John", 3, 17, "For God didn't send his Son."},
		{"John", 3, 18, long}, {"John", 4, 1, "Therefore when the Lord knew."},
	}
	keys, passages := biblePassages(verses)
	if want := []string{"John.3", "John.4"}; !reflect.DeepEqual(keys, want) {
		t.Fatalf("keys = %v, want %v", keys, want)
	}
	p := passages["John.3"]
	if len(p) != 2 || !strings.HasPrefix(p[0], "John 3:16-17\nFor God so loved") || !strings.HasPrefix(p[1], "John 3:18\nword") {
		t.Errorf("John.3 passages = %q", p)
	}
	if got := passages["John.4"]; len(got) != 1 || got[0] != "John 4:1\nTherefore when the Lord knew." {
		t.Errorf("John.4 passages = %q", got)
	}
}

func TestReadPoems(t *testing.T) {
	text := "\x1b[32m《夜思》\x1b[m\n\x1b[33m作者：李白\x1b[m\n床前明月光，疑是地上霜。\n举头望明月，低头思故乡。\n%\n" +
		"\x1b[32m题目:《春居杂兴》二首\x1b[m\n\x1b[33m作者:王禹偁（９５４－１００１）\x1b[m\n\n            其一\n\n两株桃杏映篱斜，妆点商山副使家，\n%\n" +
		"何事春风容不得，和莺吹折数枝花。\n%\n" +
		"\x1b[32m题目:《东溪》\x1b[m\n\x1b[33m作者:梅尧臣\x1b[m\n行到东溪看水时，坐临孤屿发船迟。\n" +
		"\x1b[32m题目:《鲁山山行》\x1b[m\n\x1b[33m作者:梅尧臣（１００２－１０６０）\x1b[m\n适与野情惬，千山高复低。\n%\n"
	path := filepath.Join(t.TempDir(), "poems")
	os.WriteFile(path, []byte(text), 0o644)
	got, err := readPoems(path, "test", "唐")
	if err != nil {
		t.Fatal(err)
	}
	want := []poem{
		{Collection: "test", Dynasty: "唐", Title: "夜思", FullTitle: "《夜思》", Author: "李白",
			Lines: []string{"床前明月光，疑是地上霜。", "举头望明月，低头思故乡。"}},
		{Collection: "test", Dynasty: "唐", Title: "春居杂兴", FullTitle: "《春居杂兴》二首", Author: "王禹偁",
			Lines: []string{"其一", "两株桃杏映篱斜，妆点商山副使家，", "何事春风容不得，和莺吹折数枝花。"}},
		{Collection: "test", Dynasty: "唐", Title: "东溪", FullTitle: "《东溪》", Author: "梅尧臣",
			Lines: []string{"行到东溪看水时，坐临孤屿发船迟。"}},
		{Collection: "test", Dynasty: "唐", Title: "鲁山山行", FullTitle: "《鲁山山行》", Author: "梅尧臣",
			Lines: []string{"适与野情惬，千山高复低。"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("readPoems =\n%+v\nwant\n%+v", got, want)
	}
	if h := halfLines(got[0]); !reflect.DeepEqual(h, []string{"床前明月光", "疑是地上霜", "举头望明月", "低头思故乡"}) {
		t.Errorf("halfLines = %q", h)
	}

	os.WriteFile(path, []byte("没有标题的一行\n%\n"), 0o644)
	if _, err := readPoems(path, "test", "唐"); err == nil || !strings.Contains(err.Error(), "no title") {
		t.Errorf("untitled first entry: error = %v", err)
	}
}

func TestCodePointChar(t *testing.T) {
	for in, want := range map[string]string{"U+6C34": "水", "U+20000": "\U00020000"} {
		if got, ok := codePointChar(in); !ok || got != want {
			t.Errorf("codePointChar(%q) = %q, %v", in, got, ok)
		}
	}
	for _, bad := range []string{"6C34", "U+6C34<kFenn", "U+XYZW", ""} {
		if _, ok := codePointChar(bad); ok {
			t.Errorf("codePointChar(%q) succeeded", bad)
		}
	}
}

func TestSentences(t *testing.T) {
	tests := []struct{ name, got, want string }{
		{"noun with article", defineSentence("dog", "noun", "a member of the genus Canis"), "A dog is a member of the genus Canis."},
		{"noun vowel", defineSentence("apple", "noun", "a fruit"), "An apple is a fruit."},
		{"noun mass", defineSentence("water", "noun", "binary compound"), `"water" means binary compound.`},
		{"proper noun", defineSentence("Monday", "noun", "the second day of the week"), "Monday is the second day of the week."},
		{"verb", defineSentence("run", "verb", "move fast by using one's feet"), "To run means to move fast by using one's feet."},
		{"adjective", defineSentence("big", "adj", "above average in size"), `"big" means above average in size.`},
		{"also verb", alsoSentence("run", "verb", "to flee"), "To run can also mean to flee."},
		{"synonyms", synonymSentence("big", []string{"large", "great"}), `Other words for "big" are "large" and "great".`},
		{"synonym", synonymSentence("big", []string{"large"}), `Another word for "big" is "large".`},
		{"antonyms", antonymSentence("good", []string{"bad", "evil"}), `The opposite of "good" is "bad" or "evil".`},
		{"hypernym", hypernymSentence("dog", "noun", []string{"canine", "domestic animal"}), "A dog is a kind of canine and domestic animal."},
		{"hypernym verb", hypernymSentence("stroll", "verb", []string{"walk"}), "To stroll is a way to walk."},
		{"hyponyms", hyponymSentence("dog", "noun", []string{"puppy", "cur", "pooch"}), "Kinds of dog include puppy, cur and pooch."},
		{"list", joinList([]string{"a", "b", "c"}, "or"), "a, b or c"},
		{"sentence keeps ?", sentence("is it?"), "Is it?"},
		{"sentence after paren", sentence("a thing (Empedocles)"), "A thing (Empedocles)."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}

func TestContainsWordForm(t *testing.T) {
	tests := []struct {
		text, lemma string
		want        bool
	}{
		{"the dog barked all night", "bark", true},
		{"The Dogs ran", "dog", true},
		{"a hotdog stand", "dog", false},
		{"hot-dog stand", "dog", true},
		{"nothing here", "dog", false},
	}
	for _, tt := range tests {
		if got := containsWordForm(tt.text, tt.lemma); got != tt.want {
			t.Errorf("containsWordForm(%q, %q) = %v, want %v", tt.text, tt.lemma, got, tt.want)
		}
	}
}

func TestEvalItemMatch(t *testing.T) {
	it := EvalItem{Word: "dog", Terms: []string{"canine", "domestic animal", "genus"}}
	tests := []struct {
		answer string
		want   []string
	}{
		{"A dog is a kind of canine.", []string{"canine"}},
		{"Canines and a Domestic Animal.", []string{"canine", "domestic animal"}},
		{"A dog is a cat.", nil},
		{"subgenus", nil},
	}
	for _, tt := range tests {
		t.Run(tt.answer, func(t *testing.T) {
			got := it.MatchedTerms(tt.answer)
			if !reflect.DeepEqual(got, tt.want) || it.Match(tt.answer) != (len(tt.want) > 0) {
				t.Errorf("MatchedTerms(%q) = %q, want %q", tt.answer, got, tt.want)
			}
		})
	}
}

func TestPackDocuments(t *testing.T) {
	entry := strings.Repeat("x", 176) // 80 tokens
	docs := packDocuments([]string{entry, entry, entry, strings.Repeat("y", 2000), entry}, "\n")
	if len(docs) != 4 {
		t.Fatalf("got %d documents, want 4", len(docs))
	}
	for i, d := range docs {
		if i != 2 && seqTokens(d) > maxDocTokens {
			t.Errorf("document %d has %d tokens, over the budget", i, seqTokens(d))
		}
	}
}

func TestSplitOfProportions(t *testing.T) {
	counts := map[split]int{}
	const n = 20000
	for i := 0; i < n; i++ {
		counts[splitOf("word", strings.Repeat("w", i%7)+string(rune('a'+i%26))+itoa(i), true)]++
	}
	for sp, want := range map[split]float64{splitVal: 0.02, splitEval: 0.02} {
		got := float64(counts[sp]) / n
		if got < want*0.8 || got > want*1.2 {
			t.Errorf("split %d: fraction %.4f, want about %.2f", sp, got, want)
		}
	}
	if splitOf("word", "dog", true) != splitOf("word", "dog", true) {
		t.Error("splitOf is not deterministic")
	}
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

func TestRNGIsFixed(t *testing.T) {
	// The generator's sequence is part of the corpus format: changing it
	// changes every built file.
	r := newRNG("test")
	got := []uint64{r.next(), r.next()}
	r2 := newRNG("test")
	if r2.next() != got[0] || r2.next() != got[1] {
		t.Fatal("same seed gave different sequences")
	}
	if h := hash64("a", "b"); h == hash64("a", "c") || h == hash64("ab") {
		t.Error("hash64 collides on trivially different keys")
	}
}

func TestInstalledVersions(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "var/lib/dpkg"), 0o755)
	os.WriteFile(filepath.Join(root, dpkgStatus), []byte(
		"Package: a\nStatus: install ok installed\nVersion: 1.2\n\n"+
			"Package: b\nStatus: deinstall ok config-files\nVersion: 3\n\n"+
			"Package: c\nVersion: 4\nStatus: install ok installed\n"), 0o644)
	got, err := installedVersions(root, []string{"a", "b", "c", "d"})
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"a": "1.2", "c": "4"}; !reflect.DeepEqual(got, want) {
		t.Errorf("installedVersions = %v, want %v", got, want)
	}
}
