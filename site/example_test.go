package site_test

import (
	"fmt"
	"io/fs"

	"github.com/minimind-go/minimind/site"
)

// Example lists the page's files, which a server puts beside minimind.js,
// minimind-worker.js, minimind.wasm and wasm_exec.js; the tutorial is in
// learn/ and imports ../minimind.js.
func Example() {
	names, _ := fs.Glob(site.FS(), "*")
	fmt.Println(names)
	learn, _ := fs.Glob(site.FS(), "learn/*")
	fmt.Println(learn)
	// Output:
	// [app.js icon.svg index.html learn style.css]
	// [learn/index.html learn/learn.css learn/learn.js]
}
