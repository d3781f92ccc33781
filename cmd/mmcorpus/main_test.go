package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minimind-go/minimind/corpus"
)

// fixtureRoot is the corpus package's miniature Debian tree.
const fixtureRoot = "../../corpus/testdata/root"

func TestRun(t *testing.T) {
	out := filepath.Join(t.TempDir(), "built")
	tests := []struct {
		name       string
		args       []string
		code       int
		wantOut    string
		wantErrOut string
	}{
		{"no args", nil, 2, "", "usage:"},
		{"unknown", []string{"frobnicate"}, 2, "", `unknown command "frobnicate"`},
		{"help", []string{"help"}, 0, "mmcorpus build", ""},
		{"sources", []string{"sources"}, 0, "apt-get install wordnet-base sword-text-web fortunes-zh unicode-data dict-elements", ""},
		{"stats", []string{"stats"}, 0, "pretrain.jsonl.gz", ""},
		{"cat eval", []string{"cat", corpus.EvalFile}, 0, `"terms":`, ""},
		{"cat missing", []string{"cat", "nope.gz"}, 1, "", "nope.gz"},
		{"cat no name", []string{"cat"}, 2, "", "usage:"},
		{"build without out", []string{"build"}, 2, "", "--out"},
		{"build extra args", []string{"build", "--out", out, "extra"}, 2, "", "unexpected arguments"},
		{"build bad flag", []string{"build", "--bogus"}, 2, "", "bogus"},
		{"build fixture", []string{"build", "--root", fixtureRoot, "--out", out}, 0, "wrote 8 files", "wordnet:"},
		{"build missing sources", []string{"build", "--root", t.TempDir(), "--out", out}, 1, "", "apt-get install"},
		{"check fixture differs", []string{"check", "--root", fixtureRoot}, 1, "", "differs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args, &stdout, &stderr)
			if code != tt.code {
				t.Errorf("exit code %d, want %d (stderr %q)", code, tt.code, stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.wantOut) {
				t.Errorf("stdout %q lacks %q", stdout.String(), tt.wantOut)
			}
			if !strings.Contains(stderr.String(), tt.wantErrOut) {
				t.Errorf("stderr %q lacks %q", stderr.String(), tt.wantErrOut)
			}
		})
	}
	// The fixture build wrote a manifest naming the fixture's versions.
	data, err := os.ReadFile(filepath.Join(out, corpus.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	var m corpus.Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Sources) == 0 || m.Sources[0].Version != "0.0-fixture" {
		t.Errorf("manifest sources %+v", m.Sources)
	}
}
