package jinja

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// env is a scope of variables.
type env struct {
	vars   map[string]any
	parent *env
}

func newEnv(parent *env) *env { return &env{vars: map[string]any{}, parent: parent} }

// lookup returns the variable name from the nearest scope, or undefined.
func (e *env) lookup(name string) any {
	for s := e; s != nil; s = s.parent {
		if v, ok := s.vars[name]; ok {
			return v
		}
	}
	if name == "namespace" {
		return namespaceFunc
	}
	return undefined
}

func (e *env) set(name string, v any) { e.vars[name] = v }

// Control flow of break and continue.
var (
	errBreak    = errors.New("break outside a loop")
	errContinue = errors.New("continue outside a loop")
)

// RenderError is an error while rendering, with the template line where it
// happened when known.
type RenderError struct {
	Line int    // 1-based line of the preprocessed template, 0 when unknown
	Msg  string // what went wrong
}

// Error returns the message with its line.
func (e *RenderError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("jinja: line %d: %s", e.Line, e.Msg)
	}
	return "jinja: " + e.Msg
}

// Limits that keep a hostile template from running away.
const (
	maxDepth  = 200      // nested macro calls and blocks
	maxOutput = 64 << 20 // bytes of output
	maxRange  = 1 << 20  // items of range()
	maxSteps  = 10 << 20 // nodes evaluated in one render
)

// interp evaluates a parsed template.
type interp struct {
	depth int // nesting of blocks and calls
	steps int // nodes evaluated so far
}

func errAt(line int, format string, args ...any) error {
	return &RenderError{Line: line, Msg: fmt.Sprintf(format, args...)}
}

func plainErr(format string, args ...any) error {
	return &RenderError{Msg: fmt.Sprintf(format, args...)}
}

// block renders statements into one string.
func (in *interp) block(nodes []node, e *env) (string, error) {
	in.depth++
	defer func() { in.depth-- }()
	if in.depth > maxDepth {
		return "", plainErr("nesting deeper than %d", maxDepth)
	}
	var b strings.Builder
	for _, n := range nodes {
		v, err := in.eval(n, e)
		if err != nil {
			return "", err
		}
		s, err := outputString(v)
		if err != nil {
			return "", err
		}
		b.WriteString(s)
		if b.Len() > maxOutput {
			return "", plainErr("output larger than %d bytes", maxOutput)
		}
	}
	return b.String(), nil
}

