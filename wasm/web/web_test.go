package web

import (
	"io/fs"
	"strings"
	"testing"
)

func TestFiles(t *testing.T) {
	for _, tc := range []struct {
		file string
		want []string // text that must appear in the file
	}{
		{ModuleFile, []string{"export class MiniMind", "export class MiniMindError", "static async load(", "generate(", "abort()", "trace(", "tokenize("}},
		{WorkerFile, []string{"importScripts(", "minimindGo", "caches.open", "go.estimate("}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			data, err := fs.ReadFile(FS(), tc.file)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(data), w) {
					t.Errorf("%s lacks %q", tc.file, w)
				}
			}
		})
	}
}
