package corpus

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// gunzip decompresses data or fails the test.
func gunzip(t *testing.T, name string, data []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if zr.Header.Name != "" || !zr.Header.ModTime.IsZero() {
		t.Errorf("%s: gzip header carries a name %q or a time %v", name, zr.Header.Name, zr.Header.ModTime)
	}
	return out
}

func generateFixture(t *testing.T) ([]File, *Manifest) {
	t.Helper()
	files, m, err := Generate(context.Background(), fixtureOptions)
	if err != nil {
		t.Fatal(err)
	}
	return files, m
}

func TestGenerateFixtureGolden(t *testing.T) {
	files, _ := generateFixture(t)
	again, _ := generateFixture(t)
	if len(files) != 8 {
		t.Fatalf("got %d files, want 8", len(files))
	}
	for i, f := range files {
		t.Run(f.Name, func(t *testing.T) {
			if !bytes.Equal(f.Data, again[i].Data) {
				t.Fatal("two builds differ")
			}
			content := f.Data
			name := f.Name
			if strings.HasSuffix(name, ".gz") {
				content = gunzip(t, name, f.Data)
				name = strings.TrimSuffix(name, ".gz")
			}
			golden := filepath.Join("testdata", "golden", name)
			if *update {
				os.MkdirAll(filepath.Dir(golden), 0o755)
				if err := os.WriteFile(golden, content, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run TestGenerateFixtureGolden -update ./corpus)", err)
			}
			if !bytes.Equal(content, want) {
				t.Errorf("%s differs from %s (run with -update after checking the change)", f.Name, golden)
			}
		})
	}
}