// eval evaluates a statement or an expression.
func (in *interp) eval(n node, e *env) (any, error) {
	if in.steps++; in.steps > maxSteps {
		return nil, plainErr("template runs longer than %d steps", maxSteps)
	}
	switch x := n.(type) {
	case nil:
		return undefined, nil
	case *textNode:
		return x.text, nil
	case *commentNode:
		return nil, nil
	case *intLit:
		return x.v, nil
	case *floatLit:
		return x.v, nil
	case *strLit:
		return x.v, nil
	case *identNode:
		return e.lookup(x.name), nil
	case *listNode, *tupleNode:
		var items []node
		if l, ok := x.(*listNode); ok {
			items = l.items
		} else {
			items = x.(*tupleNode).items
		}
		out := &list{items: make([]any, len(items))}
		_, out.tuple = x.(*tupleNode)
		for i, it := range items {
			v, err := in.eval(it, e)
			if err != nil {
				return nil, err
			}
			out.items[i] = v
		}
		return out, nil
	case *dictNode:
		o := newObject()
		for i, k := range x.keys {
			kv, err := in.eval(k, e)
			if err != nil {
				return nil, err
			}
			ks, ok := kv.(string)
			if !ok {
				return nil, plainErr("object keys must be strings: got %s", typeName(kv))
			}
			v, err := in.eval(x.vals[i], e)
			if err != nil {
				return nil, err
			}
			o.set(ks, v)
		}
		return o, nil
	case *ifNode:
		t, err := in.eval(x.test, e)
		if err != nil {
			return nil, err
		}
		if truthy(t) {
			return in.block(x.body, e)
		}
		return in.block(x.else_, e)
	case *forNode:
		return in.evalFor(x, e)
	case *setNode:
		return nil, in.evalSet(x, e)
	case *macroNode:
		e.set(x.name, in.macro(x))
		return nil, nil
	case *filterBlockNode:
		s, err := in.block(x.body, e)
		if err != nil {
			return nil, err
		}
		f := x.filter.(*filterNode)
		return in.applyFilter(s, f, e)
	case *breakNode:
		return nil, errBreak
	case *continueNode:
		return nil, errContinue
	case *memberNode:
		return in.evalMember(x, e)
	case *callNode:
		return in.evalCall(x, e)
	case *unaryNode:
		v, err := in.eval(x.x, e)
		if err != nil {
			return nil, err
		}
		switch x.op {
		case "not":
			return !truthy(v), nil
		case "-", "+":
			sign := int64(1)
			if x.op == "-" {
				sign = -1
			}
			switch t := v.(type) {
			case int64:
				return sign * t, nil
			case float64:
				return float64(sign) * t, nil
			case bool:
				if t {
					return sign, nil
				}
				return int64(0), nil
			}
			return nil, plainErr("unknown operator %q for %s", x.op, typeName(v))
		}
	case *binaryNode:
		return in.evalBinary(x, e)
	case *filterNode:
		v, err := in.eval(x.x, e)
		if err != nil {
			return nil, err
		}
		return in.applyFilter(v, x, e)
	case *testNode:
		v, err := in.eval(x.x, e)
		if err != nil {
			return nil, err
		}
		test, ok := tests[x.name]
		if !ok {
			return nil, errAt(x.line, "unknown test %q", x.name)
		}
		r, err := test(v)
		if err != nil {
			return nil, errAt(x.line, "%v", err)
		}
		return r != x.negate, nil
	case *ternaryNode:
		c, err := in.eval(x.cond, e)
		if err != nil {
			return nil, err
		}
		if truthy(c) {
			return in.eval(x.yes, e)
		}
		return in.eval(x.no, e)
	case *selectNode:
		c, err := in.eval(x.cond, e)
		if err != nil {
			return nil, err
		}
		if !truthy(c) {
			return undefined, nil
		}
		return in.eval(x.x, e)
	case *sliceNode:
		return nil, plainErr("a slice must follow a value")
	}
	return nil, plainErr("cannot evaluate %T", n)
}

func (in *interp) evalFor(x *forNode, e *env) (any, error) {
	scope := newEnv(e)
	it, err := in.eval(x.iter, scope)
	if err != nil {
		return nil, err
	}
	var items []any
	switch t := it.(type) {
	case *list:
		items = t.items
	case *object:
		for _, k := range t.keys {
			items = append(items, k)
		}
	default:
		return nil, plainErr("expected iterable or object type in for loop: got %s", typeName(it))
	}
	bind := func(s *env, cur any) error {
		switch tv := x.target.(type) {
		case *identNode:
			s.set(tv.name, cur)
		case *tupleNode:
			l, ok := cur.(*list)
			if !ok {
				return plainErr("cannot unpack non-iterable type: %s", typeName(cur))
			}
			if len(l.items) != len(tv.items) {
				if len(tv.items) > len(l.items) {
					return plainErr("too few items to unpack")
				}
				return plainErr("too many items to unpack")
			}
			for j, t := range tv.items {
				id, ok := t.(*identNode)
				if !ok {
					return plainErr("cannot unpack to a non-identifier")
				}
				s.set(id.name, l.items[j])
			}
		}
		return nil
	}
	if x.cond != nil {
		var kept []any
		for _, cur := range items {
			ls := newEnv(scope)
			if err := bind(ls, cur); err != nil {
				return nil, err
			}
			c, err := in.eval(x.cond, ls)
			if err != nil {
				return nil, err
			}
			if truthy(c) {
				kept = append(kept, cur)
			}
		}
		items = kept
	}
	var b strings.Builder
	none := true
	for i, cur := range items {
		loop := newObject()
		n := int64(len(items))
		loop.set("index", int64(i+1))
		loop.set("index0", int64(i))
		loop.set("revindex", n-int64(i))
		loop.set("revindex0", n-int64(i)-1)
		loop.set("first", i == 0)
		loop.set("last", i == len(items)-1)
		loop.set("length", n)
		if i > 0 {
			loop.set("previtem", items[i-1])
		} else {
			loop.set("previtem", undefined)
		}
		if i < len(items)-1 {
			loop.set("nextitem", items[i+1])
		} else {
			loop.set("nextitem", undefined)
		}
		scope.set("loop", loop)
		if err := bind(scope, cur); err != nil {
			return nil, err
		}
		s, err := in.block(x.body, scope)
		if errors.Is(err, errContinue) {
			continue
		}
		if errors.Is(err, errBreak) {
			break
		}
		if err != nil {
			return nil, err
		}
		b.WriteString(s)
		none = false
	}
	if none {
		s, err := in.block(x.else_, scope)
		if err != nil {
			return nil, err
		}
		b.WriteString(s)
	}
	return b.String(), nil
}

