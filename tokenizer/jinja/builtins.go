package jinja

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// namespaceFunc is the global namespace(): a mutable object from a dict
// and/or keyword arguments.
var namespaceFunc = &function{name: "namespace", call: func(args []any, kw *object, _ *env) (any, error) {
	if len(args) > 1 {
		return nil, fmt.Errorf("namespace expected at most 1 argument, got %d", len(args))
	}
	ns := &namespace{obj: newObject()}
	if len(args) == 1 {
		switch src := args[0].(type) {
		case *object:
			for _, k := range src.keys {
				ns.obj.set(k, src.m[k])
			}
		case *list:
			for _, it := range src.items {
				pair, ok := it.(*list)
				if !ok || len(pair.items) != 2 {
					return nil, fmt.Errorf("namespace expected an object or an iterable of [key, value] pairs")
				}
				k, ok := pair.items[0].(string)
				if !ok {
					return nil, fmt.Errorf("namespace keys must be strings")
				}
				ns.obj.set(k, pair.items[1])
			}
		default:
			return nil, fmt.Errorf("'%s' object is not iterable", typeName(src))
		}
	}
	if kw != nil {
		for _, k := range kw.keys {
			ns.obj.set(k, kw.m[k])
		}
	}
	return ns, nil
}}

// globals returns the variables every template starts with.
func globals() map[string]any {
	return map[string]any{
		"true": true, "false": false, "none": nil,
		"True": true, "False": false, "None": nil,
		"namespace": namespaceFunc,
		"raise_exception": &function{name: "raise_exception", call: func(args []any, _ *object, _ *env) (any, error) {
			msg := ""
			if len(args) > 0 {
				msg = jsString(args[0])
			}
			return nil, &RenderError{Msg: "raise_exception: " + msg}
		}},
		"range": &function{name: "range", call: rangeFunc},
	}
}

// rangeFunc is Python's range().
func rangeFunc(args []any, _ *object, _ *env) (any, error) {
	var n [3]int64
	n[2] = 1
	for i, a := range args {
		if i > 2 {
			return nil, fmt.Errorf("range() takes at most 3 arguments")
		}
		v, ok := a.(int64)
		if !ok {
			return nil, fmt.Errorf("range() arguments must be integers, got %s", typeName(a))
		}
		n[i] = v
	}
	start, stop, step := n[0], n[1], n[2]
	switch len(args) {
	case 0:
		return nil, fmt.Errorf("range() needs an argument")
	case 1:
		start, stop = 0, n[0]
	}
	if step == 0 {
		return nil, fmt.Errorf("range() step must not be zero")
	}
	out := &list{}
	for i := start; step > 0 && i < stop || step < 0 && i > stop; i += step {
		if len(out.items) >= maxRange {
			return nil, fmt.Errorf("range() longer than %d", maxRange)
		}
		out.items = append(out.items, i)
	}
	return out, nil
}

