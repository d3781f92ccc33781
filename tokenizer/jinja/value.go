package jinja

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/minimind-go/minimind/tokenizer/internal/ojson"
)

// Runtime values are Go values of these types: undefinedT (a missing
// variable or attribute), nil (none), bool, int64, float64, string, *list,
// *object, *namespace and *function.

// undefinedT is the type of undefined.
type undefinedT struct{}

var undefined = undefinedT{}

// list is a list or tuple.
type list struct {
	items []any
	tuple bool
}

// object is a dict with ordered keys.
type object struct {
	keys []string
	m    map[string]any
}

func newObject() *object { return &object{m: map[string]any{}} }

func (o *object) get(k string) (any, bool) {
	if o == nil {
		return nil, false
	}
	v, ok := o.m[k]
	return v, ok
}

func (o *object) set(k string, v any) {
	if _, ok := o.m[k]; !ok {
		o.keys = append(o.keys, k)
	}
	o.m[k] = v
}

// namespace is the mutable object that namespace() returns.
type namespace struct{ obj *object }

// function is a callable: a global, a macro or a bound method.
type function struct {
	name string
	call func(args []any, kwargs *object, env *env) (any, error)
}

// typeName names the type of v in error messages, as @huggingface/jinja does.
func typeName(v any) string {
	switch v.(type) {
	case undefinedT:
		return "UndefinedValue"
	case nil:
		return "NullValue"
	case bool:
		return "BooleanValue"
	case int64:
		return "IntegerValue"
	case float64:
		return "FloatValue"
	case string:
		return "StringValue"
	case *list:
		if v.(*list).tuple {
			return "TupleValue"
		}
		return "ArrayValue"
	case *object:
		return "ObjectValue"
	case *namespace:
		return "NamespaceValue"
	case *function:
		return "FunctionValue"
	}
	return fmt.Sprintf("%T", v)
}

// truthy is Jinja's truth value of v.
func truthy(v any) bool {
	switch x := v.(type) {
	case undefinedT, nil:
		return false
	case bool:
		return x
	case int64:
		return x != 0
	case float64:
		return x != 0 && !math.IsNaN(x)
	case string:
		return x != ""
	case *list:
		return len(x.items) > 0
	case *object:
		return len(x.keys) > 0
	}
	return true // namespaces and functions
}

// isNumber reports whether v is an integer or a float.
func isNumber(v any) bool {
	switch v.(type) {
	case int64, float64:
		return true
	}
	return false
}

func toFloat(v any) float64 {
	switch x := v.(type) {
	case int64:
		return float64(x)
	case float64:
		return x
	case bool:
		if x {
			return 1
		}
	}
	return 0
}

// jsNumber formats f as JavaScript's Number.prototype.toString does.
func jsNumber(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		return "0"
	}
	sign := ""
	if f < 0 {
		sign, f = "-", -f
	}
	e := strconv.FormatFloat(f, 'e', -1, 64) // d.ddde±XX
	mant, exp, _ := strings.Cut(e, "e")
	digits := strings.Replace(mant, ".", "", 1)
	x, _ := strconv.Atoi(exp)
	n := x + 1 // the decimal point sits after n digits
	k := len(digits)
	switch {
	case k <= n && n <= 21:
		return sign + digits + strings.Repeat("0", n-k)
	case 0 < n && n <= 21:
		return sign + digits[:n] + "." + digits[n:]
	case -6 < n && n <= 0:
		return sign + "0." + strings.Repeat("0", -n) + digits
	}
	s := digits[:1]
	if k > 1 {
		s += "." + digits[1:]
	}
	if n-1 >= 0 {
		return sign + s + "e+" + strconv.Itoa(n-1)
	}
	return sign + s + "e-" + strconv.Itoa(1-n)
}

// floatString is how a float prints in template output: integral values
// keep a ".0", as in Python.
func floatString(f float64) string {
	if f == 0 && math.Signbit(f) {
		return "-0.0"
	}
	if !math.IsInf(f, 0) && !math.IsNaN(f) && f == math.Trunc(f) && math.Abs(f) < 1e21 {
		return strconv.FormatFloat(f, 'f', 1, 64)
	}
	return jsNumber(f)
}

