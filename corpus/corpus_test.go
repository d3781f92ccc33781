package corpus

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"os"
	"strings"
	"testing"
)

// readEmbedded returns the decompressed bytes of one embedded file.
func readEmbedded(t *testing.T, name string) []byte {
	t.Helper()
	rc, err := Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return b
}

func TestEmbeddedManifest(t *testing.T) {
	m, err := EmbeddedManifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.Format != FormatVersion || len(m.Sources) != len(RequiredSources()) {
		t.Errorf("manifest format %d with %d sources", m.Format, len(m.Sources))
	}
	names := []string{PretrainFile, SFTFile, CorePretrainFile, CoreSFTFile, ValPretrainFile, ValSFTFile, EvalFile}
	if len(m.Files) != len(names) {
		t.Fatalf("manifest lists %d files, want %d", len(m.Files), len(names))
	}
	total := 0
	for i, fi := range m.Files {
		t.Run(fi.Name, func(t *testing.T) {
			if fi.Name != names[i] {
				t.Fatalf("file %d is %s, want %s", i, fi.Name, names[i])
			}
			gz, err := fs.ReadFile(Files(), fi.Name)
			if err != nil {
				t.Fatal(err)
			}
			raw := gunzip(t, fi.Name, gz)
			if len(gz) != fi.GzipBytes || len(raw) != fi.Bytes || sha256Hex(raw) != fi.SHA256 {
				t.Errorf("sizes %d/%d or checksum disagree with the manifest (%d/%d)", len(gz), len(raw), fi.GzipBytes, fi.Bytes)
			}
			if n := bytes.Count(raw, []byte("\n")); n != fi.Records {
				t.Errorf("%d lines, manifest says %d", n, fi.Records)
			}
		})
		total += fi.GzipBytes
	}
	const limit, target = 10 << 20, 6 << 20
	if total > limit {
		t.Errorf("compressed corpus is %d bytes, over the %d limit", total, limit)
	}
	t.Logf("compressed corpus: %d bytes (target %d)", total, target)
}

// TestEmbeddedBudget checks the corpus fits the first-run budget: 2–4
// million tokens of pretraining text and a few tens of thousands of
// conversations.
func TestEmbeddedBudget(t *testing.T) {
	m, err := EmbeddedManifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, fi := range m.Files {
		t.Logf("%-22s %6d records %9d chars ~%8d tokens %8d bytes gzipped", fi.Name, fi.Records, fi.Chars, fi.ApproxTokens, fi.GzipBytes)
		switch fi.Name {
		case PretrainFile:
			if fi.ApproxTokens < 2_000_000 || fi.ApproxTokens > 4_000_000 {
				t.Errorf("pretraining text is ~%d tokens, want 2-4 million", fi.ApproxTokens)
			}
			if fi.CJKChars == 0 {
				t.Error("no Chinese text in the pretraining file")
			}
		case SFTFile:
			if fi.Records < 20_000 || fi.Records > 60_000 {
				t.Errorf("%d conversations, want a few tens of thousands", fi.Records)
			}
		case CorePretrainFile:
			// Two short texts per core word, about 100 tokens together.
			if fi.Records < CoreWords || fi.ApproxTokens > 150*CoreWords {
				t.Errorf("core texts: %d records, ~%d tokens", fi.Records, fi.ApproxTokens)
			}
		case CoreSFTFile:
			if fi.Records < 3*CoreWords {
				t.Errorf("only %d core conversations", fi.Records)
			}
		case EvalFile:
			if fi.Records < 100 {
				t.Errorf("only %d evaluation items", fi.Records)
			}
		}
	}
	items, err := EvalSet()
	if err != nil {
		t.Fatal(err)
	}
	core := 0
	for _, it := range items {
		if it.Core {
			core++
		}
	}
	if core < 100 {
		t.Errorf("only %d evaluation items about core words", core)
	}
}

func TestEmbeddedFormats(t *testing.T) {
	for _, name := range []string{PretrainFile, CorePretrainFile, ValPretrainFile} {
		texts, err := ReadPretrain(bytes.NewReader(readEmbedded(t, name)), name)
		if err != nil {
			t.Fatal(err)
		}
		for i, s := range texts {
			if strings.TrimSpace(s) == "" {
				t.Errorf("%s:%d: empty text", name, i+1)
			}
			// Documents are packed to maxDocTokens; a single entry may
			// exceed it a little, never the 256-token sequence.
			if tok := seqTokens(s); tok > 254 {
				t.Errorf("%s:%d: about %d tokens", name, i+1, tok)
			}
		}
	}
	for _, name := range []string{SFTFile, CoreSFTFile, ValSFTFile} {
		convs, err := ReadConversations(bytes.NewReader(readEmbedded(t, name)), name)
		if err != nil {
			t.Fatal(err)
		}
		checkConversations(t, name, convs)
	}
	items, err := EvalSet()
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if it.Word == "" || it.Question == "" || len(it.Terms) == 0 || !strings.Contains(it.Reference, it.Word) {
			t.Errorf("bad evaluation item %+v", it)
		}
	}
}

