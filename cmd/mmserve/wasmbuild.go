package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"time"
)

// modulePath is the module whose ./wasm package is the browser runtime.
const modulePath = "github.com/minimind-go/minimind"

// runtimeFiles is the browser runtime: minimind.wasm and the wasm_exec.js of
// the Go toolchain that built it.
type runtimeFiles struct {
	Wasm, Exec []byte
	WebGPU     bool   // the WebGPU engine is compiled in
	Built      string // what was built and how long it took, for the log
}

// buildOptions control buildRuntime.
type buildOptions struct {
	Dir   string // a folder inside the MiniMind module (default: see sourceRoot)
	Cache string // where the .wasm is written (default: the user cache dir)
	Tags  string // extra build tags, comma separated
	Go    string // the go command (default: go on PATH)
	// WebGPU compiles in the WebGPU engine (build tag "webgpu"): "on", "off",
	// or "auto" (the default: on when package webgpu builds for js/wasm,
	// else off with the reason in Built).
	WebGPU string
}

// buildRuntime builds package ./wasm of the MiniMind module with the local
// Go toolchain for GOOS=js GOARCH=wasm. Go's build cache makes a rebuild of
// unchanged sources take a second or two.
func buildRuntime(ctx context.Context, o buildOptions) (runtimeFiles, error) {
	switch o.WebGPU {
	case "on":
		return buildRuntimeTags(ctx, o, true)
	case "off":
		return buildRuntimeTags(ctx, o, false)
	case "auto", "":
		rt, err := buildRuntimeTags(ctx, o, true)
		if err == nil || errors.Is(err, errNoModule) || ctx.Err() != nil {
			return rt, err
		}
		reason := firstLine(err.Error(), "\n")
		rt, err = buildRuntimeTags(ctx, o, false)
		if err == nil {
			rt.Built += "; without WebGPU (" + reason + ")"
		}
		return rt, err
	}
	return runtimeFiles{}, fmt.Errorf("webgpu %q: want auto, on or off", o.WebGPU)
}

func firstLine(s, sep string) string {
	lines := strings.Split(strings.TrimSpace(s), sep)
	for i := len(lines) - 1; i >= 0; i-- { // the compiler's last message names the problem
		if l := strings.TrimSpace(lines[i]); l != "" && !strings.HasPrefix(l, "#") {
			return l
		}
	}
	return s
}