func (in *interp) evalSet(x *setNode, e *env) error {
	var rhs any
	var err error
	if x.value != nil {
		rhs, err = in.eval(x.value, e)
	} else {
		rhs, err = in.block(x.body, e)
	}
	if err != nil {
		return err
	}
	switch t := x.target.(type) {
	case *identNode:
		e.set(t.name, rhs)
	case *tupleNode:
		l, ok := rhs.(*list)
		if !ok {
			return plainErr("cannot unpack non-iterable type in set: %s", typeName(rhs))
		}
		if len(l.items) != len(t.items) {
			return plainErr("wrong number of items to unpack in set")
		}
		for i, it := range t.items {
			id, ok := it.(*identNode)
			if !ok {
				return plainErr("cannot unpack to a non-identifier in set")
			}
			e.set(id.name, l.items[i])
		}
	case *memberNode:
		obj, err := in.eval(t.obj, e)
		if err != nil {
			return err
		}
		ns, ok := obj.(*namespace)
		if !ok {
			return errAt(t.line, "cannot assign attribute on non-namespace object")
		}
		name, ok := t.prop.(*strLit)
		if t.computed || !ok {
			return errAt(t.line, "cannot assign to member with non-identifier property")
		}
		ns.obj.set(name.v, rhs)
	default:
		return plainErr("invalid left side of set")
	}
	return nil
}

// macro makes the function of a macro definition. Like @huggingface/jinja,
// the body sees the variables of the place it is called from.
func (in *interp) macro(m *macroNode) *function {
	return &function{name: m.name, call: func(args []any, kwargs *object, caller *env) (any, error) {
		scope := newEnv(caller)
		var pending []param
		for i, p := range m.params {
			var v any = undefined
			if i < len(args) {
				v = args[i]
			} else if kv, ok := kwargs.get(p.name); kwargs != nil && ok {
				v = kv
				delete(kwargs.m, p.name)
			} else if p.def != nil {
				pending = append(pending, p)
			}
			scope.set(p.name, v)
		}
		extra := &list{}
		if len(args) > len(m.params) {
			extra.items = args[len(m.params):]
		}
		scope.set("varargs", extra)
		rest := newObject()
		if kwargs != nil {
			for _, k := range kwargs.keys {
				if v, ok := kwargs.m[k]; ok {
					rest.set(k, v)
				}
			}
		}
		scope.set("kwargs", rest)
		for _, p := range pending {
			v, err := in.eval(p.def, scope)
			if err != nil {
				return nil, err
			}
			scope.set(p.name, v)
		}
		return in.block(m.body, scope)
	}}
}

// evalArgs evaluates call arguments into positional values and keywords.
func (in *interp) evalArgs(args []arg, e *env) ([]any, *object, error) {
	var pos []any
	var kw *object
	for _, a := range args {
		v, err := in.eval(a.x, e)
		if err != nil {
			return nil, nil, err
		}
		if a.name == "" {
			pos = append(pos, v)
			continue
		}
		if kw == nil {
			kw = newObject()
		}
		if _, dup := kw.get(a.name); dup {
			return nil, nil, plainErr("got multiple values for keyword argument %q", a.name)
		}
		kw.set(a.name, v)
	}
	return pos, kw, nil
}

