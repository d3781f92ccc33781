package site_test

import (
	"fmt"
	"io/fs"

	"github.com/minimind-go/minimind/site"
)

// Example lists the page's files, which a server puts beside minimind.js,
// minimind-worker.js, minimind.wasm and wasm_exec.js.
func Example() {
	names, _ := fs.Glob(site.FS(), "*")
	fmt.Println(names)
	// Output:
	// [app.js icon.svg index.html style.css]
}
