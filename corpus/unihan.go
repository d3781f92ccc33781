package corpus

import (
	"compress/bzip2"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// hanChar is what the corpus uses of one Unihan character record.
type hanChar struct {
	Char        string
	Definition  string   // kDefinition, code-point references replaced by the characters
	Readings    []string // kHanyuPinlu readings, most frequent first
	Frequency   int      // sum of the kHanyuPinlu counts
	Strokes     int      // kTotalStrokes (the first value, for China)
	Radical     string   // the radical's character, from kRSUnicode and CJKRadicals.txt
	Traditional []string // kTraditionalVariant characters other than Char itself
	Simplified  []string // kSimplifiedVariant characters other than Char itself
}

var (
	reCodePoint = regexp.MustCompile(`U\+([0-9A-F]{4,6})`)
	rePinlu     = regexp.MustCompile(`^([^()]+)\(([0-9]+)\)$`)
)

// codePointChar turns "U+6C34" into "水".
func codePointChar(s string) (string, bool) {
	m := reCodePoint.FindStringSubmatch(s)
	if m == nil || m[0] != s {
		return "", false
	}
	v, err := strconv.ParseUint(m[1], 16, 32)
	if err != nil {
		return "", false
	}
	return string(rune(v)), true
}

// readUnihanFile calls fn for each "U+XXXX<TAB>field<TAB>value" line of a
// bzip2-compressed Unihan file whose field is in fields.
func readUnihanFile(path string, fields map[string]bool, fn func(char, field, value string) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("corpus: %w", err)
	}
	defer f.Close()
	return eachLineReader(bzip2.NewReader(f), path, func(n int, line string) error {
		if line == "" || line[0] == '#' {
			return nil
		}
		parts := strings.SplitN(line, "\t", 3)
		if len(parts) != 3 {
			return fmt.Errorf("%s:%d: want 3 tab-separated fields", path, n)
		}
		if !fields[parts[1]] {
			return nil
		}
		c, ok := codePointChar(parts[0])
		if !ok {
			return fmt.Errorf("%s:%d: bad code point %q", path, n, parts[0])
		}
		if err := fn(c, parts[1], parts[2]); err != nil {
			return fmt.Errorf("%s:%d: %w", path, n, err)
		}
		return nil
	})
}

// readRadicals parses CJKRadicals.txt: "85; 2F54; 6C34" maps radical "85"
// to 水 (the unified ideograph, third field).
func readRadicals(path string) (map[string]string, error) {
	out := make(map[string]string)
	err := eachLine(path, func(n int, line string) error {
		if line == "" || line[0] == '#' {
			return nil
		}
		f := strings.Split(line, ";")
		if len(f) != 3 {
			return fmt.Errorf("%s:%d: want 3 fields", path, n)
		}
		c, ok := codePointChar("U+" + strings.TrimSpace(f[2]))
		if !ok {
			return fmt.Errorf("%s:%d: bad code point %q", path, n, f[2])
		}
		out[strings.TrimSpace(f[0])] = c
		return nil
	})
	return out, err
}

// readUnihan returns the simplified characters that have a Mandarin
// frequency reading (kHanyuPinlu, from a frequency dictionary of modern
// Chinese) and an English definition, most frequent first. Traditional
// forms (characters with a different simplified variant) are left out.
func readUnihan(dir string) ([]hanChar, error) {
	radicals, err := readRadicals(filepath.Join(dir, "CJKRadicals.txt"))
	if err != nil {
		return nil, err
	}
	chars := make(map[string]*hanChar)
	get := func(c string) *hanChar {
		h := chars[c]
		if h == nil {
			h = &hanChar{Char: c}
			chars[c] = h
		}
		return h
	}
	err = readUnihanFile(filepath.Join(dir, "Unihan_Readings.txt.bz2"),
		map[string]bool{"kDefinition": true, "kHanyuPinlu": true},
		func(c, field, value string) error {
			h := get(c)
			switch field {
			case "kDefinition":
				h.Definition = reCodePoint.ReplaceAllStringFunc(value, func(s string) string {
					if r, ok := codePointChar(s); ok {
						return r
					}
					return s
				})
			case "kHanyuPinlu":
				for _, item := range strings.Fields(value) {
					m := rePinlu.FindStringSubmatch(item)
					if m == nil {
						return fmt.Errorf("%s: bad kHanyuPinlu item %q", c, item)
					}
					n, _ := strconv.Atoi(m[2])
					h.Readings = append(h.Readings, m[1])
					h.Frequency += n
				}
			}
			return nil
		})
	if err != nil {
		return nil, err
	}
	err = readUnihanFile(filepath.Join(dir, "Unihan_IRGSources.txt.bz2"),
		map[string]bool{"kTotalStrokes": true, "kRSUnicode": true},
		func(c, field, value string) error {
			h := chars[c]
			fields := strings.Fields(value)
			if h == nil || len(fields) == 0 {
				return nil
			}
			first := fields[0]
			switch field {
			case "kTotalStrokes":
				h.Strokes = atoiOr(first, 0)
			case "kRSUnicode":
				rad, _, _ := strings.Cut(first, ".")
				h.Radical = radicals[rad]
			}
			return nil
		})
	if err != nil {
		return nil, err
	}
	err = readUnihanFile(filepath.Join(dir, "Unihan_Variants.txt.bz2"),
		map[string]bool{"kTraditionalVariant": true, "kSimplifiedVariant": true},
		func(c, field, value string) error {
			h := chars[c]
			if h == nil {
				return nil
			}
			for _, v := range strings.Fields(value) {
				t, ok := codePointChar(v)
				if !ok || t == c {
					continue
				}
				if field == "kTraditionalVariant" {
					h.Traditional = append(h.Traditional, t)
				} else {
					h.Simplified = append(h.Simplified, t)
				}
			}
			return nil
		})
	if err != nil {
		return nil, err
	}
	var out []hanChar
	for _, c := range sortedKeys(chars) {
		h := chars[c]
		if h.Definition != "" && len(h.Readings) > 0 && len(h.Simplified) == 0 {
			out = append(out, *h)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Frequency > out[j].Frequency })
	return out, nil
}
