package shaders_test

import (
	"fmt"

	"github.com/minimind-go/minimind/shaders"
)

func ExampleLayout() {
	bs, err := shaders.Layout("add")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, b := range bs {
		fmt.Printf("@binding(%d) %s: %s\n", b.Index, b.Name, b.Access)
	}
	// Output:
	// @binding(0) p: uniform
	// @binding(1) a: storage, read
	// @binding(2) b: storage, read
	// @binding(3) out: storage, read_write
}
