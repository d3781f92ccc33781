package jinja

import (
	"fmt"
	"strconv"
	"strings"
)

// node is a statement or expression of the syntax tree.
type node interface{}

// Statements.
type (
	textNode    struct{ text string }
	commentNode struct{}
	ifNode      struct {
		test        node
		body, else_ []node
	}
	forNode struct {
		target      node // *identNode or *tupleNode
		iter        node
		cond        node // the "if" of "for x in xs if cond", or nil
		body, else_ []node
	}
	setNode struct {
		target node // *identNode, *tupleNode or *memberNode
		value  node // nil for a block set
		body   []node
	}
	macroNode struct {
		name   string
		params []param
		body   []node
	}
	filterBlockNode struct {
		filter node // *identNode or *callNode
		body   []node
	}
	breakNode    struct{}
	continueNode struct{}
)

// param is a macro parameter with an optional default.
type param struct {
	name string
	def  node
}

// Expressions.
type (
	intLit    struct{ v int64 }
	floatLit  struct{ v float64 }
	strLit    struct{ v string }
	identNode struct {
		name string
		line int
	}
	listNode   struct{ items []node }
	tupleNode  struct{ items []node }
	dictNode   struct{ keys, vals []node }
	memberNode struct {
		obj      node
		prop     node // for .name an *strLit (or *intLit for .0), else the expression
		computed bool
		line     int
	}
	sliceNode struct{ start, stop, step node } // nil parts are missing
	callNode  struct {
		callee node
		args   []arg
		line   int
	}
	unaryNode struct {
		op string
		x  node
	}
	binaryNode struct {
		op   string
		l, r node
		line int
	}
	filterNode struct {
		x      node
		name   string
		args   []arg
		called bool // written with parentheses
		line   int
	}
	testNode struct {
		x      node
		name   string
		negate bool
		line   int
	}
	ternaryNode struct{ cond, yes, no node }
	selectNode  struct{ x, cond node } // "x if cond" without else
)

// arg is a call argument; name is set for keyword arguments.
type arg struct {
	name string
	x    node
}

// parser builds the syntax tree from tokens.
type parser struct {
	toks []token
	pos  int
}

func (p *parser) errorf(format string, args ...any) error {
	line := 0
	if p.pos < len(p.toks) {
		line = p.toks[p.pos].line
	} else if len(p.toks) > 0 {
		line = p.toks[len(p.toks)-1].line
	}
	return &SyntaxError{Line: line, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) peek() *token {
	if p.pos < len(p.toks) {
		return &p.toks[p.pos]
	}
	return nil
}

func (p *parser) is(kind tokKind) bool {
	t := p.peek()
	return t != nil && t.kind == kind
}

func (p *parser) isIdent(names ...string) bool {
	for i, n := range names {
		if p.pos+i >= len(p.toks) || p.toks[p.pos+i].kind != tIdent || p.toks[p.pos+i].value != n {
			return false
		}
	}
	return true
}

// isStatement reports whether the next tokens are {% followed by one of names.
func (p *parser) isStatement(names ...string) bool {
	if p.pos+1 >= len(p.toks) || p.toks[p.pos].kind != tOpenStmt || p.toks[p.pos+1].kind != tIdent {
		return false
	}
	for _, n := range names {
		if p.toks[p.pos+1].value == n {
			return true
		}
	}
	return false
}

func (p *parser) expect(kind tokKind, what string) (*token, error) {
	t := p.peek()
	if t == nil {
		return nil, p.errorf("expected %s, got the end of the template", what)
	}
	if t.kind != kind {
		return nil, p.errorf("expected %s, got %q", what, t.value)
	}
	p.pos++
	return t, nil
}

func (p *parser) expectIdent(name string) error {
	if !p.isIdent(name) {
		return p.errorf("expected %q", name)
	}
	p.pos++
	return nil
}

// parse parses a whole template.
func parse(toks []token) ([]node, error) {
	p := &parser{toks: toks}
	var body []node
	for p.pos < len(p.toks) {
		n, err := p.parseAny()
		if err != nil {
			return nil, err
		}
		body = append(body, n)
	}
	return body, nil
}

// parseUntil parses statements until one of the named statements (or the
// end, which is an error).
func (p *parser) parseUntil(names ...string) ([]node, error) {
	var body []node
	for !p.isStatement(names...) {
		if p.pos >= len(p.toks) {
			return nil, p.errorf("missing {%% %s %%}", strings.Join(names, " / "))
		}
		n, err := p.parseAny()
		if err != nil {
			return nil, err
		}
		body = append(body, n)
	}
	return body, nil
}

func (p *parser) parseAny() (node, error) {
	t := p.peek()
	switch t.kind {
	case tComment:
		p.pos++
		return &commentNode{}, nil
	case tText:
		p.pos++
		return &textNode{t.value}, nil
	case tOpenStmt:
		return p.parseStatement()
	case tOpenExpr:
		p.pos++
		x, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tCloseExpr, "}}"); err != nil {
			return nil, err
		}
		return x, nil
	}
	return nil, p.errorf("unexpected %q", t.value)
}

