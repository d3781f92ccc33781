// Package corpus provides MiniMind-Zero's default training data: a small
// corpus built reproducibly from public-domain and permissively licensed
// text shipped as Debian packages (WordNet, the World English Bible,
// classical Chinese poems, the Unihan database, a table of the chemical
// elements), in MiniMind's jsonl formats.
//
// The committed corpus is embedded in the package, so a program can train
// with no download and from any directory:
//
//   - Pretrain: {"text": "..."} per line, dictionary entries, Bible passages,
//     poems, character entries, each made to fit a 256-token sequence (about
//     150 tokens on average with MiniMind's tokenizer);
//   - SFT: {"conversations": [{"role": "user", ...}, {"role": "assistant", ...}]}
//     per line: definitions, example sentences, synonyms, antonyms, broader
//     and narrower terms, poems to recite, characters, identity questions;
//   - CorePretrain and CoreSFT: short texts and focused conversations about
//     the CoreWords most common words, which MiniMind-Zero repeats so that
//     a model trained for minutes learns them;
//   - ValidationPretrain and ValidationSFT: the same for a held-out 2% of the
//     words, Bible chapters, poems, characters and elements;
//   - EvalSet: held-out definition questions with the terms a correct
//     answer contains.
//
// Generate and Build regenerate the files from the installed Debian
// packages (see RequiredSources); `mmcorpus build` is the command for it.
// The same package versions always give byte-identical files.
package corpus

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
)

//go:embed data/*.jsonl.gz data/manifest.json
var embedded embed.FS

// Files returns the embedded corpus files (the .jsonl.gz files and
// manifest.json) as a file system rooted at the data directory.
func Files() fs.FS {
	sub, err := fs.Sub(embedded, "data")
	if err != nil {
		// fs.Sub fails only on an invalid path; "data" is valid.
		return embedded
	}
	return sub
}

// Open returns the decompressed contents of one embedded .jsonl.gz file,
// e.g. Open(SFTFile).
func Open(name string) (io.ReadCloser, error) {
	data, err := fs.ReadFile(Files(), name)
	if err != nil {
		return nil, fmt.Errorf("corpus: %w", err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("corpus: %s: %w", name, err)
	}
	return zr, nil
}

// errReader fails every Read with its error.
type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// reader opens an embedded file, deferring an error to the first Read.
func reader(name string) io.Reader {
	rc, err := Open(name)
	if err != nil {
		return errReader{err}
	}
	return rc
}

// Pretrain returns the training text, one {"text": ...} JSON object a line.
func Pretrain() io.Reader { return reader(PretrainFile) }

// SFT returns the training conversations, one {"conversations": [...]}
// JSON object a line.
func SFT() io.Reader { return reader(SFTFile) }

// CorePretrain returns short texts about the core vocabulary (see
// CoreWords), two per word, in Pretrain's format.
func CorePretrain() io.Reader { return reader(CorePretrainFile) }

// CoreSFT returns focused conversations about the core vocabulary, in
// SFT's format. No evaluation word is asked about.
func CoreSFT() io.Reader { return reader(CoreSFTFile) }

// ValidationPretrain returns the held-out text, in Pretrain's format.
func ValidationPretrain() io.Reader { return reader(ValPretrainFile) }

// ValidationSFT returns the held-out conversations, in SFT's format.
func ValidationSFT() io.Reader { return reader(ValSFTFile) }

// EvalSet returns the held-out definition questions.
func EvalSet() ([]EvalItem, error) {
	rc, err := Open(EvalFile)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var items []EvalItem
	err = eachJSONLine(rc, EvalFile, func(line []byte) error {
		var it EvalItem
		if err := json.Unmarshal(line, &it); err != nil {
			return err
		}
		items = append(items, it)
		return nil
	})
	return items, err
}

// EmbeddedManifest returns the manifest of the embedded corpus.
func EmbeddedManifest() (*Manifest, error) {
	data, err := fs.ReadFile(Files(), ManifestFile)
	if err != nil {
		return nil, fmt.Errorf("corpus: %w", err)
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("corpus: %s: %w", ManifestFile, err)
	}
	return &m, nil
}

// ReadConversations decodes SFT jsonl (as SFT returns it); name is used in
// errors, which give the line number.
func ReadConversations(r io.Reader, name string) ([]Conversation, error) {
	var out []Conversation
	err := eachJSONLine(r, name, func(line []byte) error {
		var c Conversation
		if err := json.Unmarshal(line, &c); err != nil {
			return err
		}
		if len(c.Conversations) == 0 {
			return errors.New("no conversations")
		}
		out = append(out, c)
		return nil
	})
	return out, err
}

// ReadPretrain decodes pretraining jsonl (as Pretrain returns it) into its
// texts; name is used in errors, which give the line number.
func ReadPretrain(r io.Reader, name string) ([]string, error) {
	var out []string
	err := eachJSONLine(r, name, func(line []byte) error {
		var p struct {
			Text *string `json:"text"`
		}
		if err := json.Unmarshal(line, &p); err != nil {
			return err
		}
		if p.Text == nil {
			return errors.New(`no "text" field`)
		}
		out = append(out, *p.Text)
		return nil
	})
	return out, err
}

// eachJSONLine calls fn with each non-empty line; errors name the line.
func eachJSONLine(r io.Reader, name string, fn func(line []byte) error) error {
	br := bufio.NewReaderSize(r, 1<<16)
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			if ferr := fn(line); ferr != nil {
				return fmt.Errorf("corpus: %s:%d: %w", name, n, ferr)
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("corpus: %s:%d: %w", name, n, err)
		}
	}
}