// tests are the "is" tests.
var tests = map[string]func(v any) (bool, error){
	"boolean":  func(v any) (bool, error) { _, ok := v.(bool); return ok, nil },
	"callable": func(v any) (bool, error) { _, ok := v.(*function); return ok, nil },
	"odd": func(v any) (bool, error) {
		i, ok := v.(int64)
		if !ok {
			return false, fmt.Errorf("cannot odd on %s", typeName(v))
		}
		return i%2 != 0, nil
	},
	"even": func(v any) (bool, error) {
		i, ok := v.(int64)
		if !ok {
			return false, fmt.Errorf("cannot even on %s", typeName(v))
		}
		return i%2 == 0, nil
	},
	"false":    func(v any) (bool, error) { b, ok := v.(bool); return ok && !b, nil },
	"true":     func(v any) (bool, error) { b, ok := v.(bool); return ok && b, nil },
	"none":     func(v any) (bool, error) { return v == nil, nil },
	"string":   func(v any) (bool, error) { _, ok := v.(string); return ok, nil },
	"number":   func(v any) (bool, error) { return isNumber(v), nil },
	"integer":  func(v any) (bool, error) { _, ok := v.(int64); return ok, nil },
	"iterable": func(v any) (bool, error) { _, l := v.(*list); _, s := v.(string); return l || s, nil },
	"mapping":  func(v any) (bool, error) { _, ok := v.(*object); return ok, nil },
	"sequence": func(v any) (bool, error) {
		_, l := v.(*list)
		_, o := v.(*object)
		_, s := v.(string)
		return l || o || s, nil
	},
	"lower":     func(v any) (bool, error) { s, ok := v.(string); return ok && s == strings.ToLower(s), nil },
	"upper":     func(v any) (bool, error) { s, ok := v.(string); return ok && s == strings.ToUpper(s), nil },
	"defined":   func(v any) (bool, error) { _, u := v.(undefinedT); return !u, nil },
	"undefined": func(v any) (bool, error) { _, u := v.(undefinedT); return u, nil },
	// equalto/eq get no argument in this syntax, so they compare with undefined.
	"equalto": func(v any) (bool, error) { _, u := v.(undefinedT); return u, nil },
	"eq":      func(v any) (bool, error) { _, u := v.(undefinedT); return u, nil },
}

// utf16Units returns s as UTF-16 code units, as JavaScript indexes strings.
func utf16Units(s string) []uint16 { return utf16.Encode([]rune(s)) }

// unitsString converts UTF-16 units back to a string (a lone surrogate
// becomes U+FFFD).
func unitsString(u []uint16) string { return string(utf16.Decode(u)) }

// jsTrim and friends trim JavaScript whitespace.
func jsTrim(s string) string      { return strings.TrimFunc(s, isJSSpace) }
func jsTrimStart(s string) string { return strings.TrimLeftFunc(s, isJSSpace) }
func jsTrimEnd(s string) string   { return strings.TrimRightFunc(s, isJSSpace) }

func isASCIIWord(c byte) bool { return isWordByte(c) }

// titleCase upper-cases every ASCII word character that starts a word
// (JavaScript's /\b\w/g), leaving the rest as it is.
func titleCase(s string) string {
	b := []byte(s)
	for i := range b {
		if isASCIIWord(b[i]) && (i == 0 || !isASCIIWord(b[i-1])) && b[i] >= 'a' && b[i] <= 'z' {
			b[i] -= 'a' - 'A'
		}
	}
	return string(b)
}

// capitalize upper-cases the first UTF-16 unit, leaving the rest.
func capitalize(s string) string {
	if s == "" {
		return s
	}
	r, size := utf8.DecodeRuneInString(s)
	return strings.ToUpper(string(r)) + s[size:]
}

func method(name string, f func(args []any, kw *object) (any, error)) *function {
	return &function{name: name, call: func(args []any, kw *object, _ *env) (any, error) { return f(args, kw) }}
}

// stringMethod returns the bound method name of s, or nil.
func stringMethod(s, name string) *function {
	switch name {
	case "upper":
		return method(name, func([]any, *object) (any, error) { return strings.ToUpper(s), nil })
	case "lower":
		return method(name, func([]any, *object) (any, error) { return strings.ToLower(s), nil })
	case "strip":
		return method(name, func([]any, *object) (any, error) { return jsTrim(s), nil })
	case "lstrip":
		return method(name, func([]any, *object) (any, error) { return jsTrimStart(s), nil })
	case "rstrip":
		return method(name, func([]any, *object) (any, error) { return jsTrimEnd(s), nil })
	case "title":
		return method(name, func([]any, *object) (any, error) { return titleCase(s), nil })
	case "capitalize":
		return method(name, func([]any, *object) (any, error) { return capitalize(s), nil })
	case "startswith", "endswith":
		test := strings.HasPrefix
		if name == "endswith" {
			test = strings.HasSuffix
		}
		return method(name, func(args []any, _ *object) (any, error) {
			if len(args) == 0 {
				return nil, fmt.Errorf("%s() requires at least one argument", name)
			}
			switch p := args[0].(type) {
			case string:
				return test(s, p), nil
			case *list:
				for _, it := range p.items {
					ps, ok := it.(string)
					if !ok {
						return nil, fmt.Errorf("%s() tuple elements must be strings", name)
					}
					if test(s, ps) {
						return true, nil
					}
				}
				return false, nil
			}
			return nil, fmt.Errorf("%s() argument must be a string or tuple of strings", name)
		})
	case "split":
		return method(name, func(args []any, _ *object) (any, error) { return splitString(s, args) })
	case "replace":
		return method(name, func(args []any, kw *object) (any, error) { return replaceString(s, args, kw) })
	}
	return nil
}