// closeBlock consumes {% name %}.
func (p *parser) closeBlock(name string) error {
	if _, err := p.expect(tOpenStmt, "{%"); err != nil {
		return err
	}
	if err := p.expectIdent(name); err != nil {
		return err
	}
	_, err := p.expect(tCloseStmt, "%}")
	return err
}

func (p *parser) parseStatement() (node, error) {
	p.pos++ // {%
	t := p.peek()
	if t == nil || t.kind != tIdent {
		return nil, p.errorf("expected a statement name")
	}
	p.pos++
	switch t.value {
	case "set":
		return p.parseSet()
	case "if":
		n, err := p.parseIf()
		if err != nil {
			return nil, err
		}
		return n, p.closeBlock("endif")
	case "for":
		n, err := p.parseFor()
		if err != nil {
			return nil, err
		}
		return n, p.closeBlock("endfor")
	case "macro":
		n, err := p.parseMacro()
		if err != nil {
			return nil, err
		}
		return n, p.closeBlock("endmacro")
	case "filter":
		f, err := p.parsePrimary()
		if err != nil {
			return nil, err
		}
		id, ok := f.(*identNode)
		if !ok {
			return nil, p.errorf("expected a filter name")
		}
		fn := &filterNode{name: id.name, line: id.line}
		if p.is(tOpenParen) {
			fn.called = true
			if fn.args, err = p.parseArgs(); err != nil {
				return nil, err
			}
		}
		if _, err := p.expect(tCloseStmt, "%}"); err != nil {
			return nil, err
		}
		body, err := p.parseUntil("endfilter")
		if err != nil {
			return nil, err
		}
		return &filterBlockNode{filter: fn, body: body}, p.closeBlock("endfilter")
	case "break", "continue":
		if _, err := p.expect(tCloseStmt, "%}"); err != nil {
			return nil, err
		}
		if t.value == "break" {
			return &breakNode{}, nil
		}
		return &continueNode{}, nil
	}
	return nil, p.errorf("unknown statement %q", t.value)
}

func (p *parser) parseSet() (node, error) {
	target, err := p.parseSequence(false)
	if err != nil {
		return nil, err
	}
	n := &setNode{target: target}
	if p.is(tEquals) {
		p.pos++
		if n.value, err = p.parseSequence(false); err != nil {
			return nil, err
		}
	} else {
		if _, err := p.expect(tCloseStmt, "%}"); err != nil {
			return nil, err
		}
		if n.body, err = p.parseUntil("endset"); err != nil {
			return nil, err
		}
		p.pos++ // {%
		if err := p.expectIdent("endset"); err != nil {
			return nil, err
		}
	}
	_, err = p.expect(tCloseStmt, "%}")
	return n, err
}

func (p *parser) parseIf() (*ifNode, error) {
	test, err := p.parseExpr()
	if err != nil {
		return nil, err
	}
	if _, err := p.expect(tCloseStmt, "%}"); err != nil {
		return nil, err
	}
	n := &ifNode{test: test}
	if n.body, err = p.parseUntil("elif", "else", "endif"); err != nil {
		return nil, err
	}
	switch {
	case p.isStatement("elif"):
		p.pos += 2
		sub, err := p.parseIf()
		if err != nil {
			return nil, err
		}
		n.else_ = []node{sub}
	case p.isStatement("else"):
		p.pos += 2
		if _, err := p.expect(tCloseStmt, "%}"); err != nil {
			return nil, err
		}
		if n.else_, err = p.parseUntil("endif"); err != nil {
			return nil, err
		}
	}
	return n, nil
}

