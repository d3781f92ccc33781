package jinja

import "fmt"

// Template is a parsed template. It is safe for concurrent use.
type Template struct {
	body []node
}

// Parse parses a template.
func Parse(src string) (*Template, error) {
	toks, err := tokenize(src)
	if err != nil {
		return nil, err
	}
	body, err := parse(toks)
	if err != nil {
		return nil, err
	}
	return &Template{body: body}, nil
}

// Render renders the template with the given variables. Values may be nil,
// bools, numbers, strings, []any, map[string]any (keys sorted),
// json.RawMessage (object keys kept in their written order) and anything
// else encoding/json can marshal.
func (t *Template) Render(vars map[string]any) (string, error) {
	e := newEnv(nil)
	for k, v := range globals() {
		e.set(k, v)
	}
	scope := newEnv(e)
	for k, v := range vars {
		c, err := fromGo(v)
		if err != nil {
			return "", fmt.Errorf("jinja: variable %q: %w", k, err)
		}
		scope.set(k, c)
	}
	in := &interp{}
	s, err := in.block(t.body, scope)
	if err == errBreak || err == errContinue {
		return "", &RenderError{Msg: err.Error()}
	}
	return s, err
}