func (in *interp) evalCall(x *callNode, e *env) (any, error) {
	args, kw, err := in.evalArgs(x.args, e)
	if err != nil {
		return nil, err
	}
	fv, err := in.eval(x.callee, e)
	if err != nil {
		return nil, err
	}
	f, ok := fv.(*function)
	if !ok {
		return nil, errAt(x.line, "cannot call something that is not a function: got %s", typeName(fv))
	}
	in.depth++
	defer func() { in.depth-- }()
	if in.depth > maxDepth {
		return nil, errAt(x.line, "calls nested deeper than %d", maxDepth)
	}
	v, err := f.call(args, kw, e)
	if err != nil {
		var re *RenderError
		if !errors.As(err, &re) {
			err = errAt(x.line, "%s: %v", f.name, err)
		}
		return nil, err
	}
	return v, nil
}

func (in *interp) evalMember(x *memberNode, e *env) (any, error) {
	obj, err := in.eval(x.obj, e)
	if err != nil {
		return nil, err
	}
	if s, ok := x.prop.(*sliceNode); ok && x.computed {
		return in.evalSlice(obj, s, e)
	}
	prop, err := in.eval(x.prop, e)
	if err != nil {
		return nil, err
	}
	v, err := member(obj, prop)
	if err != nil {
		return nil, errAt(x.line, "%v", err)
	}
	return v, nil
}

// member is obj[prop] or obj.prop.
func member(obj, prop any) (any, error) {
	switch o := obj.(type) {
	case *object, *namespace:
		k, ok := prop.(string)
		if !ok {
			return nil, fmt.Errorf("cannot access property with non-string: got %s", typeName(prop))
		}
		if ob, isObj := o.(*object); isObj {
			if v, ok := ob.get(k); ok {
				return v, nil
			}
			if f := objectMethod(ob, k); f != nil {
				return f, nil
			}
			return undefined, nil
		}
		if v, ok := o.(*namespace).obj.get(k); ok {
			return v, nil
		}
		return undefined, nil
	case *list:
		switch p := prop.(type) {
		case int64:
			i := p
			if i < 0 {
				i += int64(len(o.items))
			}
			if i < 0 || i >= int64(len(o.items)) {
				return undefined, nil
			}
			return o.items[i], nil
		case string:
			if p == "length" {
				return int64(len(o.items)), nil
			}
			return undefined, nil
		}
		return nil, fmt.Errorf("cannot access property with non-string/non-number: got %s", typeName(prop))
	case string:
		switch p := prop.(type) {
		case int64:
			units := utf16Units(o)
			i := p
			if i < 0 {
				i += int64(len(units))
			}
			if i < 0 || i >= int64(len(units)) {
				return undefined, nil
			}
			return unitsString(units[i : i+1]), nil
		case string:
			if p == "length" {
				return int64(utf16Len(o)), nil
			}
			if f := stringMethod(o, p); f != nil {
				return f, nil
			}
			return undefined, nil
		}
		return nil, fmt.Errorf("cannot access property with non-string/non-number: got %s", typeName(prop))
	}
	if _, ok := prop.(string); !ok {
		return nil, fmt.Errorf("cannot access property with non-string: got %s", typeName(prop))
	}
	return undefined, nil
}

func (in *interp) evalSlice(obj any, s *sliceNode, e *env) (any, error) {
	var parts [3]*int64
	for i, n := range []node{s.start, s.stop, s.step} {
		v, err := in.eval(n, e)
		if err != nil {
			return nil, err
		}
		switch t := v.(type) {
		case undefinedT:
		case int64:
			parts[i] = &t
		default:
			return nil, plainErr("slice indices must be integers or undefined")
		}
	}
	switch o := obj.(type) {
	case *list:
		idx, err := sliceIndices(len(o.items), parts)
		if err != nil {
			return nil, err
		}
		out := &list{items: make([]any, len(idx))}
		for i, k := range idx {
			out.items[i] = o.items[k]
		}
		return out, nil
	case string:
		runes := []rune(o)
		idx, err := sliceIndices(len(runes), parts)
		if err != nil {
			return nil, err
		}
		out := make([]rune, len(idx))
		for i, k := range idx {
			out[i] = runes[k]
		}
		return string(out), nil
	}
	return nil, plainErr("slice object must be an array or string")
}