func (p *parser) parseFor() (*forNode, error) {
	target, err := p.parseSequence(true)
	if err != nil {
		return nil, err
	}
	switch target.(type) {
	case *identNode, *tupleNode:
	default:
		return nil, p.errorf("expected a loop variable")
	}
	if err := p.expectIdent("in"); err != nil {
		return nil, err
	}
	iter, err := p.parseExpr()
	if err != nil {
		return nil, err
	}
	n := &forNode{target: target, iter: iter}
	if s, ok := iter.(*selectNode); ok {
		n.iter, n.cond = s.x, s.cond
	}
	if _, err := p.expect(tCloseStmt, "%}"); err != nil {
		return nil, err
	}
	if n.body, err = p.parseUntil("endfor", "else"); err != nil {
		return nil, err
	}
	if p.isStatement("else") {
		p.pos += 2
		if _, err := p.expect(tCloseStmt, "%}"); err != nil {
			return nil, err
		}
		if n.else_, err = p.parseUntil("endfor"); err != nil {
			return nil, err
		}
	}
	return n, nil
}

func (p *parser) parseMacro() (*macroNode, error) {
	name, err := p.parsePrimary()
	if err != nil {
		return nil, err
	}
	id, ok := name.(*identNode)
	if !ok {
		return nil, p.errorf("expected a macro name")
	}
	args, err := p.parseArgs()
	if err != nil {
		return nil, err
	}
	n := &macroNode{name: id.name}
	seen := map[string]bool{}
	sawDefault := false
	for _, a := range args {
		pr := param{}
		if a.name != "" {
			pr.name, pr.def = a.name, a.x
			sawDefault = true
		} else if id, ok := a.x.(*identNode); ok {
			if sawDefault {
				return nil, p.errorf("non-default argument follows default argument")
			}
			pr.name = id.name
		} else {
			return nil, p.errorf("expected a parameter name")
		}
		if seen[pr.name] {
			return nil, p.errorf("duplicate parameter %q", pr.name)
		}
		seen[pr.name] = true
		n.params = append(n.params, pr)
	}
	if _, err := p.expect(tCloseStmt, "%}"); err != nil {
		return nil, err
	}
	if n.body, err = p.parseUntil("endmacro"); err != nil {
		return nil, err
	}
	return n, nil
}

// parseSequence parses one expression, or a tuple when commas follow.
func (p *parser) parseSequence(primary bool) (node, error) {
	one := p.parseExpr
	if primary {
		one = p.parsePrimary
	}
	x, err := one()
	if err != nil {
		return nil, err
	}
	if !p.is(tComma) {
		return x, nil
	}
	items := []node{x}
	for p.is(tComma) {
		p.pos++
		y, err := one()
		if err != nil {
			return nil, err
		}
		items = append(items, y)
	}
	return &tupleNode{items}, nil
}

func (p *parser) parseExpr() (node, error) { return p.parseIfExpr() }

func (p *parser) parseIfExpr() (node, error) {
	a, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if !p.isIdent("if") {
		return a, nil
	}
	p.pos++
	cond, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if !p.isIdent("else") {
		return &selectNode{x: a, cond: cond}, nil
	}
	p.pos++
	b, err := p.parseIfExpr()
	if err != nil {
		return nil, err
	}
	return &ternaryNode{cond: cond, yes: a, no: b}, nil
}

func (p *parser) parseOr() (node, error) {
	l, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	for p.isIdent("or") {
		line := p.peek().line
		p.pos++
		r, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		l = &binaryNode{op: "or", l: l, r: r, line: line}
	}
	return l, nil
}

func (p *parser) parseAnd() (node, error) {
	l, err := p.parseNot()
	if err != nil {
		return nil, err
	}
	for p.isIdent("and") {
		line := p.peek().line
		p.pos++
		r, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		l = &binaryNode{op: "and", l: l, r: r, line: line}
	}
	return l, nil
}

func (p *parser) parseNot() (node, error) {
	if p.isIdent("not") {
		p.pos++
		x, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		return &unaryNode{op: "not", x: x}, nil
	}
	return p.parseComparison()
}

