package jinja

import (
	"encoding/json"
	"testing"
)

// FuzzTemplate checks that any template either fails to parse, fails to
// render with an error, or renders; never a panic or a hang.
func FuzzTemplate(f *testing.F) {
	for _, s := range []string{
		"{{ messages[0].content }}",
		"{% for m in messages %}{{ m.role | upper }}{% if loop.last %}!{% endif %}{% endfor %}",
		"{% set ns = namespace(a=1) %}{% set ns.a = ns.a + 1 %}{{ ns.a }}",
		"{% macro f(x, y=2) %}{{ x ~ y }}{% endmacro %}{{ f(1) }}{{ f(1, y=3) }}",
		"{{ 'a b'.split()[::-1] | join(',') }}{{ x | tojson(indent=2) }}",
		"{%- if a is defined and not b -%} {{ a }} {%- else -%} none {%- endif %}",
		"{# comment #}{{ range(3) | list }}{{ 1 // 0 }}",
		"{% for i in range(10) %}{% for j in range(10) %}{{ i * j }}{% endfor %}{% endfor %}",
		"{{ {'a': [1, 2.5, none, true]} }}{{ '\\u4e2d' }}",
	} {
		f.Add(s)
	}
	vars := map[string]any{
		"messages": json.RawMessage(`[{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo", "tool_calls": [{"function": {"name": "f", "arguments": {"b": 1, "a": [1, 2]}}}]}]`),
		"x":        map[string]any{"k": []any{1, "two", 3.5, nil}},
		"a":        "A",
		"b":        false,
	}
	f.Fuzz(func(t *testing.T, src string) {
		tpl, err := Parse(src)
		if err != nil {
			return
		}
		_, _ = tpl.Render(vars)
	})
}
