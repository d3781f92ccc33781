// Command wasm is MiniMind's browser runtime: built with GOOS=js GOARCH=wasm
// it runs inside a Web Worker (wasm/web/minimind-worker.js) and exposes
// globalThis.minimindGo, the functions that the ES module minimind.js calls
// through the worker: estimate, load, generate, abort, tokenize, trace and
// render. The page never calls it directly.
//
// The engine is chosen at load time: "webgpu" (WGSL compute shaders over
// navigator.gpu), "cpu" (the pure-Go CPU engine, single-threaded in
// WebAssembly) or "auto" (WebGPU when the browser has a usable adapter, else
// the CPU with the reason recorded). The WebGPU engine is compiled in with the
// build tag "webgpu" until package webgpu builds for js/wasm.
//
// Build it with
//
//	GOOS=js GOARCH=wasm go build -trimpath -ldflags=-s -o minimind.wasm ./wasm
//
// (mmserve does this itself at startup) and serve it beside wasm_exec.js from
// the same Go toolchain ($(go env GOROOT)/lib/wasm/wasm_exec.js).
package main
