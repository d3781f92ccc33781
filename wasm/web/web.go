// Package web holds the JavaScript side of MiniMind's browser runtime:
// minimind.js, the ES module that pages import, and minimind-worker.js, the
// Web Worker that runs the Go runtime (package main in wasm/, built to
// minimind.wasm). A server serves these files beside minimind.wasm and the
// toolchain's wasm_exec.js (see cmd/mmserve).
package web

import (
	"embed"
	"io/fs"
)

//go:embed minimind.js minimind-worker.js
var files embed.FS

// Names of the files of FS.
const (
	ModuleFile = "minimind.js"
	WorkerFile = "minimind-worker.js"
)

// FS returns the JavaScript files: minimind.js and minimind-worker.js.
func FS() fs.FS { return files }
