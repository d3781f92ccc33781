package jinja_test

import (
	"encoding/json"
	"fmt"
	"log"

	"github.com/minimind-go/minimind/tokenizer/jinja"
)

func ExampleParse() {
	tpl, err := jinja.Parse(`{%- for m in messages -%}
<|im_start|>{{ m.role }}
{{ m.content | trim }}<|im_end|>
{% endfor -%}
{%- if add_generation_prompt %}<|im_start|>assistant
{% endif -%}
{{ tools | tojson }}`)
	if err != nil {
		log.Fatal(err)
	}
	out, err := tpl.Render(map[string]any{
		"messages":              json.RawMessage(`[{"role": "user", "content": " hi "}]`),
		"add_generation_prompt": true,
		"tools":                 json.RawMessage(`[{"name": "f", "arguments": {"b": 1, "a": 2.5}}]`),
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(out)
	// Output:
	// <|im_start|>user
	// hi<|im_end|>
	// <|im_start|>assistant
	// [{"name": "f", "arguments": {"b": 1, "a": 2.5}}]
}