func (p *parser) parseComparison() (node, error) {
	l, err := p.parseAdditive()
	if err != nil {
		return nil, err
	}
	for {
		var op string
		line := 0
		if t := p.peek(); t != nil {
			line = t.line
		}
		switch {
		case p.isIdent("not", "in"):
			op = "not in"
			p.pos += 2
		case p.isIdent("in"):
			op = "in"
			p.pos++
		case p.is(tCompare):
			op = p.peek().value
			p.pos++
		default:
			return l, nil
		}
		r, err := p.parseAdditive()
		if err != nil {
			return nil, err
		}
		l = &binaryNode{op: op, l: l, r: r, line: line}
	}
}

func (p *parser) parseAdditive() (node, error) { return p.parseLeftAssoc(tAdd, p.parseMultiplicative) }

func (p *parser) parseMultiplicative() (node, error) { return p.parseLeftAssoc(tMul, p.parsePower) }

func (p *parser) parsePower() (node, error) { return p.parseLeftAssoc(tPow, p.parseTest) }

// parseLeftAssoc parses operands joined by operators of one kind, grouping
// from the left (a - b - c is (a - b) - c), as @huggingface/jinja does for
// +, *, and ** alike.
func (p *parser) parseLeftAssoc(kind tokKind, operand func() (node, error)) (node, error) {
	l, err := operand()
	if err != nil {
		return nil, err
	}
	for p.is(kind) {
		t := p.peek()
		p.pos++
		r, err := operand()
		if err != nil {
			return nil, err
		}
		l = &binaryNode{op: t.value, l: l, r: r, line: t.line}
	}
	return l, nil
}

func (p *parser) parseTest() (node, error) {
	x, err := p.parseFilter()
	if err != nil {
		return nil, err
	}
	for p.isIdent("is") {
		line := p.peek().line
		p.pos++
		negate := p.isIdent("not")
		if negate {
			p.pos++
		}
		t, err := p.parsePrimary()
		if err != nil {
			return nil, err
		}
		id, ok := t.(*identNode)
		if !ok {
			return nil, p.errorf("expected a test name")
		}
		x = &testNode{x: x, name: id.name, negate: negate, line: line}
	}
	return x, nil
}

func (p *parser) parseFilter() (node, error) {
	x, err := p.parseUnarySign()
	if err != nil {
		return nil, err
	}
	for p.is(tPipe) {
		p.pos++
		f, err := p.parsePrimary()
		if err != nil {
			return nil, err
		}
		id, ok := f.(*identNode)
		if !ok {
			return nil, p.errorf("expected a filter name")
		}
		fn := &filterNode{x: x, name: id.name, line: id.line}
		if p.is(tOpenParen) {
			fn.called = true
			if fn.args, err = p.parseArgs(); err != nil {
				return nil, err
			}
		}
		x = fn
	}
	return x, nil
}

func (p *parser) parseUnarySign() (node, error) {
	if t := p.peek(); t != nil && (t.kind == tUnary || t.kind == tAdd) && (t.value == "-" || t.value == "+") {
		p.pos++
		x, err := p.parseUnarySign()
		if err != nil {
			return nil, err
		}
		return &unaryNode{op: t.value, x: x}, nil
	}
	return p.parseCallMember()
}

func (p *parser) parseCallMember() (node, error) {
	x, err := p.parsePrimary()
	if err != nil {
		return nil, err
	}
	if x, err = p.parseMember(x); err != nil {
		return nil, err
	}
	for p.is(tOpenParen) {
		line := p.peek().line
		args, err := p.parseArgs()
		if err != nil {
			return nil, err
		}
		x = &callNode{callee: x, args: args, line: line}
		if x, err = p.parseMember(x); err != nil {
			return nil, err
		}
	}
	return x, nil
}

// parseArgs parses a parenthesized argument list.
func (p *parser) parseArgs() ([]arg, error) {
	if _, err := p.expect(tOpenParen, "("); err != nil {
		return nil, err
	}
	var args []arg
	sawKeyword := false
	for !p.is(tCloseParen) {
		if p.pos >= len(p.toks) {
			return nil, p.errorf("missing )")
		}
		x, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		a := arg{x: x}
		if p.is(tEquals) {
			id, ok := x.(*identNode)
			if !ok {
				return nil, p.errorf("expected a name before =")
			}
			p.pos++
			v, err := p.parseExpr()
			if err != nil {
				return nil, err
			}
			a = arg{name: id.name, x: v}
			sawKeyword = true
		} else if sawKeyword {
			return nil, p.errorf("positional arguments must come before keyword arguments")
		}
		args = append(args, a)
		if p.is(tComma) {
			p.pos++
		}
	}
	p.pos++ // )
	return args, nil
}