// splitString is Python's str.split(sep=None, maxsplit=-1).
func splitString(s string, args []any) (any, error) {
	var sep any
	if len(args) > 0 {
		sep = args[0]
	}
	maxSplit := int64(-1)
	if len(args) > 1 {
		m, ok := args[1].(int64)
		if !ok {
			return nil, fmt.Errorf("maxsplit argument must be a number")
		}
		maxSplit = m
	}
	var parts []string
	switch p := sep.(type) {
	case nil:
		text := jsTrimStart(s)
		for text != "" {
			end := strings.IndexFunc(text, isJSSpace)
			if maxSplit != -1 && int64(len(parts)) >= maxSplit {
				parts = append(parts, text)
				break
			}
			if end < 0 {
				parts = append(parts, text)
				break
			}
			parts = append(parts, text[:end])
			text = jsTrimStart(text[end:])
		}
	case string:
		if p == "" {
			return nil, fmt.Errorf("empty separator")
		}
		parts = strings.Split(s, p)
		if maxSplit != -1 && int64(len(parts)) > maxSplit {
			head := parts[:maxSplit]
			parts = append(append([]string{}, head...), strings.Join(parts[maxSplit:], p))
		}
	default:
		return nil, fmt.Errorf("sep argument must be a string or null")
	}
	out := &list{items: make([]any, len(parts))}
	for i, x := range parts {
		out.items[i] = x
	}
	return out, nil
}

// replaceString is Python's str.replace(old, new, count).
func replaceString(s string, args []any, kw *object) (any, error) {
	if len(args) < 2 {
		return nil, fmt.Errorf("replace() requires at least two arguments")
	}
	old, ok1 := args[0].(string)
	repl, ok2 := args[1].(string)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("replace() arguments must be strings")
	}
	var count any
	if len(args) > 2 {
		count = args[2]
	} else if kw != nil {
		count, _ = kw.get("count")
	}
	n := -1
	switch c := count.(type) {
	case nil, undefinedT:
	case int64:
		if c >= 0 {
			n = int(c)
		}
	default:
		return nil, fmt.Errorf("replace() count argument must be a number or null")
	}
	return strings.Replace(s, old, repl, n), nil
}

// objectMethod returns the bound method name of a dict, or nil.
func objectMethod(o *object, name string) *function {
	switch name {
	case "get":
		return method(name, func(args []any, _ *object) (any, error) {
			if len(args) == 0 {
				return nil, fmt.Errorf("get() requires a key")
			}
			k, ok := args[0].(string)
			if !ok {
				return nil, fmt.Errorf("object key must be a string: got %s", typeName(args[0]))
			}
			if v, ok := o.get(k); ok {
				return v, nil
			}
			if len(args) > 1 {
				return args[1], nil
			}
			return nil, nil
		})
	case "items":
		return method(name, func([]any, *object) (any, error) { return items(o), nil })
	case "keys":
		return method(name, func([]any, *object) (any, error) {
			out := &list{}
			for _, k := range o.keys {
				out.items = append(out.items, k)
			}
			return out, nil
		})
	case "values":
		return method(name, func([]any, *object) (any, error) {
			out := &list{}
			for _, k := range o.keys {
				out.items = append(out.items, o.m[k])
			}
			return out, nil
		})
	case "dictsort":
		return method(name, func(args []any, kw *object) (any, error) { return dictsort(o, args, kw) })
	}
	return nil
}