func TestGenerateFixtureContent(t *testing.T) {
	files, m := generateFixture(t)
	byName := map[string][]byte{}
	for _, f := range files {
		byName[f.Name] = f.Data
	}
	for _, fi := range m.Files {
		raw := gunzip(t, fi.Name, byName[fi.Name])
		if sha256Hex(raw) != fi.SHA256 || len(raw) != fi.Bytes || len(byName[fi.Name]) != fi.GzipBytes {
			t.Errorf("%s: manifest sizes or checksum disagree with the file", fi.Name)
		}
		if n := bytes.Count(raw, []byte("\n")); n != fi.Records {
			t.Errorf("%s: %d lines, manifest says %d records", fi.Name, n, fi.Records)
		}
	}
	for _, s := range m.Sources {
		if s.Version != "0.0-fixture" {
			t.Errorf("source %s: version %q, want the fixture's", s.Package, s.Version)
		}
	}
	read := func(name string) []byte { return gunzip(t, name, byName[name]) }
	pre, err := ReadPretrain(bytes.NewReader(read(PretrainFile)), PretrainFile)
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Join(pre, "\n")
	for _, want := range []string{
		"A dog is a member of the genus Canis", // WordNet
		"Genesis 1:1-",                         // Bible passage header
		"In the beginning, God created the heavens and the earth.",
		"床前明月光，疑是地上霜。",                 // a poem
		"water, liquid, lotion, juice", // Unihan 水
		"Symbol: Au",                   // elements, in one of two styles
	} {
		if want == "Symbol: Au" {
			if !strings.Contains(all, "Symbol: Au") && !strings.Contains(all, "the symbol Au") {
				t.Error("pretrain text lacks gold's symbol")
			}
			continue
		}
		if !strings.Contains(all, want) {
			t.Errorf("pretrain text lacks %q", want)
		}
	}
	for _, unwanted := range []string{"unnilquadium", "Unnilquadium", "學（", "“學”", "glossary", "\x1b"} {
		if strings.Contains(all, unwanted) {
			t.Errorf("pretrain text contains %q", unwanted)
		}
	}

	convs, err := ReadConversations(bytes.NewReader(read(SFTFile)), SFTFile)
	if err != nil {
		t.Fatal(err)
	}
	checkConversations(t, SFTFile, convs)
	vconvs, err := ReadConversations(bytes.NewReader(read(ValSFTFile)), ValSFTFile)
	if err != nil {
		t.Fatal(err)
	}
	checkConversations(t, ValSFTFile, vconvs)

	// The held-out words: none is asked about in the training conversations.
	var eval []EvalItem
	if err := eachJSONLine(bytes.NewReader(read(EvalFile)), EvalFile, func(line []byte) error {
		var it EvalItem
		if err := json.Unmarshal(line, &it); err != nil {
			return err
		}
		eval = append(eval, it)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(eval) == 0 {
		t.Fatal("the fixture gives no evaluation item")
	}
	wn, err := readWordNet(filepath.Join(fixtureRoot, wordnetDir))
	if err != nil {
		t.Fatal(err)
	}
	var heldOut []string
	words := selectWords(wn)
	rank, sizes := rankWords(words), fixtureOptions.sizes()
	for _, w := range words {
		if sizes.split(w.Lemma, rank[w.Lemma]) == splitVal {
			heldOut = append(heldOut, w.Lemma)
		}
	}
	for _, it := range eval {
		heldOut = append(heldOut, strings.ToLower(it.Word))
	}
	core := 0
	for _, it := range eval {
		if it.Core {
			core++
		}
	}
	if core == 0 {
		t.Error("no evaluation item from the evaluation band after the core words")
	}
	for _, c := range convs {
		q := strings.ToLower(c.Conversations[0].Content)
		for _, w := range heldOut {
			if strings.Contains(q, `"`+w+`"`) || strings.Contains(q, "“"+w+"”") || strings.HasSuffix(strings.TrimRight(q, "?.!"), " "+w) {
				t.Errorf("training conversation asks about held-out word %q: %q", w, q)
			}
		}
	}
	for _, it := range eval {
		if len(it.Terms) == 0 || it.Question == "" || !strings.Contains(it.Reference, it.Word) {
			t.Errorf("bad evaluation item %+v", it)
		}
		if !it.Match(it.Reference) && it.POS != "noun" && it.POS != "verb" {
			// Terms come from the gloss or the broader terms; gloss terms
			// must appear in the reference.
			t.Errorf("evaluation item %q: reference matches none of %q", it.Word, it.Terms)
		}
	}
}

// checkConversations checks the SFT format: user first, roles alternating,
// non-empty contents, each conversation within the sequence budget.
func checkConversations(t *testing.T, name string, convs []Conversation) {
	t.Helper()
	if len(convs) == 0 {
		t.Errorf("%s: no conversations", name)
	}
	for i, c := range convs {
		msgs := c.Conversations
		if len(msgs)%2 != 0 {
			t.Errorf("%s:%d: %d messages, want user/assistant pairs", name, i+1, len(msgs))
		}
		for j, m := range msgs {
			want := "user"
			if j%2 == 1 {
				want = "assistant"
			}
			if m.Role != want || strings.TrimSpace(m.Content) == "" {
				t.Errorf("%s:%d: message %d is %q with content %q", name, i+1, j, m.Role, m.Content)
			}
		}
		if tok := convTokens(c); tok > maxConvTokens {
			t.Errorf("%s:%d: about %d tokens, over %d", name, i+1, tok, maxConvTokens)
		}
	}
}

func TestGenerateMissingSources(t *testing.T) {
	_, _, err := Generate(context.Background(), Options{Root: t.TempDir()})
	if !errors.Is(err, ErrMissingSources) {
		t.Fatalf("error = %v, want ErrMissingSources", err)
	}
	for _, p := range AptPackages() {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not name package %s", err, p)
		}
	}
}

func TestGenerateCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := Generate(ctx, Options{Root: fixtureRoot}); !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want context.Canceled", err)
	}
}

func TestGenerateBadSource(t *testing.T) {
	// A copy of the fixture with a corrupt WordNet line: the error names
	// the file and the line.
	root := t.TempDir()
	err := filepath.Walk(fixtureRoot, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(fixtureRoot, path)
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if rel == filepath.Join(wordnetDir, "data.verb") {
			data = append(data, []byte("01234567 29 v zz broken\n")...)
		}
		os.MkdirAll(filepath.Join(root, filepath.Dir(rel)), 0o755)
		return os.WriteFile(filepath.Join(root, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = Generate(context.Background(), Options{Root: root})
	if err == nil || !strings.Contains(err.Error(), "data.verb:") {
		t.Fatalf("error = %v, want one naming data.verb and its line", err)
	}
}

func TestBuildWritesFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	var log bytes.Buffer
	opt := fixtureOptions
	opt.Log = &log
	m, err := Build(context.Background(), dir, opt)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "wordnet:") {
		t.Errorf("log lacks the WordNet stage: %q", log.String())
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(m.Files)+1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("wrote %v, want %d files and no temporary ones", names, len(m.Files)+1)
	}
}
