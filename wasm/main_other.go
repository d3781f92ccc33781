//go:build !(js && wasm)

package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "wasm: this is the browser runtime; build it with GOOS=js GOARCH=wasm (mmserve does so) and load it with minimind.js")
	os.Exit(2)
}
