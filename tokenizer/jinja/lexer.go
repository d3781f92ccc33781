package jinja

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// tokKind is the kind of a lexical token.
type tokKind int

const (
	tText tokKind = iota
	tNumber
	tString
	tIdent
	tEquals       // =
	tOpenParen    // (
	tCloseParen   // )
	tOpenStmt     // {%
	tCloseStmt    // %}
	tOpenExpr     // {{
	tCloseExpr    // }}
	tOpenBracket  // [
	tCloseBracket // ]
	tOpenBrace    // {
	tCloseBrace   // }
	tComma
	tDot
	tColon
	tPipe
	tAdd     // + - ~
	tMul     // * / // %
	tPow     // **
	tCompare // < > <= >= == !=
	tUnary   // a sign before an operand
	tComment
)

// token is one lexical token with the line it starts on.
type token struct {
	kind  tokKind
	value string
	line  int
}

// symbols are the operator and punctuation tokens, longest first where one
// is a prefix of another.
var symbols = []struct {
	s    string
	kind tokKind
}{
	{"{%", tOpenStmt}, {"%}", tCloseStmt}, {"{{", tOpenExpr}, {"}}", tCloseExpr},
	{"(", tOpenParen}, {")", tCloseParen}, {"{", tOpenBrace}, {"}", tCloseBrace},
	{"[", tOpenBracket}, {"]", tCloseBracket}, {",", tComma}, {".", tDot}, {":", tColon}, {"|", tPipe},
	{"<=", tCompare}, {">=", tCompare}, {"==", tCompare}, {"!=", tCompare}, {"<", tCompare}, {">", tCompare},
	{"+", tAdd}, {"-", tAdd}, {"~", tAdd},
	{"**", tPow}, {"*", tMul}, {"//", tMul}, {"/", tMul}, {"%", tMul},
	{"=", tEquals},
}

// escapes are the backslash escapes of string literals.
var escapes = map[byte]string{
	'n': "\n", 't': "\t", 'r': "\r", 'b': "\b", 'f': "\f", 'v': "\v",
	'\'': "'", '"': "\"", '\\': "\\",
}

// jsSpace is JavaScript's \s as a Go character class.
const jsSpace = `[\t\n\v\f\r \x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}\x{feff}]`

var (
	trimRe       = regexp.MustCompile(`([#%-]\})\n`)
	generationRe = regexp.MustCompile(`(` + jsSpace + `*)\{%(-?)` + jsSpace + `*(?:end)?generation` + jsSpace + `*(-?)%\}(` + jsSpace + `*)`)
)

// lstripBlocks removes the spaces and tabs between the start of a line and
// a block tag ({%, {# or {-), as JavaScript's /^[ \t]*({[#%-])/gm does: a
// line starts after \n, \r, U+2028 or U+2029.
func lstripBlocks(src string) string {
	var b strings.Builder
	lineStart := true
	for i := 0; i < len(src); {
		if lineStart {
			j := i
			for j < len(src) && (src[j] == ' ' || src[j] == '\t') {
				j++
			}
			if j+1 < len(src) && src[j] == '{' && strings.IndexByte("#%-", src[j+1]) >= 0 {
				i = j
			}
		}
		r, size := utf8.DecodeRuneInString(src[i:])
		b.WriteString(src[i : i+size])
		i += size
		lineStart = r == '\n' || r == '\r' || r == 0x2028 || r == 0x2029
	}
	return b.String()
}

// preprocess applies the whitespace settings transformers uses (a single
// trailing newline dropped, lstrip_blocks, trim_blocks) and removes the
// transformers-specific {% generation %} tags.
func preprocess(src string) string {
	src = strings.TrimSuffix(src, "\n")
	src = lstripBlocks(src)
	src = trimRe.ReplaceAllString(src, "$1")
	return generationRe.ReplaceAllStringFunc(src, func(m string) string {
		g := generationRe.FindStringSubmatch(m)
		out := ""
		if g[2] == "" {
			out += g[1]
		}
		if g[3] == "" {
			out += g[4]
		}
		return out
	})
}

// isJSSpace reports whether r is whitespace for JavaScript's \s and trim.
func isJSSpace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', ' ', 0xA0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000, 0xFEFF:
		return true
	}
	return r >= 0x2000 && r <= 0x200A
}

func isWordByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// SyntaxError is an error in a template's text.
type SyntaxError struct {
	Line int    // 1-based line of the preprocessed template
	Msg  string // what is wrong
}

// Error returns the message with its line.
func (e *SyntaxError) Error() string { return fmt.Sprintf("jinja: line %d: %s", e.Line, e.Msg) }

// lexer turns template text into tokens.
type lexer struct {
	src    string
	pos    int
	line   int
	toks   []token
	braces int // depth of { } inside an expression, where }} is two braces
}

func (l *lexer) errorf(format string, args ...any) error {
	return &SyntaxError{Line: l.line, Msg: fmt.Sprintf(format, args...)}
}

func (l *lexer) push(kind tokKind, value string) {
	l.toks = append(l.toks, token{kind: kind, value: value, line: l.line})
}

func (l *lexer) lastKind() (tokKind, bool) {
	if len(l.toks) == 0 {
		return 0, false
	}
	return l.toks[len(l.toks)-1].kind, true
}

// advance moves past n bytes, counting newlines.
func (l *lexer) advance(n int) {
	l.line += strings.Count(l.src[l.pos:l.pos+n], "\n")
	l.pos += n
}

// stripTrailingSpace trims the whitespace at the end of the last text token
// (for {%- and {{-), dropping it when it becomes empty.
func (l *lexer) stripTrailingSpace() {
	if n := len(l.toks); n > 0 && l.toks[n-1].kind == tText {
		v := strings.TrimRightFunc(l.toks[n-1].value, isJSSpace)
		if v == "" {
			l.toks = l.toks[:n-1]
		} else {
			l.toks[n-1].value = v
		}
	}
}

// skipSpace moves past whitespace (for -%} and -}}, and inside tags).
func (l *lexer) skipSpace() {
	for l.pos < len(l.src) {
		r, size := utf8.DecodeRuneInString(l.src[l.pos:])
		if !isJSSpace(r) {
			return
		}
		l.advance(size)
	}
}

// tokenize splits the preprocessed template into tokens.
func tokenize(src string) ([]token, error) {
	l := &lexer{src: preprocess(src), line: 1}
	for l.pos < len(l.src) {
		if k, ok := l.lastKind(); !ok || k == tCloseStmt || k == tCloseExpr || k == tComment {
			end := l.pos
			for end < len(l.src) && !(l.src[end] == '{' && end+1 < len(l.src) && strings.IndexByte("%{#", l.src[end+1]) >= 0) {
				end++
			}
			if end > l.pos {
				text := l.src[l.pos:end]
				l.push(tText, text)
				l.advance(end - l.pos)
				continue
			}
		}
		if strings.HasPrefix(l.src[l.pos:], "{#") {
			if err := l.comment(); err != nil {
				return nil, err
			}
			continue
		}
		if strings.HasPrefix(l.src[l.pos:], "{%-") {
			l.stripTrailingSpace()
			l.push(tOpenStmt, "{%")
			l.advance(3)
			continue
		}
		if strings.HasPrefix(l.src[l.pos:], "{{-") {
			l.stripTrailingSpace()
			l.push(tOpenExpr, "{{")
			l.braces = 0
			l.advance(3)
			continue
		}
		l.skipSpace()
		if l.pos >= len(l.src) {
			break
		}
		rest := l.src[l.pos:]
		if strings.HasPrefix(rest, "-%}") {
			l.push(tCloseStmt, "%}")
			l.advance(3)
			l.skipSpace()
			continue
		}
		if strings.HasPrefix(rest, "-}}") {
			l.push(tCloseExpr, "}}")
			l.advance(3)
			l.skipSpace()
			continue
		}
		c := rest[0]
		if c == '-' || c == '+' {
			k, ok := l.lastKind()
			if !ok || k == tText {
				return nil, l.errorf("unexpected character %q", c)
			}
			switch k {
			case tIdent, tNumber, tString, tCloseParen, tCloseBracket:
				// a binary operator, matched below
			default:
				l.advance(1)
				num := l.digits()
				if num != "" && l.pos+1 < len(l.src) && l.src[l.pos] == '.' && isDigit(l.src[l.pos+1]) {
					l.advance(1)
					num += "." + l.digits()
				}
				if num != "" {
					l.push(tNumber, string(c)+num)
				} else {
					l.push(tUnary, string(c))
				}
				continue
			}
		}
		matched := false
		for _, s := range symbols {
			if s.s == "}}" && l.braces > 0 {
				continue
			}
			if strings.HasPrefix(rest, s.s) {
				l.push(s.kind, s.s)
				switch s.kind {
				case tOpenExpr:
					l.braces = 0
				case tOpenBrace:
					l.braces++
				case tCloseBrace:
					l.braces--
				}
				l.advance(len(s.s))
				matched = true
				break
			}
		}
		if matched {
			continue
		}
		switch {
		case c == '\'' || c == '"':
			if err := l.stringLit(c); err != nil {
				return nil, err
			}
		case isDigit(c):
			num := l.digits()
			if k, _ := l.lastKind(); k != tDot && l.pos+1 < len(l.src) && l.src[l.pos] == '.' && isDigit(l.src[l.pos+1]) {
				l.advance(1)
				num += "." + l.digits()
			}
			l.push(tNumber, num)
		case isWordByte(c):
			start := l.pos
			for l.pos < len(l.src) && isWordByte(l.src[l.pos]) {
				l.pos++
			}
			l.push(tIdent, l.src[start:l.pos])
		default:
			r, _ := utf8.DecodeRuneInString(rest)
			return nil, l.errorf("unexpected character %q", r)
		}
	}
	return l.toks, nil
}