func buildRuntimeTags(ctx context.Context, o buildOptions, webgpu bool) (runtimeFiles, error) {
	goBin := o.Go
	if goBin == "" {
		var err error
		if goBin, err = exec.LookPath("go"); err != nil {
			return runtimeFiles{}, fmt.Errorf("mmserve builds its WebAssembly runtime with the Go toolchain, and go is not on PATH: install Go, or pass --wasm and --wasm-exec: %w", err)
		}
	}
	root, err := sourceRoot(ctx, o.Dir, goBin)
	if err != nil {
		return runtimeFiles{}, err
	}
	cache := o.Cache
	if cache == "" {
		uc, err := os.UserCacheDir()
		if err != nil {
			uc = os.TempDir()
		}
		cache = filepath.Join(uc, "minimind", "mmserve")
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return runtimeFiles{}, fmt.Errorf("runtime cache: %w", err)
	}
	// Build to a private name and rename, so that two servers starting at
	// once never read a half-written file.
	tmp, err := os.CreateTemp(cache, "minimind-*.wasm")
	if err != nil {
		return runtimeFiles{}, fmt.Errorf("runtime cache: %w", err)
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	start := time.Now()
	args := []string{"build", "-trimpath", "-ldflags=-s -w", "-o", tmp.Name()}
	tags := o.Tags
	if webgpu {
		tags = strings.Trim(tags+",webgpu", ",")
	}
	if tags != "" {
		args = append(args, "-tags", tags)
	}
	args = append(args, "./wasm")
	cmd := exec.CommandContext(ctx, goBin, args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm", "CGO_ENABLED=0")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return runtimeFiles{}, fmt.Errorf("building the WebAssembly runtime (GOOS=js GOARCH=wasm go build ./wasm in %s): %w\n%s", root, err, strings.TrimSpace(out.String()))
	}
	wasm, err := os.ReadFile(tmp.Name())
	if err != nil {
		return runtimeFiles{}, err
	}
	final := filepath.Join(cache, "minimind.wasm")
	os.Rename(tmp.Name(), final) // kept for --wasm; failure is harmless
	execJS, err := wasmExec(ctx, goBin)
	if err != nil {
		return runtimeFiles{}, err
	}
	engines := "CPU engine only"
	if webgpu {
		engines = "WebGPU and CPU engines"
	}
	return runtimeFiles{Wasm: wasm, Exec: execJS, WebGPU: webgpu,
		Built: fmt.Sprintf("built %s (%.1f MB, %s) from the source in %s in %.1fs", final, float64(len(wasm))/(1<<20), engines, root, time.Since(start).Seconds())}, nil
}

// wasmExec reads the JavaScript support file of the toolchain's js/wasm port.
func wasmExec(ctx context.Context, goBin string) ([]byte, error) {
	out, err := exec.CommandContext(ctx, goBin, "env", "GOROOT").Output()
	if err != nil {
		return nil, fmt.Errorf("go env GOROOT: %w", err)
	}
	goroot := strings.TrimSpace(string(out))
	for _, p := range []string{"lib/wasm/wasm_exec.js", "misc/wasm/wasm_exec.js"} {
		if data, err := os.ReadFile(filepath.Join(goroot, p)); err == nil {
			return data, nil
		}
	}
	return nil, fmt.Errorf("wasm_exec.js not found in %s/lib/wasm or %s/misc/wasm", goroot, goroot)
}

// errNoModule says that no MiniMind source tree was found to build the
// runtime from.
var errNoModule = errors.New("mmserve builds its WebAssembly runtime from MiniMind's source, and found none: " +
	"not in the working directory, not where this binary was built from, and not in the Go module cache " +
	"(install with `go install github.com/minimind-go/minimind/cmd/mmserve@latest`, run it inside a checkout, or pass --wasm and --wasm-exec)")

// sourceRoot finds MiniMind's source tree to build the runtime from, in this
// order:
//
//  1. dir (default: the working directory) or a folder above it, when it is
//     the MiniMind module: a checkout, so the runtime matches its sources;
//  2. the folder this binary was compiled from, when it is still there (a
//     binary built with `go build -o` or `go install ./cmd/...` from a
//     checkout, run from anywhere);
//  3. the module cache's copy of the version this binary was built from
//     (`go install github.com/minimind-go/minimind/cmd/mmserve@VERSION`
//     downloaded it; `go mod download` fetches it again if it was cleaned),
//     or of the commit it was built from when its checkout is gone.
func sourceRoot(ctx context.Context, dir, goBin string) (string, error) {
	if dir == "" {
		var err error
		if dir, err = os.Getwd(); err != nil {
			return "", err
		}
	}
	if root, err := moduleRoot(dir); err == nil {
		return root, nil
	}
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		if root, err := moduleRoot(filepath.Dir(file)); err == nil {
			return root, nil
		}
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Path == modulePath {
		if v := bi.Main.Version; v != "" && v != "(devel)" {
			return moduleCacheDir(ctx, goBin, modulePath+"@"+v)
		}
		// A build from a checkout that is gone: the commit it was built
		// from, when that is recorded and the tree was clean.
		var rev, modified string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value
			}
		}
		if rev != "" && modified == "false" {
			return moduleCacheDir(ctx, goBin, modulePath+"@"+rev)
		}
	}
	return "", errNoModule
}

// moduleCacheDir returns the module cache folder of mod (path@version),
// downloading it when it is not there.
func moduleCacheDir(ctx context.Context, goBin, mod string) (string, error) {
	cmd := exec.CommandContext(ctx, goBin, "mod", "download", "-json", mod)
	cmd.Dir = os.TempDir() // outside any module: the download is not tied to one
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var info struct{ Dir, Error string }
	if jerr := json.Unmarshal(out, &info); jerr == nil && info.Error != "" {
		return "", fmt.Errorf("go mod download %s: %s: %w", mod, info.Error, errNoModule)
	}
	if err != nil {
		return "", fmt.Errorf("go mod download %s: %w: %s (%w)", mod, err, strings.TrimSpace(stderr.String()), errNoModule)
	}
	if info.Dir == "" {
		return "", fmt.Errorf("go mod download %s: no folder reported: %w", mod, errNoModule)
	}
	return info.Dir, nil
}

// moduleRoot finds the folder of MiniMind's go.mod at or above dir.
func moduleRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		if f, err := os.Open(filepath.Join(dir, "go.mod")); err == nil {
			mod := modulePathOf(f)
			f.Close()
			if mod == modulePath {
				return dir, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errNoModule
		}
		dir = parent
	}
}

// modulePathOf reads the module line of a go.mod file.
func modulePathOf(r io.Reader) string {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`)
		}
	}
	return ""
}
