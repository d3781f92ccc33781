// Package zoo finds the model a command should use: a folder the user names,
// the newest model a local training run wrote under ./out, or the
// MiniMind-Zero model embedded in the binary (trained by `mmtrain` with no
// arguments; see zero/README.md for the command that reproduces it).
package zoo

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/minimind-go/minimind/chat"
	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/checkpoint"
)

//go:embed zero
var embedded embed.FS

// OutDir is where training runs write their models by default.
const OutDir = "out"

// ErrNoDefault is returned when the binary carries no embedded model.
var ErrNoDefault = errors.New("zoo: this build has no embedded default model")

// Default returns the embedded MiniMind-Zero model folder (config.json,
// model.safetensors, tokenizer.json, tokenizer_config.json).
func Default() (fs.FS, error) {
	sub, err := fs.Sub(embedded, "zero")
	if err != nil {
		return nil, err
	}
	if _, err := fs.Stat(sub, "config.json"); err != nil {
		return nil, ErrNoDefault
	}
	return sub, nil
}

// Local returns the newest chat model under dir: the most recently written
// full_sft_* folder, else pretrain_*, else dir itself when it holds a model.
func Local(dir string) (string, bool) {
	for _, prefix := range []string{"full_sft", "sft", "pretrain"} {
		matches, _ := filepath.Glob(filepath.Join(dir, prefix+"*", "config.json"))
		sort.Slice(matches, func(i, j int) bool { return modTime(matches[i]) > modTime(matches[j]) })
		for _, m := range matches {
			if hasWeights(filepath.Dir(m)) {
				return filepath.Dir(m), true
			}
		}
	}
	if hasWeights(dir) {
		return dir, true
	}
	return "", false
}

func modTime(p string) int64 {
	st, err := os.Stat(p)
	if err != nil {
		return 0
	}
	return st.ModTime().UnixNano()
}

func hasWeights(dir string) bool {
	if _, err := os.Stat(filepath.Join(dir, "config.json")); err != nil {
		return false
	}
	if _, err := os.Stat(filepath.Join(dir, "model.safetensors")); err == nil {
		return true
	}
	m, _ := filepath.Glob(filepath.Join(dir, "*.pth"))
	return len(m) > 0
}

// Resolve says which model a command uses: path when set (a GGUF file is
// returned as an in-memory model folder in fsys), else the newest
// model under ./out, else the embedded default. It returns the model folder
// (nil FS for a path on disk) and a description for the user.
func Resolve(path string) (dir string, fsys fs.FS, source string, err error) {
	if path != "" {
		if checkpoint.IsGGUF(path) {
			fsys, err := checkpoint.GGUFFolder(path)
			if err != nil {
				return "", nil, "", err
			}
			return path, fsys, path, nil
		}
		return path, nil, path, nil
	}
	if d, ok := Local(OutDir); ok {
		return d, nil, d, nil
	}
	def, err := Default()
	if err != nil {
		return "", nil, "", fmt.Errorf("no --model given, no model under ./%s, and %w; train one with `mmtrain`", OutDir, err)
	}
	return "", def, "the embedded MiniMind-Zero model", nil
}

// LoadBot loads the model Resolve picks onto engine e.
func LoadBot(path string, e model.Engine) (*chat.Bot, string, error) {
	if checkpoint.IsGGUF(path) { // read straight from the file
		b, err := chat.Load(path, e)
		if err != nil {
			return nil, "", fmt.Errorf("loading %s: %w", path, err)
		}
		return b, path, nil
	}
	dir, fsys, source, err := Resolve(path)
	if err != nil {
		return nil, "", err
	}
	var b *chat.Bot
	if fsys != nil {
		b, err = chat.LoadFS(fsys, e)
	} else {
		b, err = chat.Load(dir, e)
	}
	if err != nil {
		return nil, "", fmt.Errorf("loading %s: %w", strings.TrimSpace(source), err)
	}
	return b, source, nil
}

// Tokenizer returns the embedded MiniMind-Zero tokenizer folder
// (tokenizer.json, tokenizer_config.json), trained by `mmtok train` on the
// embedded corpus.
func Tokenizer() fs.FS {
	sub, _ := fs.Sub(embedded, "zero")
	return sub
}