// sliceIndices returns the indices that Python's s[start:stop:step] picks.
func sliceIndices(n int, p [3]*int64) ([]int, error) {
	step := int64(1)
	if p[2] != nil {
		step = *p[2]
	}
	if step == 0 {
		return nil, plainErr("slice step cannot be zero")
	}
	ln := int64(n)
	var start, stop int64
	if step > 0 {
		start, stop = 0, ln
		if p[0] != nil {
			start = *p[0]
			if start < 0 {
				start = max(ln+start, 0)
			} else {
				start = min(start, ln)
			}
		}
		if p[1] != nil {
			stop = *p[1]
			if stop < 0 {
				stop = max(ln+stop, 0)
			} else {
				stop = min(stop, ln)
			}
		}
	} else {
		start, stop = ln-1, -1
		if p[0] != nil {
			start = *p[0]
			if start < 0 {
				start = max(ln+start, -1)
			} else {
				start = min(start, ln-1)
			}
		}
		if p[1] != nil {
			stop = *p[1]
			if stop < -1 {
				stop = max(ln+stop, -1)
			} else {
				stop = min(stop, ln-1)
			}
		}
	}
	var out []int
	for i := start; (step > 0 && i < stop) || (step < 0 && i > stop); i += step {
		out = append(out, int(i))
	}
	return out, nil
}

func (in *interp) evalBinary(x *binaryNode, e *env) (any, error) {
	l, err := in.eval(x.l, e)
	if err != nil {
		return nil, err
	}
	switch x.op {
	case "and":
		if !truthy(l) {
			return l, nil
		}
		return in.eval(x.r, e)
	case "or":
		if truthy(l) {
			return l, nil
		}
		return in.eval(x.r, e)
	}
	r, err := in.eval(x.r, e)
	if err != nil {
		return nil, err
	}
	v, err := binary(x.op, l, r)
	if err != nil {
		return nil, errAt(x.line, "%v", err)
	}
	return v, nil
}

// binary applies a binary operator other than and/or.
func binary(op string, l, r any) (any, error) {
	switch op {
	case "==":
		return looseEqual(l, r), nil
	case "!=":
		return !looseEqual(l, r), nil
	}
	_, lu := l.(undefinedT)
	_, ru := r.(undefinedT)
	if lu || ru {
		if ru && (op == "in" || op == "not in") {
			return op == "not in", nil
		}
		return nil, fmt.Errorf("cannot perform operation %s on undefined values", op)
	}
	if l == nil || r == nil {
		return nil, fmt.Errorf("cannot perform operation on null values")
	}
	if op == "~" {
		return jsString(l) + jsString(r), nil
	}
	if op == "**" && isNumericLike(l) && isNumericLike(r) {
		a, b := toFloat(l), toFloat(r)
		if a == 0 && b < 0 {
			return nil, fmt.Errorf("0.0 cannot be raised to a negative power")
		}
		res := math.Pow(a, b)
		if math.IsNaN(res) || math.IsInf(res, 0) {
			return nil, fmt.Errorf("exponentiation result is not a finite real number")
		}
		_, lf := l.(float64)
		_, rf := r.(float64)
		if lf || rf || b < 0 {
			return res, nil
		}
		return int64(res), nil
	}
	if isNumber(l) && isNumber(r) {
		_, lf := l.(float64)
		_, rf := r.(float64)
		isFloat := lf || rf
		li, _ := l.(int64)
		ri, _ := r.(int64)
		a, b := toFloat(l), toFloat(r)
		switch op {
		case "+", "-", "*":
			if isFloat {
				switch op {
				case "+":
					return a + b, nil
				case "-":
					return a - b, nil
				}
				return a * b, nil
			}
			switch op {
			case "+":
				return li + ri, nil
			case "-":
				return li - ri, nil
			}
			return li * ri, nil
		case "/":
			return a / b, nil
		case "//":
			if isFloat || ri == 0 {
				return math.Floor(a / b), nil
			}
			q := li / ri
			if (li%ri != 0) && ((li < 0) != (ri < 0)) {
				q--
			}
			return q, nil
		case "%":
			if isFloat || ri == 0 {
				return math.Mod(a, b), nil
			}
			return li % ri, nil
		case "<":
			return a < b, nil
		case ">":
			return a > b, nil
		case "<=":
			return a <= b, nil
		case ">=":
			return a >= b, nil
		}
	}
	if ll, ok := l.(*list); ok {
		if rl, ok := r.(*list); ok && op == "+" {
			return &list{items: append(append([]any{}, ll.items...), rl.items...)}, nil
		}
	}
	if rl, ok := r.(*list); ok && (op == "in" || op == "not in") {
		found := false
		for _, it := range rl.items {
			if strictEqual(l, it) {
				found = true
				break
			}
		}
		return found == (op == "in"), nil
	}
	ls, lIsStr := l.(string)
	rs, rIsStr := r.(string)
	if (lIsStr || rIsStr) && op == "+" {
		return jsString(l) + jsString(r), nil
	}
	if lIsStr && rIsStr && (op == "in" || op == "not in") {
		return strings.Contains(rs, ls) == (op == "in"), nil
	}
	if ro, ok := r.(*object); ok && lIsStr && (op == "in" || op == "not in") {
		_, has := ro.get(ls)
		return has == (op == "in"), nil
	}
	return nil, fmt.Errorf("unknown operator %q between %s and %s", op, typeName(l), typeName(r))
}