// items returns the [key, value] pairs of o.
func items(o *object) *list {
	out := &list{}
	for _, k := range o.keys {
		out.items = append(out.items, &list{items: []any{k, o.m[k]}})
	}
	return out
}

// argOr returns the i-th positional argument, else the keyword, else def.
func argOr(args []any, i int, kw *object, name string, def any) any {
	if i < len(args) {
		return args[i]
	}
	if kw != nil {
		if v, ok := kw.get(name); ok {
			return v
		}
	}
	return def
}

func dictsort(o *object, args []any, kw *object) (any, error) {
	cs, ok := argOr(args, 0, kw, "case_sensitive", false).(bool)
	if !ok {
		return nil, fmt.Errorf("case_sensitive must be a boolean")
	}
	by, ok := argOr(args, 1, kw, "by", "key").(string)
	if !ok || by != "key" && by != "value" {
		return nil, fmt.Errorf("by must be either 'key' or 'value'")
	}
	rev, ok := argOr(args, 2, kw, "reverse", false).(bool)
	if !ok {
		return nil, fmt.Errorf("reverse must be a boolean")
	}
	l := items(o)
	idx := 0
	if by == "value" {
		idx = 1
	}
	var err error
	sort.SliceStable(l.items, func(i, j int) bool {
		c, e := compare(l.items[i].(*list).items[idx], l.items[j].(*list).items[idx], cs)
		if e != nil {
			err = e
		}
		if rev {
			return c > 0
		}
		return c < 0
	})
	return l, err
}

// compare orders two values for sorting: numbers (and booleans) by value,
// strings by text (lower-cased unless caseSensitive).
func compare(a, b any, caseSensitive bool) (int, error) {
	if a == nil && b == nil {
		return 0, nil
	}
	if a == nil || b == nil {
		return 0, fmt.Errorf("cannot compare %s with %s", typeName(a), typeName(b))
	}
	_, au := a.(undefinedT)
	_, bu := b.(undefinedT)
	if au && bu {
		return 0, nil
	}
	if au || bu {
		return 0, fmt.Errorf("cannot compare %s with %s", typeName(a), typeName(b))
	}
	if isNumericLike(a) && isNumericLike(b) {
		x, y := toFloat(a), toFloat(b)
		switch {
		case x < y:
			return -1, nil
		case x > y:
			return 1, nil
		}
		return 0, nil
	}
	as, ok1 := a.(string)
	bs, ok2 := b.(string)
	if !ok1 || !ok2 {
		return 0, fmt.Errorf("cannot compare %s with %s", typeName(a), typeName(b))
	}
	if !caseSensitive {
		as, bs = strings.ToLower(as), strings.ToLower(bs)
	}
	return strings.Compare(as, bs), nil
}

// attribute follows a dotted path ("a.b", "items.0") into v.
func attribute(v any, path string) any {
	for _, part := range strings.Split(path, ".") {
		switch x := v.(type) {
		case *object:
			val, ok := x.get(part)
			if !ok {
				return undefined
			}
			v = val
		case *namespace:
			val, ok := x.obj.get(part)
			if !ok {
				return undefined
			}
			v = val
		case *list:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(x.items) {
				return undefined
			}
			v = x.items[i]
		default:
			return undefined
		}
	}
	return v
}

// applyFilter applies the filter f (with its arguments) to v.
func (in *interp) applyFilter(v any, f *filterNode, e *env) (any, error) {
	r, err := in.filter(v, f, e)
	if err != nil {
		var re *RenderError
		if !asRenderError(err, &re) {
			err = errAt(f.line, "filter %s: %v", f.name, err)
		}
	}
	return r, err
}