// TestEmbeddedHeldOut checks that the evaluation questions and answers and
// the validation conversations do not occur in the training conversations.
func TestEmbeddedHeldOut(t *testing.T) {
	convs, err := ReadConversations(SFT(), SFTFile)
	if err != nil {
		t.Fatal(err)
	}
	coreConvs, err := ReadConversations(CoreSFT(), CoreSFTFile)
	if err != nil {
		t.Fatal(err)
	}
	convs = append(convs, coreConvs...)
	questions := map[string]bool{}
	var answers []string
	for _, c := range convs {
		for _, m := range c.Conversations {
			if m.Role == "user" {
				questions[m.Content] = true
			} else {
				answers = append(answers, m.Content)
			}
		}
	}
	items, err := EvalSet()
	if err != nil {
		t.Fatal(err)
	}
	refs := map[string]string{}
	for _, it := range items {
		if questions[it.Question] {
			t.Errorf("evaluation question %q is in the training conversations", it.Question)
		}
		refs[it.Reference] = it.Word
	}
	for _, a := range answers {
		for ref, w := range refs {
			if strings.HasPrefix(a, ref) {
				t.Errorf("the definition of evaluation word %q is a training answer: %q", w, a)
			}
		}
	}
	// What the held-out core words mean is in the core texts: the
	// evaluation asks for knowledge that pretraining gave.
	cards, err := ReadPretrain(CorePretrain(), CorePretrainFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if !it.Core {
			continue
		}
		found := false
		for _, c := range cards {
			if strings.HasPrefix(c, it.Reference) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("core evaluation word %q: no core text starts with %q", it.Word, it.Reference)
		}
	}
	vconvs, err := ReadConversations(ValidationSFT(), ValSFTFile)
	if err != nil {
		t.Fatal(err)
	}
	train := map[string]bool{}
	for _, c := range convs {
		train[conversationKey(c)] = true
	}
	for _, c := range vconvs {
		if train[conversationKey(c)] {
			t.Errorf("validation conversation is also a training one: %q", c.Conversations[0].Content)
		}
	}
}

func conversationKey(c Conversation) string {
	var b strings.Builder
	for _, m := range c.Conversations {
		b.WriteString(m.Role + "\x00" + m.Content + "\x00")
	}
	return b.String()
}

func TestOpenUnknown(t *testing.T) {
	if _, err := Open("nope.jsonl.gz"); err == nil {
		t.Fatal("Open of an unknown file succeeded")
	}
	if _, err := reader("nope.jsonl.gz").Read(make([]byte, 1)); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("reader error = %v, want one naming the file", err)
	}
}

func TestReadErrorsNameLine(t *testing.T) {
	in := `{"conversations":[{"role":"user","content":"hi"}]}` + "\n" + `{"conversations":[]}` + "\n"
	if _, err := ReadConversations(strings.NewReader(in), "x.jsonl"); err == nil || !strings.Contains(err.Error(), "x.jsonl:2") {
		t.Errorf("error = %v, want x.jsonl:2", err)
	}
	if _, err := ReadPretrain(strings.NewReader(`{"text":"a"}`+"\n{bad\n"), "p.jsonl"); err == nil || !strings.Contains(err.Error(), "p.jsonl:2") {
		t.Errorf("error = %v, want p.jsonl:2", err)
	}
	if _, err := ReadPretrain(strings.NewReader(`{"other":"a"}`), "p.jsonl"); err == nil || !strings.Contains(err.Error(), "text") {
		t.Errorf("error = %v, want one about the text field", err)
	}
}

// TestReproducesEmbeddedCorpus rebuilds the corpus from the installed Debian
// packages and compares it with the committed files byte for byte. It is
// skipped with -short, and when the packages are not installed unless
// MMCORPUS_REQUIRE_SOURCES is set (as CI does after installing them).
func TestReproducesEmbeddedCorpus(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped with -short: rebuilds the whole corpus from the Debian packages (about 10 s)")
	}
	if err := CheckSources("/"); err != nil {
		if os.Getenv("MMCORPUS_REQUIRE_SOURCES") != "" {
			t.Fatal(err)
		}
		t.Skipf("cannot check the committed corpus: %v", err)
	}
	m, err := EmbeddedManifest()
	if err != nil {
		t.Fatal(err)
	}
	versions, err := installedVersions("/", AptPackages())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range m.Sources {
		if versions[s.Package] != s.Version {
			t.Fatalf("installed %s is version %q, the committed corpus was built from %q; "+
				"if the new version is intended, rebuild with: go run ./cmd/mmcorpus build --out corpus/data",
				s.Package, versions[s.Package], s.Version)
		}
	}
	files, _, err := Generate(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		want, err := fs.ReadFile(Files(), f.Name)
		if err != nil {
			t.Errorf("%s is built but not committed", f.Name)
			continue
		}
		if bytes.Equal(want, f.Data) {
			continue
		}
		if strings.HasSuffix(f.Name, ".gz") && bytes.Equal(gunzip(t, f.Name, want), gunzip(t, f.Name, f.Data)) {
			t.Errorf("%s: same content, different compressed bytes: did the Go release change compress/flate?", f.Name)
			continue
		}
		t.Errorf("%s: the build differs from the committed file; rebuild with: go run ./cmd/mmcorpus build --out corpus/data", f.Name)
	}
}
