package ojson

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"order", `{"b": 1, "a": [true, null, "x"], "c": {}}`, "{\n  \"b\": 1,\n  \"a\": [\n    true,\n    null,\n    \"x\"\n  ],\n  \"c\": {}\n}"},
		{"numbers keep their text", `[1.0, 1e30, -0, 12345678901234567890]`, "[\n  1.0,\n  1e30,\n  -0,\n  12345678901234567890\n]"},
		{"escapes", `"tab\t nl\n quote\" back\\ ctl\u0001 中文 <>&"`, `"tab\t nl\n quote\" back\\ ctl\u0001 中文 <>&"`},
		{"empty", `[]`, `[]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := Decode([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			out, err := (&Encoder{Indent: "  "}).Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tt.want {
				t.Errorf("got %s, want %s", out, tt.want)
			}
			if !json.Valid(out) {
				t.Errorf("output is not valid JSON: %s", out)
			}
		})
	}
}

func TestObject(t *testing.T) {
	o := NewObject()
	o.Set("x", 1)
	o.Set("y", 2)
	o.Set("x", 3)
	o.Delete("y")
	o.Delete("missing")
	if got := strings.Join(o.Keys(), ","); got != "x" || o.Len() != 1 {
		t.Errorf("keys %q", got)
	}
	if v, ok := o.Get("x"); !ok || v != 3 {
		t.Errorf("x = %v", v)
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, in := range []string{``, `{`, `[1,]`, `{"a" 1}`, `1 2`, strings.Repeat("[", 2000) + strings.Repeat("]", 2000)} {
		if _, err := Decode([]byte(in)); err == nil {
			t.Errorf("Decode(%.20q) succeeded", in)
		}
	}
}