func asRenderError(err error, re **RenderError) bool {
	r, ok := err.(*RenderError)
	if ok {
		*re = r
	}
	return ok
}

func (in *interp) filter(v any, f *filterNode, e *env) (any, error) {
	name := f.name
	if !f.called {
		switch name {
		case "safe":
			return v, nil
		case "tojson":
			return toJSON(v, jsonOptions{}, 0, true)
		}
		switch x := v.(type) {
		case *list:
			switch name {
			case "list":
				return x, nil
			case "first":
				if len(x.items) == 0 {
					return undefined, nil
				}
				return x.items[0], nil
			case "last":
				if len(x.items) == 0 {
					return undefined, nil
				}
				return x.items[len(x.items)-1], nil
			case "length":
				return int64(len(x.items)), nil
			case "reverse":
				out := &list{items: make([]any, len(x.items))}
				for i, it := range x.items {
					out.items[len(x.items)-1-i] = it
				}
				return out, nil
			case "sort":
				return sortList(x, false, false, "")
			case "join":
				return joinList(x, ""), nil
			case "string":
				return toJSON(x, jsonOptions{}, 0, false)
			case "unique":
				out := &list{}
				for _, it := range x.items {
					dup := false
					for _, o := range out.items {
						if strictEqual(o, it) {
							dup = true
							break
						}
					}
					if !dup {
						out.items = append(out.items, it)
					}
				}
				return out, nil
			}
		case string:
			switch name {
			case "length":
				return int64(utf16Len(x)), nil
			case "upper":
				return strings.ToUpper(x), nil
			case "lower":
				return strings.ToLower(x), nil
			case "title":
				return titleCase(x), nil
			case "capitalize":
				return capitalize(x), nil
			case "trim":
				return jsTrim(x), nil
			case "indent":
				return indent(x, "    ", false, false), nil
			case "join", "string":
				return x, nil
			case "int":
				return parseIntPrefix(x), nil
			case "float":
				f, ok := parseFloatPrefix(x)
				if !ok {
					return 0.0, nil
				}
				return f, nil
			}
		case int64, float64:
			switch name {
			case "abs":
				if i, ok := x.(int64); ok {
					if i < 0 {
						return -i, nil
					}
					return i, nil
				}
				return math.Abs(x.(float64)), nil
			case "int":
				if i, ok := x.(int64); ok {
					return i, nil
				}
				return int64(math.Floor(x.(float64))), nil
			case "float":
				return toFloat(x), nil
			case "string":
				return outputString(x)
			}
		case *object:
			switch name {
			case "items":
				return items(x), nil
			case "length":
				return int64(len(x.keys)), nil
			}
			if m := objectMethod(x, name); m != nil {
				return m.call(nil, nil, e)
			}
		case bool:
			switch name {
			case "bool":
				return x, nil
			case "int":
				if x {
					return int64(1), nil
				}
				return int64(0), nil
			case "float":
				if x {
					return 1.0, nil
				}
				return 0.0, nil
			case "string":
				return strconv.FormatBool(x), nil
			}
		}
		return nil, fmt.Errorf("cannot apply filter %q to type %s", name, typeName(v))
	}
	args, kw, err := in.evalArgs(f.args, e)
	if err != nil {
		return nil, err
	}
	switch name {
	case "tojson":
		o := jsonOptions{}
		if ind := argOr(nil, 0, kw, "indent", nil); ind != nil {
			n, ok := ind.(int64)
			if !ok {
				return nil, fmt.Errorf("if set, indent must be a number")
			}
			o.indent = int(n)
		}
		if a, ok := argOr(nil, 0, kw, "ensure_ascii", false).(bool); ok {
			o.ensureASCII = a
		} else {
			return nil, fmt.Errorf("if set, ensure_ascii must be a boolean")
		}
		if s, ok := argOr(nil, 0, kw, "sort_keys", false).(bool); ok {
			o.sortKeys = s
		} else {
			return nil, fmt.Errorf("if set, sort_keys must be a boolean")
		}
		if sep := argOr(nil, 0, kw, "separators", nil); sep != nil {
			l, ok := sep.(*list)
			if !ok || len(l.items) != 2 {
				return nil, fmt.Errorf("separators must be a tuple of two strings")
			}
			a, ok1 := l.items[0].(string)
			b, ok2 := l.items[1].(string)
			if !ok1 || !ok2 {
				return nil, fmt.Errorf("separators must be a tuple of two strings")
			}
			o.itemSep, o.keySep = &a, &b
		}
		return toJSON(v, o, 0, true)
	case "join":
		sep, ok := argOr(args, 0, kw, "separator", "").(string)
		if !ok {
			return nil, fmt.Errorf("separator must be a string")
		}
		switch x := v.(type) {
		case string:
			return strings.Join(strings.Split(x, ""), sep), nil
		case *list:
			return joinList(x, sep), nil
		}
		return nil, fmt.Errorf("cannot apply filter \"join\" to type %s", typeName(v))
	case "int", "float":
		var def any = int64(0)
		if name == "float" {
			def = 0.0
		}
		def = argOr(args, 0, kw, "default", def)
		switch x := v.(type) {
		case string:
			if name == "int" {
				if _, ok := parseFloatPrefix(x); !ok {
					return def, nil
				}
				return parseIntPrefix(x), nil
			}
			f, ok := parseFloatPrefix(x)
			if !ok {
				return def, nil
			}
			return f, nil
		case int64, float64:
			return x, nil
		case bool:
			if name == "int" {
				if x {
					return int64(1), nil
				}
				return int64(0), nil
			}
			return toFloat(x), nil
		}
		return nil, fmt.Errorf("cannot apply filter %q to type %s", name, typeName(v))
	case "default":
		var def any = ""
		if len(args) > 0 {
			def = args[0]
		}
		boolean, ok := argOr(args, 1, kw, "boolean", false).(bool)
		if !ok {
			return nil, fmt.Errorf("`default` filter flag must be a boolean")
		}
		if _, u := v.(undefinedT); u || boolean && !truthy(v) {
			return def, nil
		}
		return v, nil
	}
	switch x := v.(type) {
	case *list:
		switch name {
		case "sort":
			rev, ok := argOr(args, 0, kw, "reverse", false).(bool)
			if !ok {
				return nil, fmt.Errorf("reverse must be a boolean")
			}
			cs, ok := argOr(args, 1, kw, "case_sensitive", false).(bool)
			if !ok {
				return nil, fmt.Errorf("case_sensitive must be a boolean")
			}
			attr := ""
			switch a := argOr(args, 2, kw, "attribute", nil).(type) {
			case nil:
			case string:
				attr = a
			case int64:
				attr = strconv.FormatInt(a, 10)
			default:
				return nil, fmt.Errorf("attribute must be a string, integer, or null")
			}
			return sortList(x, rev, cs, attr)
		case "selectattr", "rejectattr":
			var names []string
			for _, a := range args {
				s, ok := a.(string)
				if !ok {
					return nil, fmt.Errorf("arguments of %s must be strings", name)
				}
				names = append(names, s)
			}
			if len(names) == 0 {
				return nil, fmt.Errorf("%s needs an attribute", name)
			}
			test := func(v any) (bool, error) { return truthy(v), nil }
			if len(names) > 1 {
				t, ok := tests[names[1]]
				if !ok {
					return nil, fmt.Errorf("unknown test %q", names[1])
				}
				test = t
			}
			out := &list{}
			for _, it := range x.items {
				var a any = undefined
				switch o := it.(type) {
				case *object:
					if val, ok := o.get(names[0]); ok {
						a = val
					}
				case *namespace:
					if val, ok := o.obj.get(names[0]); ok {
						a = val
					}
				default:
					return nil, fmt.Errorf("%s can only be applied to array of objects", name)
				}
				res := false
				if truthy(a) {
					r, err := test(a)
					if err != nil {
						return nil, err
					}
					res = r
				}
				if res == (name == "selectattr") {
					out.items = append(out.items, it)
				}
			}
			return out, nil
		case "map":
			a, ok := argOr(nil, 0, kw, "attribute", nil).(string)
			if !ok {
				return nil, fmt.Errorf("`map` expressions without `attribute` set are not supported")
			}
			def := argOr(nil, 0, kw, "default", undefined)
			out := &list{}
			for _, it := range x.items {
				switch it.(type) {
				case *object, *namespace:
				default:
					return nil, fmt.Errorf("items in map must be an object")
				}
				val := attribute(it, a)
				if _, u := val.(undefinedT); u {
					val = def
				}
				out.items = append(out.items, val)
			}
			return out, nil
		}
	case string:
		switch name {
		case "indent":
			width := argOr(args, 0, kw, "width", int64(4))
			w, ok := width.(int64)
			if !ok {
				return nil, fmt.Errorf("width must be a number")
			}
			first := truthy(argOr(args, 1, kw, "first", false))
			blank := truthy(argOr(args, 2, kw, "blank", false))
			return indent(x, strings.Repeat(" ", int(max(w, 0))), first, blank), nil
		case "replace":
			return replaceString(x, args, kw)
		}
	case *object:
		if m := objectMethod(x, name); m != nil {
			return m.call(args, kw, e)
		}
	}
	return nil, fmt.Errorf("cannot apply filter %q to type %s", name, typeName(v))
}