func isNumericLike(v any) bool {
	switch v.(type) {
	case int64, float64, bool:
		return true
	}
	return false
}

// strictEqual is JavaScript's === on the underlying values.
func strictEqual(a, b any) bool {
	if isNumber(a) && isNumber(b) {
		return toFloat(a) == toFloat(b)
	}
	switch x := a.(type) {
	case undefinedT:
		_, ok := b.(undefinedT)
		return ok
	case nil:
		return b == nil
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case string:
		y, ok := b.(string)
		return ok && x == y
	case *list:
		y, ok := b.(*list)
		return ok && x == y
	case *object:
		y, ok := b.(*object)
		return ok && x == y
	case *namespace:
		y, ok := b.(*namespace)
		return ok && x == y
	case *function:
		y, ok := b.(*function)
		return ok && x == y
	}
	return false
}

// looseEqual is JavaScript's == on the underlying values, for the types a
// template meets: none equals undefined, numbers, strings and booleans are
// compared after conversion to numbers when their types differ, and lists,
// dicts and functions are only equal to themselves.
func looseEqual(a, b any) bool {
	_, au := a.(undefinedT)
	_, bu := b.(undefinedT)
	if (a == nil || au) && (b == nil || bu) {
		return true
	}
	if a == nil || au || b == nil || bu {
		return false
	}
	if isPrimitive(a) && isPrimitive(b) {
		as, aStr := a.(string)
		bs, bStr := b.(string)
		if aStr && bStr {
			return as == bs
		}
		return jsToNumber(a) == jsToNumber(b)
	}
	return strictEqual(a, b)
}

func isPrimitive(v any) bool {
	switch v.(type) {
	case bool, int64, float64, string:
		return true
	}
	return false
}

// jsToNumber is JavaScript's Number(v) for primitives.
func jsToNumber(v any) float64 {
	x, ok := v.(string)
	if !ok {
		return toFloat(v)
	}
	s := strings.TrimFunc(x, isJSSpace)
	switch s {
	case "":
		return 0
	case "Infinity", "+Infinity":
		return math.Inf(1)
	case "-Infinity":
		return math.Inf(-1)
	}
	if len(s) > 2 && s[0] == '0' {
		base := 0
		switch s[1] {
		case 'x', 'X':
			base = 16
		case 'o', 'O':
			base = 8
		case 'b', 'B':
			base = 2
		}
		if base != 0 {
			n, err := strconv.ParseUint(s[2:], base, 64)
			if err != nil || strings.Contains(s, "_") {
				return math.NaN()
			}
			return float64(n)
		}
	}
	if strings.Trim(s, "0123456789.eE+-") != "" {
		return math.NaN()
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return math.NaN()
	}
	return f
}
