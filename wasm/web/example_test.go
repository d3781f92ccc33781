package web_test

import (
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"

	"github.com/minimind-go/minimind/wasm/web"
)

// Example serves the runtime's JavaScript files, as a page that imports
// minimind.js needs them (beside minimind.wasm and wasm_exec.js).
func Example() {
	srv := httptest.NewServer(http.FileServerFS(web.FS()))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/" + web.ModuleFile)
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	names, _ := fs.Glob(web.FS(), "*.js")
	fmt.Println(resp.StatusCode, resp.Header.Get("Content-Type"), names)
	// Output:
	// 200 text/javascript; charset=utf-8 [minimind-worker.js minimind.js]
}
