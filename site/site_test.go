package site

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"
)

// TestIDsExist checks that every element app.js (and the tutorial's
// learn.js) looks up by id is in its index.html, so a renamed element cannot
// break a page silently.
func TestIDsExist(t *testing.T) {
	for _, page := range []struct{ html, js string }{{"index.html", "app.js"}, {"learn/index.html", "learn/learn.js"}} {
		t.Run(page.js, func(t *testing.T) { checkIDs(t, page.html, page.js) })
	}
}

func checkIDs(t *testing.T, htmlFile, jsFile string) {
	html, err := fs.ReadFile(FS(), htmlFile)
	if err != nil {
		t.Fatal(err)
	}
	js, err := fs.ReadFile(FS(), jsFile)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, m := range regexp.MustCompile(`id="([^"]+)"`).FindAllStringSubmatch(string(html), -1) {
		ids[m[1]] = true
	}
	used := regexp.MustCompile(`\$\("([^"]+)"\)`).FindAllStringSubmatch(string(js), -1)
	if len(used) < 20 {
		t.Fatalf("found only %d element lookups in app.js", len(used))
	}
	seen := map[string]bool{}
	for _, m := range used {
		id := m[1]
		if seen[id] {
			continue
		}
		seen[id] = true
		t.Run(id, func(t *testing.T) {
			if !ids[id] {
				t.Errorf("%s uses #%s, which %s lacks", jsFile, id, htmlFile)
			}
		})
	}
}

func TestFiles(t *testing.T) {
	for _, tc := range []struct{ file, want string }{
		{"index.html", `src="app.js"`},
		{"app.js", `from "./minimind.js"`},
		{"style.css", "@media (max-width: 560px)"},
		{"icon.svg", "<svg"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			data, err := fs.ReadFile(FS(), tc.file)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(data), tc.want) {
				t.Errorf("%s lacks %q", tc.file, tc.want)
			}
		})
	}
}