// joinList joins the items' JavaScript strings (none and undefined as "").
func joinList(l *list, sep string) string {
	parts := make([]string, len(l.items))
	for i, it := range l.items {
		switch it.(type) {
		case nil, undefinedT:
		default:
			parts[i] = jsString(it)
		}
	}
	return strings.Join(parts, sep)
}

func sortList(l *list, rev, caseSensitive bool, attr string) (any, error) {
	out := &list{items: append([]any{}, l.items...)}
	key := func(v any) any {
		if attr == "" {
			return v
		}
		return attribute(v, attr)
	}
	var err error
	sort.SliceStable(out.items, func(i, j int) bool {
		c, e := compare(key(out.items[i]), key(out.items[j]), caseSensitive)
		if e != nil {
			err = e
		}
		if rev {
			return c > 0
		}
		return c < 0
	})
	return out, err
}

// indent indents every line but the first (unless first) and blank lines
// (unless blank).
func indent(s, pad string, first, blank bool) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if (i == 0 && !first) || (l == "" && !blank) {
			continue
		}
		lines[i] = pad + l
	}
	return strings.Join(lines, "\n")
}

// parseIntPrefix is JavaScript's parseInt(s, 10), 0 when there are no digits.
func parseIntPrefix(s string) int64 {
	s = jsTrimStart(s)
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	j := i
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	if j == i {
		return 0
	}
	n, err := strconv.ParseInt(s[:j], 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// parseFloatPrefix is JavaScript's parseFloat(s); ok is false for NaN.
func parseFloatPrefix(s string) (float64, bool) {
	s = jsTrimStart(s)
	for _, inf := range []string{"Infinity", "+Infinity", "-Infinity"} {
		if strings.HasPrefix(s, inf) {
			if inf[0] == '-' {
				return math.Inf(-1), true
			}
			return math.Inf(1), true
		}
	}
	best, ok := 0.0, false
	for j := len(s); j > 0; j-- {
		prefix := s[:j]
		if strings.Trim(prefix, "0123456789.eE+-") != "" {
			continue
		}
		if f, err := strconv.ParseFloat(prefix, 64); err == nil {
			best, ok = f, true
			break
		}
	}
	return best, ok
}
