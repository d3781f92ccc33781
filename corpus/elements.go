package corpus

import (
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"strings"
)

// maxElement is the highest atomic number taken from the elements database;
// the entries above it carry provisional names (unnilquadium, ...).
const maxElement = 103

// element is one entry of the elements database. Only the facts are kept
// (name, symbol, atomic number and weight): the package notes that some
// descriptions were copied from Wikipedia, so no description text is used.
type element struct {
	Name   string // lower case, e.g. "gold"
	Symbol string
	Number int
	Weight string // as written, e.g. "196.967" or "(256)"
}

// readElements parses the dictd elements database (a dictzip file, which
// gzip reads): entries separated by blank lines, a head word, then
// "Symbol:", "Atomic number:", "Atomic weight:" lines and a description
// (which is skipped).
func readElements(path string) ([]element, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("corpus: %w", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("corpus: %s: %w", path, err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("corpus: %s: %w", path, err)
	}
	var out []element
	for _, entry := range strings.Split(string(data), "\n\n") {
		lines := strings.Split(strings.TrimSpace(entry), "\n")
		if len(lines) < 4 || !strings.HasPrefix(lines[1], "Symbol:") {
			continue // database header entries
		}
		e := element{Name: strings.TrimSpace(lines[0])}
		for _, l := range lines[1:] {
			l = strings.TrimSpace(l)
			switch {
			case strings.HasPrefix(l, "Symbol:"):
				e.Symbol = strings.TrimSpace(strings.TrimPrefix(l, "Symbol:"))
			case strings.HasPrefix(l, "Atomic number:"):
				e.Number = atoiOr(strings.TrimSpace(strings.TrimPrefix(l, "Atomic number:")), 0)
			case strings.HasPrefix(l, "Atomic weight:"):
				e.Weight = strings.TrimSpace(strings.TrimPrefix(l, "Atomic weight:"))
			}
		}
		if e.Number <= 0 || e.Number > maxElement || e.Symbol == "" {
			continue
		}
		out = append(out, e)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("corpus: %s: no element entries", path)
	}
	return out, nil
}
