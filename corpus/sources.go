package corpus

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Source describes one Debian package the builder reads, where its files
// are installed and under which license its content is used.
type Source struct {
	// Package is the Debian binary package name (what `apt-get install` takes).
	Package string `json:"package"`
	// Version is the installed version, read from the dpkg status file at
	// build time ("" in RequiredSources).
	Version string `json:"version,omitempty"`
	// License is the license as the package's copyright file
	// (/usr/share/doc/PACKAGE/copyright) states it for the content used.
	License string `json:"license"`
	// Notice is the copyright notice the license asks to keep with copies
	// and a note of how the data was changed ("" when none is required).
	Notice string `json:"notice,omitempty"`
	// Files are the paths (relative to the file-system root) that are read.
	Files []string `json:"files"`
}

// Paths of the Debian-installed files, relative to the file-system root.
const (
	wordnetDir   = "usr/share/wordnet"
	swordWEBDir  = "usr/share/sword/modules/texts/ztext/engWEB2015eb"
	fortunesDir  = "usr/share/games/fortunes"
	unicodeDir   = "usr/share/unicode"
	elementsDict = "usr/share/dictd/elements.dict.dz"
	dpkgStatus   = "var/lib/dpkg/status"
)

// RequiredSources lists the Debian packages the builder reads, in a fixed
// order, with the files it needs from each. Version is empty.
func RequiredSources() []Source {
	return []Source{
		{Package: "wordnet-base", License: "WordNet3.0",
			Notice: "WordNet 3.0 Copyright 2006 by Princeton University. All rights reserved. " +
				"Used under the WordNet 3.0 license (see corpus/PROVENANCE.md); glosses, examples and " +
				"relations were rewritten into dictionary entries and conversations.",
			Files: []string{
				wordnetDir + "/index.noun", wordnetDir + "/index.verb",
				wordnetDir + "/index.adj", wordnetDir + "/index.adv",
				wordnetDir + "/data.noun", wordnetDir + "/data.verb",
				wordnetDir + "/data.adj", wordnetDir + "/data.adv",
				wordnetDir + "/cntlist.rev",
			}},
		{Package: "sword-text-web", License: "public-domain",
			Notice: "Passages of the World English Bible (66 books): verse text unchanged; footnotes, " +
				"headings, Strong's numbers and other markup removed.",
			Files: []string{
				swordWEBDir + "/ot.bzs", swordWEBDir + "/ot.bzv", swordWEBDir + "/ot.bzz",
				swordWEBDir + "/nt.bzs", swordWEBDir + "/nt.bzv", swordWEBDir + "/nt.bzz",
			}},
		{Package: "fortunes-zh", License: "GPL-3.0+ (the package); the Tang and Song poems themselves are in the public domain",
			Notice: "Only the titles, authors and verses of classical poems (Tang and Song dynasties) are used.",
			Files: []string{
				fortunesDir + "/tang300", fortunesDir + "/song100",
			}},
		{Package: "unicode-data", License: "Unicode, Inc. License Agreement - Data Files and Software",
			Notice: "Data derived from the Unicode Character Database (Unihan), © 2022 Unicode, Inc., " +
				"distributed under the Unicode terms of use (see corpus/PROVENANCE.md). Modified: readings, " +
				"definitions, stroke counts, radicals and traditional variants were rewritten as text.",
			Files: []string{
				unicodeDir + "/Unihan_Readings.txt.bz2",
				unicodeDir + "/Unihan_IRGSources.txt.bz2",
				unicodeDir + "/Unihan_Variants.txt.bz2",
				unicodeDir + "/CJKRadicals.txt",
			}},
		{Package: "dict-elements", License: "public_domain",
			Notice: "Elements database compiled by Jay F. Kominek; only names, symbols, atomic numbers and weights are used.",
			Files: []string{
				elementsDict,
			}},
	}
}

// AptPackages returns the Debian package names the builder needs, in the
// order `apt-get install` would take them.
func AptPackages() []string {
	var names []string
	for _, s := range RequiredSources() {
		names = append(names, s.Package)
	}
	return names
}

// ErrMissingSources is wrapped by CheckSources when source files are absent.
var ErrMissingSources = errors.New("corpus: Debian source packages not installed")

// CheckSources reports whether every file of RequiredSources exists under
// root ("" means "/"). The error wraps ErrMissingSources and names the
// missing packages and the first missing file of each.
func CheckSources(root string) error {
	root = rootOrSlash(root)
	var missing []string
	for _, s := range RequiredSources() {
		for _, f := range s.Files {
			if _, err := os.Stat(filepath.Join(root, f)); err != nil {
				missing = append(missing, fmt.Sprintf("%s (%s)", s.Package, filepath.Join(root, f)))
				break
			}
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: %s; install with: apt-get install %s",
			ErrMissingSources, strings.Join(missing, ", "), strings.Join(AptPackages(), " "))
	}
	return nil
}

func rootOrSlash(root string) string {
	if root == "" {
		return "/"
	}
	return root
}

// installedVersions reads the dpkg status file under root and returns the
// installed version of each named package. A package that is absent from the
// status file maps to "".
func installedVersions(root string, packages []string) (map[string]string, error) {
	path := filepath.Join(rootOrSlash(root), dpkgStatus)
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return map[string]string{}, nil
		}
		return nil, fmt.Errorf("corpus: reading %s: %w", path, err)
	}
	defer f.Close()
	want := make(map[string]bool, len(packages))
	for _, p := range packages {
		want[p] = true
	}
	out := make(map[string]string)
	var pkg, version, status string
	flush := func() {
		if want[pkg] && strings.HasSuffix(status, " installed") {
			out[pkg] = version
		}
		pkg, version, status = "", "", ""
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			flush()
		case strings.HasPrefix(line, "Package: "):
			pkg = strings.TrimSpace(line[len("Package: "):])
		case strings.HasPrefix(line, "Version: "):
			version = strings.TrimSpace(line[len("Version: "):])
		case strings.HasPrefix(line, "Status: "):
			status = strings.TrimSpace(line[len("Status: "):])
		}
	}
	flush()
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("corpus: reading %s: %w", path, err)
	}
	return out, nil
}

// sortedKeys returns the keys of m in increasing order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
