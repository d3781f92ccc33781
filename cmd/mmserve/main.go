// Command mmserve serves MiniMind's chat page, with the model running in the
// visitor's browser (WebGPU, or WebAssembly on the CPU).
//
//	go run ./cmd/mmserve                  # http://127.0.0.1:8998/
//	go run ./cmd/mmserve --model out/full_sft_512 --addr :8998
//
// It serves the page (embedded), the browser runtime and a default model:
// the folder given with --model, else the newest model a training run wrote
// under ./out, else the model embedded in the binary (package zoo). Without
// any, the page asks the visitor for a model folder or URL.
//
// The runtime (package main in wasm/, GOOS=js GOARCH=wasm) is built at
// startup with the local Go toolchain from MiniMind's source: the checkout
// it runs in, else the one it was built from, else the module cache's copy
// that `go install github.com/minimind-go/minimind/cmd/mmserve@latest`
// downloaded (see sourceRoot). So neither a fresh clone nor an installed
// mmserve needs another build step; the first start compiles the runtime
// (about half a minute with a cold build cache), and Go's build cache makes
// later starts take a second. --wasm and --wasm-exec serve prebuilt files
// instead.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/minimind-go/minimind/site"
	"github.com/minimind-go/minimind/zoo"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr, nil); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "mmserve:", err)
		os.Exit(1)
	}
}

// run parses args, prepares the server and serves until ctx is done. When
// ready is not nil it receives the server's address once it listens.
func run(ctx context.Context, args []string, logw io.Writer, ready chan<- string) error {
	fl := flag.NewFlagSet("mmserve", flag.ContinueOnError)
	fl.SetOutput(logw)
	addr := fl.String("addr", "127.0.0.1:8998", "address to listen on (MiniMind's port)")
	modelDir := fl.String("model", "", "default model folder (config.json, model.safetensors or a .pth, tokenizer.json, tokenizer_config.json); default: the newest under ./out, else the embedded model")
	wasmFile := fl.String("wasm", "", "serve this prebuilt minimind.wasm instead of building it")
	execFile := fl.String("wasm-exec", "", "the wasm_exec.js of the toolchain that built --wasm (default: from `go env GOROOT`)")
	webgpu := fl.String("webgpu", "auto", "compile the WebGPU engine into the runtime: auto (when it builds for js/wasm), on or off")
	apiFl := addAPIFlags(fl)
	lora := fl.String("lora", "", "LoRA adapters to apply to the default model: served beside it (adapter_model.safetensors) and applied by the page without merging; the API serves them folded in")
	export := fl.String("export", "", "write the whole site (chat, tutorial, runtime, default model) as static files into `DIR` and exit")
	fl.Usage = func() {
		fmt.Fprintln(logw, "usage: mmserve [--addr host:port] [--model DIR] [--wasm FILE --wasm-exec FILE]")
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		return err
	}
	if fl.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (the model folder goes after --model)", fl.Arg(0))
	}

	rt, err := loadRuntime(ctx, *wasmFile, *execFile, *webgpu)
	if err != nil {
		return err
	}
	fmt.Fprintln(logw, "mmserve: runtime", rt.Built)

	var opt serverOptions
	opt.Site, opt.Wasm, opt.WasmExec = site.FS(), rt.Wasm, rt.Exec
	opt.Model, opt.ModelName, err = defaultModel(*modelDir)
	if err != nil {
		return err
	}
	apiModel := opt.Model
	if *lora != "" && opt.Model != nil {
		var cleanup func()
		if apiModel, cleanup, err = loraModels(&opt, *lora, *apiFl.on && *export == ""); err != nil {
			return err
		}
		defer cleanup()
	}
	if opt.Model == nil {
		fmt.Fprintln(logw, "mmserve: no default model (no --model, nothing under ./out, none embedded): the page will ask for a model folder or URL")
	} else {
		fmt.Fprintln(logw, "mmserve: default model:", opt.ModelName)
	}
	if *export != "" {
		n, size, err := exportSite(*export, opt)
		if err != nil {
			return err
		}
		fmt.Fprintf(logw, "mmserve: wrote %d files (%.1f MB) to %s; serve it with any static file server and open /learn/ for the tutorial\n", n, float64(size)/(1<<20), *export)
		return nil
	}
	apiSrv, err := apiFl.server(apiModel, opt.ModelName, logw)
	if err != nil {
		return err
	}
	if apiSrv != nil {
		defer apiSrv.Close()
		opt.API = apiSrv
	}
	if w := exposedWarning(*addr, *apiFl.key); w != "" {
		fmt.Fprintln(logw, w)
	}
	srv, err := newServer(opt)
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	fmt.Fprintf(logw, "mmserve: MiniMind is at http://%s/\n", displayAddr(ln.Addr()))
	if ready != nil {
		ready <- ln.Addr().String()
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return hs.Shutdown(sctx)
	}
}

// loadRuntime reads --wasm (and --wasm-exec) or builds the runtime.
func loadRuntime(ctx context.Context, wasmFile, execFile, webgpu string) (runtimeFiles, error) {
	if wasmFile == "" {
		return buildRuntime(ctx, buildOptions{WebGPU: webgpu})
	}
	wasm, err := os.ReadFile(wasmFile)
	if err != nil {
		return runtimeFiles{}, err
	}
	var execJS []byte
	if execFile != "" {
		execJS, err = os.ReadFile(execFile)
	} else {
		execJS, err = wasmExec(ctx, "go")
	}
	if err != nil {
		return runtimeFiles{}, fmt.Errorf("wasm_exec.js: %w (pass --wasm-exec)", err)
	}
	return runtimeFiles{Wasm: wasm, Exec: execJS, Built: "from " + wasmFile}, nil
}

// defaultModel picks the folder served as the default model (see zoo.Resolve);
// nil when there is none.
func defaultModel(dir string) (fs.FS, string, error) {
	path, fsys, source, err := zoo.Resolve(dir)
	if err != nil {
		if dir == "" {
			return nil, "", nil
		}
		return nil, "", err
	}
	if fsys != nil {
		return fsys, source, nil
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, "", fmt.Errorf("--model: %w", err)
	}
	if !st.IsDir() {
		path = filepath.Dir(path)
	}
	return os.DirFS(path), filepath.Base(path), nil
}

// displayAddr writes a listening address as a URL host (an unspecified
// address becomes 127.0.0.1).
func displayAddr(a net.Addr) string {
	ta, ok := a.(*net.TCPAddr)
	if !ok || !ta.IP.IsUnspecified() {
		return a.String()
	}
	return net.JoinHostPort("127.0.0.1", fmt.Sprint(ta.Port))
}