// outputString is the text of v in template output ({{ v }}); none and
// undefined print nothing.
func outputString(v any) (string, error) {
	switch x := v.(type) {
	case undefinedT, nil:
		return "", nil
	case string:
		return x, nil
	case bool:
		return strconv.FormatBool(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case float64:
		return floatString(x), nil
	case *list, *object, *namespace:
		return toJSON(v, jsonOptions{}, 0, false)
	case *function:
		return "", fmt.Errorf("cannot print function %s", x.name)
	}
	return "", fmt.Errorf("cannot print %T", v)
}

// jsString is JavaScript's String(value) of the underlying value, used by
// ~, string + and join: floats print without ".0", lists as their items
// joined by commas.
func jsString(v any) string {
	switch x := v.(type) {
	case undefinedT:
		return "undefined"
	case nil:
		return "null"
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return jsNumber(x)
	case *list:
		parts := make([]string, len(x.items))
		for i, it := range x.items {
			switch it.(type) {
			case undefinedT, nil:
			default:
				parts[i] = jsString(it)
			}
		}
		return strings.Join(parts, ",")
	case *object, *namespace:
		return "[object Map]"
	case *function:
		return "function"
	}
	return ""
}

// jsonOptions are the arguments of tojson.
type jsonOptions struct {
	indent      int // 0 for none
	ensureASCII bool
	sortKeys    bool
	itemSep     *string
	keySep      *string
}

// toJSON writes v as @huggingface/jinja's tojson does (Python's json.dumps
// layout with JavaScript's number and string formatting). undefNull says
// whether undefined is written as null (tojson) or as undefined (printing).
func toJSON(v any, o jsonOptions, depth int, undefNull bool) (string, error) {
	itemSep, keySep := ", ", ": "
	if o.indent > 0 {
		itemSep = ","
	}
	if o.itemSep != nil {
		itemSep, keySep = *o.itemSep, *o.keySep
	}
	switch x := v.(type) {
	case nil:
		return "null", nil
	case undefinedT:
		if undefNull {
			return "null", nil
		}
		return "undefined", nil
	case bool:
		return strconv.FormatBool(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return "null", nil
		}
		return jsNumber(x), nil
	case string:
		return jsonString(x, o.ensureASCII), nil
	case *object, *namespace:
	case *list:
		if x.tuple {
			return "", fmt.Errorf("cannot convert to JSON: %s", typeName(v))
		}
	default:
		return "", fmt.Errorf("cannot convert to JSON: %s", typeName(v))
	}
	pad := strings.Repeat(" ", o.indent)
	base := "\n" + strings.Repeat(pad, depth)
	child := base + pad
	var b strings.Builder
	if l, ok := v.(*list); ok {
		if len(l.items) == 0 {
			return "[]", nil
		}
		b.WriteByte('[')
		for i, it := range l.items {
			if i > 0 {
				b.WriteString(itemSep)
			}
			if o.indent > 0 {
				b.WriteString(child)
			}
			s, err := toJSON(it, o, depth+1, undefNull)
			if err != nil {
				return "", err
			}
			b.WriteString(s)
		}
		if o.indent > 0 {
			b.WriteString(base)
		}
		b.WriteByte(']')
		return b.String(), nil
	}
	obj, _ := v.(*object)
	if ns, ok := v.(*namespace); ok {
		obj = ns.obj
	}
	if len(obj.keys) == 0 {
		return "{}", nil
	}
	keys := obj.keys
	if o.sortKeys {
		keys = append([]string(nil), keys...)
		sort.Strings(keys)
	}
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteString(itemSep)
		}
		if o.indent > 0 {
			b.WriteString(child)
		}
		b.WriteString(jsonString(k, o.ensureASCII))
		b.WriteString(keySep)
		s, err := toJSON(obj.m[k], o, depth+1, undefNull)
		if err != nil {
			return "", err
		}
		b.WriteString(s)
	}
	if o.indent > 0 {
		b.WriteString(base)
	}
	b.WriteByte('}')
	return b.String(), nil
}