func (l *lexer) digits() string {
	start := l.pos
	for l.pos < len(l.src) && isDigit(l.src[l.pos]) {
		l.pos++
	}
	return l.src[start:l.pos]
}

// comment reads {# ... #} with its - markers.
func (l *lexer) comment() error {
	l.advance(2)
	stripBefore := l.pos < len(l.src) && l.src[l.pos] == '-'
	if stripBefore {
		l.advance(1)
	}
	end := strings.Index(l.src[l.pos:], "#}")
	if end < 0 {
		return l.errorf("missing end of comment tag")
	}
	text := l.src[l.pos : l.pos+end]
	stripAfter := strings.HasSuffix(text, "-")
	text = strings.TrimSuffix(text, "-")
	if stripBefore {
		l.stripTrailingSpace()
	}
	l.push(tComment, text)
	l.advance(end + 2)
	if stripAfter {
		l.skipSpace()
	}
	return nil
}

// stringLit reads a quoted string with its escapes.
func (l *lexer) stringLit(quote byte) error {
	l.advance(1)
	var b strings.Builder
	for {
		if l.pos >= len(l.src) {
			return l.errorf("unterminated string")
		}
		c := l.src[l.pos]
		if c == quote {
			l.advance(1)
			l.push(tString, b.String())
			return nil
		}
		if c != '\\' {
			_, size := utf8.DecodeRuneInString(l.src[l.pos:])
			b.WriteString(l.src[l.pos : l.pos+size])
			l.advance(size)
			continue
		}
		if l.pos+1 >= len(l.src) {
			return l.errorf("unexpected end of input in a string")
		}
		e := l.src[l.pos+1]
		l.advance(2)
		if e == 'x' || e == 'u' {
			n := 2
			if e == 'u' {
				n = 4
			}
			if l.pos+n > len(l.src) {
				return l.errorf("invalid \\%c escape", e)
			}
			var v rune
			for _, h := range l.src[l.pos : l.pos+n] {
				d, ok := hexVal(h)
				if !ok {
					return l.errorf("invalid \\%c escape", e)
				}
				v = v*16 + d
			}
			b.WriteRune(v)
			l.advance(n)
			continue
		}
		s, ok := escapes[e]
		if !ok {
			return l.errorf("unexpected escaped character %q", e)
		}
		b.WriteString(s)
	}
}

func hexVal(r rune) (rune, bool) {
	switch {
	case r >= '0' && r <= '9':
		return r - '0', true
	case r >= 'a' && r <= 'f':
		return r - 'a' + 10, true
	case r >= 'A' && r <= 'F':
		return r - 'A' + 10, true
	}
	return 0, false
}
