package shaders

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/layouts.golden")

// layoutText renders every shader's bindings, one line each.
func layoutText(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, name := range Names() {
		bs, err := Layout(name)
		if err != nil {
			t.Fatal(err)
		}
		var parts []string
		for _, x := range bs {
			parts = append(parts, fmt.Sprintf("%d %s <%s>", x.Index, x.Name, x.Access))
		}
		fmt.Fprintf(&b, "%s: %s\n", name, strings.Join(parts, ", "))
	}
	return b.String()
}

// TestLayoutsGolden pins the binding layout of every shader: the engine's
// Go code passes buffers in this order.
func TestLayoutsGolden(t *testing.T) {
	got := layoutText(t)
	path := filepath.Join("testdata", "layouts.golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("shader layouts changed (go test -update if intended):\n got:\n%s\nwant:\n%s", got, want)
	}
}

// TestHeaders checks the conventions every shader follows: a header comment
// naming the file, describing each binding, and one entry point main whose
// Params uniform is binding 0.
func TestHeaders(t *testing.T) {
	if len(Names()) < 15 {
		t.Fatalf("only %d shaders: %v", len(Names()), Names())
	}
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			src, err := Source(name)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(src, "// "+name+".wgsl — ") {
				t.Errorf("header does not start with %q", "// "+name+".wgsl — ")
			}
			if !strings.Contains(src, "// Bindings:") {
				t.Error("header has no Bindings section")
			}
			bs, _ := Layout(name)
			for _, b := range bs {
				re := regexp.MustCompile(fmt.Sprintf(`(?m)^//\s+%d %s\s`, b.Index, b.Name))
				if !re.MatchString(src) {
					t.Errorf("header does not describe binding %d (%s)", b.Index, b.Name)
				}
			}
			if !strings.Contains(src, "// Dispatch:") {
				t.Error("header does not say how the shader is dispatched")
			}
			if len(bs) == 0 || bs[0].Access != Uniform || bs[0].Name != "p" {
				t.Errorf("binding 0 is %+v, want the uniform p", bs)
			}
			if n := strings.Count(src, "@compute"); n != 1 || !strings.Contains(src, "fn main(") {
				t.Errorf("want exactly one @compute entry point main, found %d", n)
			}
		})
	}
}

func TestBindingsErrors(t *testing.T) {
	tests := []struct{ name, src string }{
		{"other group", "@group(1) @binding(0) var<uniform> p: P;"},
		{"gap", "@group(0) @binding(0) var<uniform> p: P;\n@group(0) @binding(2) var<storage, read> x: array<f32>;"},
		{"private address space", "@group(0) @binding(0) var<private> p: P;"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Bindings(tc.src); err == nil {
				t.Errorf("Bindings accepted %q", tc.src)
			}
		})
	}
	if _, err := Source("nope"); err == nil {
		t.Error("Source accepted an unknown shader")
	}
	bs, err := Bindings("// @group(0) @binding(5) var<uniform> commented: P;\n@group(0) @binding(0) var<uniform> p: P;\n@group(0) @binding(1) var<storage,read_write> o: array<f32>;")
	if err != nil || len(bs) != 2 || bs[1].Access != ReadWrite {
		t.Errorf("Bindings = %+v, %v", bs, err)
	}
}
