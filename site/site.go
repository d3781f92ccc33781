// Package site is MiniMind's chat page and its tutorial: static files
// (index.html, app.js, style.css, icon.svg, and learn/ for the tutorial, which
// steps through the model's forward pass) embedded for cmd/mmserve, which serves them beside
// the browser runtime (package wasm/web's minimind.js and the built
// minimind.wasm). The page imports ./minimind.js, so any static server that
// puts those files side by side hosts it.
package site

import (
	"embed"
	"io/fs"
)

//go:embed index.html app.js style.css icon.svg learn/index.html learn/learn.js learn/learn.css
var files embed.FS

// FS returns the page's files.
func FS() fs.FS { return files }
