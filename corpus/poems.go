package corpus

import (
	"fmt"
	"os"
	"regexp"
	"strings"
)

// poem is one classical Chinese poem of a fortune file.
type poem struct {
	Collection string   // "tang300" or "song100"
	Dynasty    string   // "唐" or "宋"
	Title      string   // the title inside 《》, e.g. "夜思"
	FullTitle  string   // the whole title line, e.g. "《春居杂兴》二首"
	Author     string   // e.g. "李白"
	Lines      []string // the poem's non-empty lines, trimmed
}

// Body returns the poem's lines joined by newlines.
func (p poem) Body() string { return strings.Join(p.Lines, "\n") }

var (
	reANSI  = regexp.MustCompile("\x1b\\[[0-9;]*m")
	reTitle = regexp.MustCompile(`《([^》]+)》`)
)

// readPoems parses a fortunes-zh file of poems. Entries are separated by
// lines holding "%"; a poem starts with a title line holding 《title》
// (optionally after "题目:") and an author line "作者：NAME" or
// "作者:NAME（dates）", both wrapped in ANSI colour codes. Lines without
// title and author continue the previous poem (the file splits long poems
// into several entries, and some entries hold two poems).
func readPoems(path, collection, dynasty string) ([]poem, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("corpus: %w", err)
	}
	text := reANSI.ReplaceAllString(string(data), "")
	var out []poem
	line := 0
	for _, entry := range strings.Split(text, "\n%\n") {
		lines := strings.Split(entry, "\n")
		start := line + 1
		line += len(lines) + 1
		var body []string
		for _, l := range lines {
			l = strings.TrimSpace(strings.TrimPrefix(l, "%"))
			if l != "" {
				body = append(body, l)
			}
		}
		for i := 0; i < len(body); {
			// A title line followed by an author line starts a poem (an
			// entry may hold more than one); other lines continue the
			// current poem (the file splits long poems into entries).
			if i+1 < len(body) && reTitle.MatchString(body[i]) && strings.HasPrefix(body[i+1], "作者") {
				full := strings.TrimPrefix(strings.TrimPrefix(body[i], "题目:"), "题目：")
				author := strings.TrimLeft(strings.TrimPrefix(body[i+1], "作者"), ":：")
				if j := strings.IndexAny(author, "（("); j >= 0 {
					author = author[:j]
				}
				author = strings.TrimSpace(author)
				if author == "" {
					return nil, fmt.Errorf("corpus: %s:%d: poem %q has no author", path, start, full)
				}
				out = append(out, poem{
					Collection: collection,
					Dynasty:    dynasty,
					Title:      reTitle.FindStringSubmatch(full)[1],
					FullTitle:  full,
					Author:     author,
				})
				i += 2
				continue
			}
			if len(out) == 0 {
				return nil, fmt.Errorf("corpus: %s:%d: first entry has no title", path, start)
			}
			last := &out[len(out)-1]
			last.Lines = append(last.Lines, body[i])
			i++
		}
	}
	for _, p := range out {
		if len(p.Lines) == 0 {
			return nil, fmt.Errorf("corpus: %s: poem %s has no lines", path, p.FullTitle)
		}
	}
	return out, nil
}