// jsonString is JSON.stringify of a string; with ascii, every UTF-16 unit
// from U+007F up is written as \uXXXX.
func jsonString(s string, ascii bool) string {
	const hex = "0123456789abcdef"
	b := []byte{'"'}
	for _, r := range s {
		switch {
		case r == '"':
			b = append(b, '\\', '"')
		case r == '\\':
			b = append(b, '\\', '\\')
		case r == '\b':
			b = append(b, '\\', 'b')
		case r == '\f':
			b = append(b, '\\', 'f')
		case r == '\n':
			b = append(b, '\\', 'n')
		case r == '\r':
			b = append(b, '\\', 'r')
		case r == '\t':
			b = append(b, '\\', 't')
		case r < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[r>>4], hex[r&15])
		case ascii && r >= 0x7f:
			for _, u := range utf16.Encode([]rune{r}) {
				b = append(b, '\\', 'u', hex[u>>12], hex[u>>8&15], hex[u>>4&15], hex[u&15])
			}
		default:
			b = utf8.AppendRune(b, r)
		}
	}
	return string(append(b, '"'))
}

// utf16Len is JavaScript's length of s.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// fromGo converts a Go value given to Render into a runtime value. Maps and
// json.RawMessage objects become dicts whose keys are ordered as
// JavaScript orders an object's keys: integer-like keys first in numeric
// order, then the others (in their written order for JSON, sorted for Go
// maps, which have no order).
func fromGo(v any) (any, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case undefinedT, bool, string, int64, *list, *object, *namespace, *function:
		return v, nil
	case int:
		return int64(x), nil
	case int8:
		return int64(x), nil
	case int16:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case uint:
		return int64(x), nil
	case uint8:
		return int64(x), nil
	case uint16:
		return int64(x), nil
	case uint32:
		return int64(x), nil
	case uint64:
		return int64(x), nil
	case float32:
		return numberValue(float64(x)), nil
	case float64:
		return numberValue(x), nil
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i, nil
		}
		f, err := x.Float64()
		if err != nil {
			return nil, fmt.Errorf("bad number %q", x)
		}
		return numberValue(f), nil
	case json.RawMessage:
		d, err := ojson.Decode(x)
		if err != nil {
			return nil, err
		}
		return fromGo(d)
	case *ojson.Object:
		o := newObject()
		for _, k := range jsKeyOrder(x.Keys()) {
			val, _ := x.Get(k)
			c, err := fromGo(val)
			if err != nil {
				return nil, err
			}
			o.set(k, c)
		}
		return o, nil
	case []any:
		l := &list{items: make([]any, len(x))}
		for i, it := range x {
			c, err := fromGo(it)
			if err != nil {
				return nil, err
			}
			l.items[i] = c
		}
		return l, nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		o := newObject()
		for _, k := range jsKeyOrder(keys) {
			c, err := fromGo(x[k])
			if err != nil {
				return nil, err
			}
			o.set(k, c)
		}
		return o, nil
	}
	// Other slices, maps and structs: through encoding/json.
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array, reflect.Map, reflect.Struct, reflect.Pointer:
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		return fromGo(json.RawMessage(b))
	}
	return nil, fmt.Errorf("cannot use a %T in a template", v)
}

// numberValue makes an integer of an integral float, as JavaScript values
// have no separate integer type.
func numberValue(f float64) any {
	if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return int64(f)
	}
	return f
}

// jsKeyOrder orders keys as JavaScript objects do: canonical array indices
// (0 .. 2^32-2 without leading zeros) first, ascending, then the rest in the
// given order.
func jsKeyOrder(keys []string) []string {
	var idx []string
	var rest []string
	for _, k := range keys {
		if isArrayIndex(k) {
			idx = append(idx, k)
		} else {
			rest = append(rest, k)
		}
	}
	if len(idx) == 0 {
		return keys
	}
	sort.Slice(idx, func(i, j int) bool {
		a, _ := strconv.ParseUint(idx[i], 10, 64)
		b, _ := strconv.ParseUint(idx[j], 10, 64)
		return a < b
	})
	return append(idx, rest...)
}

func isArrayIndex(k string) bool {
	if k == "" || len(k) > 10 || len(k) > 1 && k[0] == '0' {
		return false
	}
	n, err := strconv.ParseUint(k, 10, 64)
	return err == nil && n < 1<<32-1
}
