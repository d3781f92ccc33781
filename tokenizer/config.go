package tokenizer

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/minimind-go/minimind/tokenizer/internal/ojson"
)

// Config is what this package reads from tokenizer_config.json (the file of
// Hugging Face transformers). Other fields of the file are kept as they are
// and written back by Save.
type Config struct {
	BOSToken     string // bos_token, "" when unset
	EOSToken     string // eos_token
	PadToken     string // pad_token
	UnkToken     string // unk_token
	ChatTemplate string // chat_template (the "default" one when the file names several)
	AddBOSToken  bool   // add_bos_token
	AddEOSToken  bool   // add_eos_token

	raw    *ojson.Object // the whole file, in order
	indent string        // the indentation the file used
	parsed configValues  // the values as read, to tell what was changed
}

// configValues is the comparable part of Config.
type configValues struct {
	BOSToken, EOSToken, PadToken, UnkToken, ChatTemplate string
	AddBOSToken, AddEOSToken                             bool
}

func (c *Config) values() configValues {
	return configValues{c.BOSToken, c.EOSToken, c.PadToken, c.UnkToken, c.ChatTemplate, c.AddBOSToken, c.AddEOSToken}
}

// ParseConfig reads tokenizer_config.json; name is used in errors.
func ParseConfig(data []byte, name string) (*Config, error) {
	v, err := ojson.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", name, err)
	}
	root, ok := v.(*ojson.Object)
	if !ok {
		return nil, fmt.Errorf("tokenizer: %s: want a JSON object", name)
	}
	c := &Config{raw: root, indent: detectIndent(data)}
	for _, f := range []struct {
		key string
		dst *string
	}{{"bos_token", &c.BOSToken}, {"eos_token", &c.EOSToken}, {"pad_token", &c.PadToken}, {"unk_token", &c.UnkToken}} {
		x, _ := root.Get(f.key)
		s, err := tokenText(x)
		if err != nil {
			return nil, fmt.Errorf("tokenizer: %s: %s: %w", name, f.key, err)
		}
		*f.dst = s
	}
	for _, f := range []struct {
		key string
		dst *bool
	}{{"add_bos_token", &c.AddBOSToken}, {"add_eos_token", &c.AddEOSToken}} {
		switch x, _ := root.Get(f.key); x := x.(type) {
		case nil:
		case bool:
			*f.dst = x
		default:
			return nil, fmt.Errorf("tokenizer: %s: %s: want true or false", name, f.key)
		}
	}
	switch x, _ := root.Get("chat_template"); x := x.(type) {
	case nil:
	case string:
		c.ChatTemplate = x
	case []any:
		// [{"name": ..., "template": ...}, ...]: take "default", else the first.
		for i, e := range x {
			o, ok := e.(*ojson.Object)
			if !ok {
				return nil, fmt.Errorf("tokenizer: %s: chat_template[%d]: want an object", name, i)
			}
			n, _ := o.Get("name")
			tpl, ok := o.Get("template")
			s, isStr := tpl.(string)
			if !ok || !isStr {
				return nil, fmt.Errorf("tokenizer: %s: chat_template[%d].template: want a string", name, i)
			}
			if i == 0 || n == "default" {
				c.ChatTemplate = s
			}
		}
	default:
		return nil, fmt.Errorf("tokenizer: %s: chat_template: want a string or a list", name)
	}
	c.parsed = c.values()
	return c, nil
}

// tokenText reads a special token given as a string or as an AddedToken
// object {"content": ...}.
func tokenText(x any) (string, error) {
	switch x := x.(type) {
	case nil:
		return "", nil
	case string:
		return x, nil
	case *ojson.Object:
		c, _ := x.Get("content")
		if s, ok := c.(string); ok {
			return s, nil
		}
		return "", fmt.Errorf("want a string content")
	}
	return "", fmt.Errorf("want a string or an object with content")
}

// Marshal returns the file: the fields as read, with the ones changed in c
// set to their new values, indented as the file was (two spaces for a new
// file).
func (c *Config) Marshal() ([]byte, error) {
	root := c.raw
	if root == nil {
		root = ojson.NewObject()
	}
	now, was := c.values(), c.parsed
	setStr := func(key, v, old string) {
		if v == old && c.raw != nil {
			return
		}
		if v == "" {
			root.Set(key, nil)
		} else {
			root.Set(key, v)
		}
	}
	setStr("bos_token", now.BOSToken, was.BOSToken)
	setStr("eos_token", now.EOSToken, was.EOSToken)
	setStr("pad_token", now.PadToken, was.PadToken)
	setStr("unk_token", now.UnkToken, was.UnkToken)
	if now.ChatTemplate != was.ChatTemplate || c.raw == nil {
		root.Set("chat_template", now.ChatTemplate)
	}
	if now.AddBOSToken != was.AddBOSToken || c.raw == nil {
		root.Set("add_bos_token", now.AddBOSToken)
	}
	if now.AddEOSToken != was.AddEOSToken || c.raw == nil {
		root.Set("add_eos_token", now.AddEOSToken)
	}
	indent := c.indent
	if indent == "" {
		indent = "  "
	}
	enc := ojson.Encoder{Indent: indent}
	return enc.Marshal(root)
}

// detectIndent returns the whitespace that starts the first indented line of
// a JSON file ("  " when there is none).
func detectIndent(data []byte) string {
	i := bytes.IndexByte(data, '\n')
	if i < 0 {
		return "  "
	}
	j := i + 1
	for j < len(data) && (data[j] == ' ' || data[j] == '\t') {
		j++
	}
	if j == i+1 {
		return "  "
	}
	return string(data[i+1 : j])
}

// Field returns the raw value of a field of tokenizer_config.json that
// Config does not model, decoded with encoding/json into a generic value.
func (c *Config) Field(key string) (any, bool) {
	if c.raw == nil {
		return nil, false
	}
	v, ok := c.raw.Get(key)
	if !ok {
		return nil, false
	}
	b, err := (&ojson.Encoder{}).Marshal(v)
	if err != nil {
		return nil, false
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, false
	}
	return out, true
}