func (p *parser) parseMember(x node) (node, error) {
	for p.is(tDot) || p.is(tOpenBracket) {
		t := p.peek()
		p.pos++
		if t.kind == tOpenBracket {
			prop, err := p.parseSubscript()
			if err != nil {
				return nil, err
			}
			if _, err := p.expect(tCloseBracket, "]"); err != nil {
				return nil, err
			}
			x = &memberNode{obj: x, prop: prop, computed: true, line: t.line}
			continue
		}
		prop, err := p.parsePrimary()
		if err != nil {
			return nil, err
		}
		switch pr := prop.(type) {
		case *identNode:
			x = &memberNode{obj: x, prop: &strLit{pr.name}, line: t.line}
		case *intLit:
			x = &memberNode{obj: x, prop: pr, line: t.line}
		default:
			return nil, p.errorf("expected a name or an integer after .")
		}
	}
	return x, nil
}

// parseSubscript parses what is inside [ ]: an expression or a slice.
func (p *parser) parseSubscript() (node, error) {
	var parts []node
	isSlice := false
	for !p.is(tCloseBracket) {
		if p.pos >= len(p.toks) {
			return nil, p.errorf("missing ]")
		}
		if p.is(tColon) {
			parts = append(parts, nil)
			p.pos++
			isSlice = true
			continue
		}
		x, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		parts = append(parts, x)
		if p.is(tColon) {
			p.pos++
			isSlice = true
		}
	}
	if len(parts) == 0 {
		return nil, p.errorf("empty [ ]")
	}
	if !isSlice {
		return parts[0], nil
	}
	if len(parts) > 3 {
		return nil, p.errorf("a slice has at most 3 parts")
	}
	s := &sliceNode{}
	for i, x := range parts {
		switch i {
		case 0:
			s.start = x
		case 1:
			s.stop = x
		case 2:
			s.step = x
		}
	}
	return s, nil
}

func (p *parser) parsePrimary() (node, error) {
	t := p.peek()
	if t == nil {
		return nil, p.errorf("unexpected end of the template")
	}
	p.pos++
	switch t.kind {
	case tNumber:
		if strings.Contains(t.value, ".") {
			f, err := strconv.ParseFloat(t.value, 64)
			if err != nil {
				return nil, p.errorf("bad number %q", t.value)
			}
			return &floatLit{f}, nil
		}
		i, err := strconv.ParseInt(t.value, 10, 64)
		if err != nil {
			f, ferr := strconv.ParseFloat(t.value, 64)
			if ferr != nil {
				return nil, p.errorf("bad number %q", t.value)
			}
			return &floatLit{f}, nil
		}
		return &intLit{i}, nil
	case tString:
		v := t.value
		for p.is(tString) {
			v += p.peek().value
			p.pos++
		}
		return &strLit{v}, nil
	case tIdent:
		return &identNode{name: t.value, line: t.line}, nil
	case tOpenParen:
		x, err := p.parseSequence(false)
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tCloseParen, ")"); err != nil {
			return nil, err
		}
		return x, nil
	case tOpenBracket:
		l := &listNode{}
		for !p.is(tCloseBracket) {
			if p.pos >= len(p.toks) {
				return nil, p.errorf("missing ]")
			}
			x, err := p.parseExpr()
			if err != nil {
				return nil, err
			}
			l.items = append(l.items, x)
			if p.is(tComma) {
				p.pos++
			}
		}
		p.pos++
		return l, nil
	case tOpenBrace:
		d := &dictNode{}
		for !p.is(tCloseBrace) {
			if p.pos >= len(p.toks) {
				return nil, p.errorf("missing }")
			}
			k, err := p.parseExpr()
			if err != nil {
				return nil, err
			}
			if _, err := p.expect(tColon, ":"); err != nil {
				return nil, err
			}
			v, err := p.parseExpr()
			if err != nil {
				return nil, err
			}
			d.keys = append(d.keys, k)
			d.vals = append(d.vals, v)
			if p.is(tComma) {
				p.pos++
			}
		}
		p.pos++
		return d, nil
	}
	return nil, p.errorf("unexpected %q", t.value)
}
