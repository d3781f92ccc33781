// Package site is MiniMind's chat page: static files (index.html, app.js,
// style.css, icon.svg) embedded for cmd/mmserve, which serves them beside
// the browser runtime (package wasm/web's minimind.js and the built
// minimind.wasm). The page imports ./minimind.js, so any static server that
// puts those files side by side hosts it.
package site

import (
	"embed"
	"io/fs"
)

//go:embed index.html app.js style.css icon.svg
var files embed.FS

// FS returns the page's files.
func FS() fs.FS { return files }
