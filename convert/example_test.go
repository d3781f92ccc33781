package convert_test

import (
	"fmt"

	"github.com/minimind-go/minimind/convert"
	"github.com/minimind-go/minimind/tokenizer"
)

// The ollama TEMPLATE for a MiniMind2 tokenizer renders the same prompt as
// its Jinja chat template.
func ExampleOllamaTemplate() {
	tok, err := tokenizer.Load("../testdata/minimind/minimind2")
	if err != nil {
		panic(err)
	}
	tmpl, err := convert.OllamaTemplate(tok)
	if err != nil {
		panic(err)
	}
	prompt, _ := convert.RenderOllama(tmpl, []tokenizer.Message{{Role: "user", Content: "Who are you?"}})
	fmt.Printf("%q\n", prompt)
	// Output:
	// "<|im_start|>system\nYou are a helpful assistant<|im_end|>\n<|im_start|>user\nWho are you?<|im_end|>\n<|im_start|>assistant\n"
}
