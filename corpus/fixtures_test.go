package corpus

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// fixtureRoot is the miniature Debian tree the builder tests read. It is
// made from the real packages by
//
//	MMCORPUS_MAKE_FIXTURES=1 go test -run TestMakeFixtures ./corpus
//
// (which needs the packages of RequiredSources and the bzip2 program).
const fixtureRoot = "testdata/root"

// fixtureOptions build the fixture with a core vocabulary and evaluation
// band sized for its few words.
var fixtureOptions = Options{Root: fixtureRoot, CoreWords: 8, CoreEvalWords: 6}

// fixtureWords are the lemmas the fixture keeps, besides a few chosen
// because they fall in the validation and evaluation splits.
var fixtureWords = []string{
	"dog", "cat", "good", "bad", "run", "walk", "water", "big", "little", "quickly",
	"slowly", "monday", "ice cream", "knife", "friendship", "happy", "sad", "house",
	"tree", "eat", "light", "dark", "hot", "cold", "book", "read", "teacher",
}

// fixtureChars are the characters the fixture keeps (學 is a traditional
// form and must be left out by the builder).
var fixtureChars = []string{"水", "东", "發", "发", "了", "的", "一", "是", "木", "林", "學", "学"}

// writeZText writes a SWORD zText testament (prefix.bzs/.bzv/.bzz) holding
// the given verse slots, blockSize slots to a compressed block.
func writeZText(dir, prefix string, slots [][]byte, blockSize int) error {
	var bzs, bzv, bzz bytes.Buffer
	for start := 0; start < len(slots); start += blockSize {
		end := min(start+blockSize, len(slots))
		var block bytes.Buffer
		for i := start; i < end; i++ {
			var rec [10]byte
			binary.LittleEndian.PutUint32(rec[0:], uint32(start/blockSize))
			binary.LittleEndian.PutUint32(rec[4:], uint32(block.Len()))
			binary.LittleEndian.PutUint16(rec[8:], uint16(len(slots[i])))
			bzv.Write(rec[:])
			block.Write(slots[i])
		}
		var z bytes.Buffer
		zw := zlib.NewWriter(&z)
		zw.Write(block.Bytes())
		if err := zw.Close(); err != nil {
			return err
		}
		var rec [12]byte
		binary.LittleEndian.PutUint32(rec[0:], uint32(bzz.Len()))
		binary.LittleEndian.PutUint32(rec[4:], uint32(z.Len()))
		binary.LittleEndian.PutUint32(rec[8:], uint32(block.Len()))
		bzs.Write(rec[:])
		bzz.Write(z.Bytes())
	}
	for ext, b := range map[string][]byte{".bzs": bzs.Bytes(), ".bzv": bzv.Bytes(), ".bzz": bzz.Bytes()} {
		if err := os.WriteFile(filepath.Join(dir, prefix+ext), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func TestMakeFixtures(t *testing.T) {
	if os.Getenv("MMCORPUS_MAKE_FIXTURES") == "" {
		t.Skip("set MMCORPUS_MAKE_FIXTURES=1 to regenerate testdata/root from the installed packages")
	}
	if err := CheckSources("/"); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(fixtureRoot); err != nil {
		t.Fatal(err)
	}
	mk := func(rel string) string {
		p := filepath.Join(fixtureRoot, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write := func(rel string, data []byte) {
		if err := os.WriteFile(mk(rel), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	makeWordNetFixture(t, write)
	makeBibleFixture(t, mk)
	makePoemFixture(t, write)
	makeUnihanFixture(t, mk, write)
	makeElementsFixture(t, write)
	var status strings.Builder
	status.WriteString("Package: unrelated\nStatus: install ok installed\nVersion: 1.0\n\n")
	for _, s := range RequiredSources() {
		fmt.Fprintf(&status, "Package: %s\nStatus: install ok installed\nVersion: 0.0-fixture\n\n", s.Package)
	}
	write(dpkgStatus, []byte(status.String()))
}

// makeWordNetFixture keeps the fixture words and two words of each held-out
// split, their senses' synsets and the synsets those point to (broader
// terms, antonyms and six narrower terms).
func makeWordNetFixture(t *testing.T, write func(string, []byte)) {
	wn, err := readWordNet("/" + wordnetDir)
	if err != nil {
		t.Fatal(err)
	}
	keep := map[string]bool{}
	for _, w := range fixtureWords {
		keep[w] = true
	}
	nVal, nEval := 0, 0
	for _, w := range selectWords(wn) {
		if w.Freq < 20 {
			continue
		}
		switch splitOf("word", w.Lemma, true) {
		case splitVal:
			if nVal < 2 {
				keep[w.Lemma] = true
				nVal++
			}
		case splitEval:
			if nEval < 2 {
				keep[w.Lemma] = true
				nEval++
			}
		}
	}
	synsets := map[string]bool{} // "pos:offset"
	var index = map[string][]string{}
	for _, pos := range wnPOS {
		eachLine("/"+wordnetDir+"/index."+pos, func(n int, line string) error {
			if strings.HasPrefix(line, "  ") {
				return nil
			}
			e, err := parseIndexLine(line, pos)
			if err != nil || !keep[e.Lemma] {
				return nil
			}
			index[pos] = append(index[pos], line)
			for i, off := range e.Synsets {
				if i >= maxSenses {
					break
				}
				key := pos + ":" + off
				synsets[key] = true
				hypo := 0
				for _, p := range wn.synsets[key].Pointers {
					switch p.Symbol {
					case "~", "~i":
						if hypo++; hypo > 6 {
							continue
						}
						fallthrough
					case "@", "@i", "!":
						synsets[posFile(p.POS)+":"+p.Offset] = true
					}
				}
			}
			return nil
		})
	}
	lemmas := map[string]bool{}
	for _, pos := range wnPOS {
		var lines []string
		eachLine("/"+wordnetDir+"/data."+pos, func(n int, line string) error {
			if strings.HasPrefix(line, "  ") {
				if n <= 3 {
					lines = append(lines, line) // a bit of the license header
				}
				return nil
			}
			off, _, _ := strings.Cut(line, " ")
			if synsets[pos+":"+off] {
				lines = append(lines, line)
				for _, w := range wn.synsets[pos+":"+off].Words {
					lemmas[strings.ToLower(w)] = true
				}
			}
			return nil
		})
		write(wordnetDir+"/data."+pos, []byte(strings.Join(lines, "\n")+"\n"))
		write(wordnetDir+"/index."+pos, []byte(strings.Join(index[pos], "\n")+"\n"))
	}
	var cnt []string
	eachLine("/"+wordnetDir+"/cntlist.rev", func(n int, line string) error {
		lemma, _, _ := strings.Cut(line, "%")
		if lemmas[strings.ReplaceAll(lemma, "_", " ")] {
			cnt = append(cnt, line)
		}
		return nil
	})
	write(wordnetDir+"/cntlist.rev", []byte(strings.Join(cnt, "\n")+"\n"))
}

// makeBibleFixture keeps Genesis 1, Psalm 23, John 3 and one chapter of the
// validation split, in a module with the real slot layout.
func makeBibleFixture(t *testing.T, mk func(string) string) {
	dir := "/" + swordWEBDir
	for _, c := range []struct {
		prefix string
		want   []string
	}{{"ot", []string{"Gen.1", "Ps.23"}}, {"nt", []string{"John.3"}}} {
		entries, err := readZText(dir, c.prefix)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]bool{}
		for _, k := range c.want {
			want[k] = true
		}
		if c.prefix == "nt" {
			for _, e := range entries {
				if m := reChapter.FindSubmatch(e); m != nil {
					k := string(m[1]) + "." + string(m[2])
					if splitOf("chapter", k, false) == splitVal {
						want[k] = true
						break
					}
				}
			}
		}
		slots := [][]byte{nil, []byte(`<milestone type="x-importer"/>`)}
		keeping := false
		for _, e := range entries {
			if m := reChapter.FindSubmatch(e); m != nil {
				keeping = want[string(m[1])+"."+string(m[2])]
				if keeping {
					slots = append(slots, []byte(`<div type="book"/>`)) // book intro slot
				}
			}
			if keeping {
				slots = append(slots, e)
			}
		}
		out := filepath.Dir(mk(swordWEBDir + "/x"))
		if err := writeZText(out, c.prefix, slots, 20); err != nil {
			t.Fatal(err)
		}
	}
}

// makePoemFixture keeps the first entries of each file (a continued poem
// and a poem in two parts among them), 夜思, and one validation poem.
func makePoemFixture(t *testing.T, write func(string, []byte)) {
	for _, f := range []struct {
		name  string
		first int
	}{{"tang300", 20}, {"song100", 5}} {
		data, err := os.ReadFile("/" + fortunesDir + "/" + f.name)
		if err != nil {
			t.Fatal(err)
		}
		entries := strings.Split(string(data), "\n%\n")
		var keep []string
		val := false
		for i, e := range entries {
			plain := reANSI.ReplaceAllString(e, "")
			m := reTitle.FindStringSubmatch(plain)
			isVal := false
			if m != nil && !val {
				lines := strings.SplitN(plain, "\n", 3)
				if len(lines) >= 2 {
					author := strings.TrimLeft(strings.TrimPrefix(strings.TrimSpace(lines[1]), "作者"), ":：")
					if j := strings.IndexAny(author, "（("); j >= 0 {
						author = author[:j]
					}
					full := strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(lines[0]), "题目:"), "题目：")
					isVal = splitOf("poem", f.name+"/"+author+"/"+full, false) == splitVal
				}
			}
			if i < f.first || strings.Contains(plain, "《夜思》") || isVal {
				keep = append(keep, e)
				val = val || isVal
			}
		}
		write(fortunesDir+"/"+f.name, []byte(strings.Join(keep, "\n%\n")+"\n%\n"))
	}
}

// makeUnihanFixture keeps the fixture characters' lines (bzip2-compressed
// by the bzip2 program) and the radicals table.
func makeUnihanFixture(t *testing.T, mk func(string) string, write func(string, []byte)) {
	keep := map[string]bool{}
	for _, c := range fixtureChars {
		keep[fmt.Sprintf("U+%04X", []rune(c)[0])] = true
	}
	for _, name := range []string{"Unihan_Readings.txt.bz2", "Unihan_IRGSources.txt.bz2", "Unihan_Variants.txt.bz2"} {
		var lines []string
		err := readUnihanFile("/"+unicodeDir+"/"+name, map[string]bool{
			"kDefinition": true, "kHanyuPinlu": true, "kMandarin": true, "kTotalStrokes": true,
			"kRSUnicode": true, "kTraditionalVariant": true, "kSimplifiedVariant": true,
		}, func(c, field, value string) error {
			cp := fmt.Sprintf("U+%04X", []rune(c)[0])
			if keep[cp] {
				lines = append(lines, cp+"\t"+field+"\t"+value)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		sort.Strings(lines)
		text := "# fixture: lines of " + name + " for a few characters\n" + strings.Join(lines, "\n") + "\n"
		cmd := exec.Command("bzip2", "-9", "-c")
		cmd.Stdin = strings.NewReader(text)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("bzip2: %v", err)
		}
		write(unicodeDir+"/"+name, out)
	}
	rad, err := os.ReadFile("/" + unicodeDir + "/CJKRadicals.txt")
	if err != nil {
		t.Fatal(err)
	}
	write(unicodeDir+"/CJKRadicals.txt", rad)
	_ = mk
}

// makeElementsFixture keeps the database header and a few elements, one
// beyond maxElement.
func makeElementsFixture(t *testing.T, write func(string, []byte)) {
	f, err := os.Open("/" + elementsDict)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var raw bytes.Buffer
	if _, err := raw.ReadFrom(zr); err != nil {
		t.Fatal(err)
	}
	var keep []string
	for i, e := range strings.Split(raw.String(), "\n\n") {
		name, _, _ := strings.Cut(strings.TrimSpace(e), "\n")
		switch {
		case i == 0, name == "hydrogen", name == "carbon", name == "gold", name == "sulphur", name == "unnilquadium":
			keep = append(keep, e)
		}
	}
	var z bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&z, gzip.BestCompression)
	zw.Write([]byte(strings.Join(keep, "\n\n") + "\n"))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	write(elementsDict, z.Bytes())
}
