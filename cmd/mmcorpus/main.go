// Command mmcorpus builds and inspects MiniMind-Zero's default corpus.
//
// Usage:
//
//	mmcorpus build --out DIR [--root /]   regenerate the corpus files from the Debian packages
//	mmcorpus check [--root /]             regenerate in memory and compare with the embedded corpus
//	mmcorpus stats                        print the embedded corpus's manifest as a table
//	mmcorpus cat FILE                     print one embedded file, decompressed (e.g. sft.jsonl.gz)
//	mmcorpus sources                      print the Debian packages the builder needs
//
// The build reads the installed files of the packages that `mmcorpus
// sources` lists (apt-get install them first); the same package versions
// always give byte-identical files. Copy the built files into corpus/data/
// to change the corpus the product embeds.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"strings"
	"text/tabwriter"

	"github.com/minimind-go/minimind/corpus"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage:
  mmcorpus build --out DIR [--root /]   regenerate the corpus files from the Debian packages
  mmcorpus check [--root /]             regenerate in memory and compare with the embedded corpus
  mmcorpus stats                        print the embedded corpus's manifest as a table
  mmcorpus cat FILE                     print one embedded file, decompressed
  mmcorpus sources                      print the Debian packages the builder needs
`

// run executes one subcommand and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "build":
		err = cmdBuild(ctx, args[1:], stdout, stderr)
	case "check":
		err = cmdCheck(ctx, args[1:], stdout, stderr)
	case "stats":
		err = cmdStats(stdout)
	case "cat":
		if len(args) != 2 {
			fmt.Fprint(stderr, usage)
			return 2
		}
		err = cmdCat(args[1], stdout)
	case "sources":
		for _, s := range corpus.RequiredSources() {
			fmt.Fprintf(stdout, "%s\t%s\n", s.Package, s.License)
		}
		fmt.Fprintf(stdout, "install: apt-get install %s\n", strings.Join(corpus.AptPackages(), " "))
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "mmcorpus: unknown command %q\n%s", args[0], usage)
		return 2
	}
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		if !ue.reported {
			fmt.Fprintf(stderr, "mmcorpus: %v\n", err)
		}
		return 2
	}
	fmt.Fprintf(stderr, "mmcorpus: %v\n", err)
	return 1
}

// usageError is a bad command line; reported is true when the flag package
// has already printed it with the usage.
type usageError struct {
	error
	reported bool
}

// parseFlags parses args, turning a failure into a usageError.
func parseFlags(fl *flag.FlagSet, args []string) error {
	if err := fl.Parse(args); err != nil {
		return usageError{err, true}
	}
	if fl.NArg() != 0 {
		fl.Usage()
		return usageError{fmt.Errorf("unexpected arguments %q", fl.Args()), false}
	}
	return nil
}

func cmdBuild(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fl := flag.NewFlagSet("build", flag.ContinueOnError)
	fl.SetOutput(stderr)
	out := fl.String("out", "", "output directory (required)")
	root := fl.String("root", "/", "file-system root under which the Debian packages are installed")
	if err := parseFlags(fl, args); err != nil {
		return err
	}
	if *out == "" {
		fl.Usage()
		return usageError{errors.New("build needs --out DIR"), false}
	}
	m, err := corpus.Build(ctx, *out, corpus.Options{Root: *root, Log: stderr})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %d files to %s\n", len(m.Files)+1, *out)
	printManifest(stdout, m)
	return nil
}

func cmdCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fl := flag.NewFlagSet("check", flag.ContinueOnError)
	fl.SetOutput(stderr)
	root := fl.String("root", "/", "file-system root under which the Debian packages are installed")
	if err := parseFlags(fl, args); err != nil {
		return err
	}
	files, _, err := corpus.Generate(ctx, corpus.Options{Root: *root, Log: stderr})
	if err != nil {
		return err
	}
	var diff []string
	for _, f := range files {
		want, err := fs.ReadFile(corpus.Files(), f.Name)
		if err != nil {
			diff = append(diff, fmt.Sprintf("%s: not embedded", f.Name))
			continue
		}
		if !bytes.Equal(want, f.Data) {
			diff = append(diff, fmt.Sprintf("%s: differs (embedded %d bytes, built %d bytes)", f.Name, len(want), len(f.Data)))
		}
	}
	if len(diff) > 0 {
		return fmt.Errorf("the embedded corpus is not what the installed packages give:\n  %s", strings.Join(diff, "\n  "))
	}
	fmt.Fprintf(stdout, "ok: %d files identical\n", len(files))
	return nil
}

func cmdStats(stdout io.Writer) error {
	m, err := corpus.EmbeddedManifest()
	if err != nil {
		return err
	}
	printManifest(stdout, m)
	return nil
}

func cmdCat(name string, stdout io.Writer) error {
	rc, err := corpus.Open(name)
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = io.Copy(stdout, rc)
	return err
}

// printManifest writes the sources and a table of the files.
func printManifest(w io.Writer, m *corpus.Manifest) {
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "package\tversion\tlicense\t")
	for _, s := range m.Sources {
		fmt.Fprintf(tw, "%s\t%s\t%s\t\n", s.Package, s.Version, s.License)
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 2, 8, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "file\tsource\trecords\tchars\t~tokens\tbytes\tgzip\t")
	total := 0
	for _, f := range m.Files {
		for _, p := range f.Parts {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t\t\t\n", f.Name, p.Source, p.Records, p.Chars, p.ApproxTokens)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t\n", f.Name, "all", f.Records, f.Chars, f.ApproxTokens, f.Bytes, f.GzipBytes)
		total += f.GzipBytes
	}
	tw.Flush()
	fmt.Fprintf(w, "compressed total: %d bytes\n", total)
}
