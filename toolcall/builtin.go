package toolcall

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
)

// Calculator evaluates arithmetic: numbers, + − * / ^ (or **), unary
// minus and parentheses; ×, ÷ and full-width parentheses are accepted as
// MiniMind's mock tool does. It is a parser, not an evaluator of code.
type Calculator struct{}

// Name implements Tool.
func (Calculator) Name() string { return "calculate_math" }

// Schema implements Tool.
func (Calculator) Schema() json.RawMessage {
	return schema("calculate_math", "Evaluate an arithmetic expression", map[string]string{"expression": "string"}, "expression")
}

// Check implements Tool.
func (Calculator) Check(a map[string]any) bool { return str(a, "expression") != "" }

// Run implements Tool.
func (Calculator) Run(_ context.Context, a map[string]any) (any, error) {
	v, err := Eval(str(a, "expression"))
	if err != nil {
		return nil, err
	}
	return map[string]string{"result": strconv.FormatFloat(v, 'g', 12, 64)}, nil
}

// maxExprLen bounds an expression (and with it the parser's recursion).
const maxExprLen = 512

// Eval computes an arithmetic expression (see Calculator).
func Eval(expr string) (float64, error) {
	if len(expr) > maxExprLen {
		return 0, fmt.Errorf("toolcall: expression longer than %d characters", maxExprLen)
	}
	r := strings.NewReplacer("×", "*", "÷", "/", "−", "-", "（", "(", "）", ")", "**", "^")
	p := &parser{s: []rune(r.Replace(expr))}
	v, err := p.sum()
	if err != nil {
		return 0, err
	}
	p.space()
	if p.i < len(p.s) {
		return 0, fmt.Errorf("toolcall: unexpected %q at %d", string(p.s[p.i]), p.i)
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, errors.New("toolcall: the result is not a finite number")
	}
	return v, nil
}

type parser struct {
	s     []rune
	i     int
	depth int
}

func (p *parser) space() {
	for p.i < len(p.s) && unicode.IsSpace(p.s[p.i]) {
		p.i++
	}
}

func (p *parser) peek() rune {
	p.space()
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func (p *parser) sum() (float64, error) {
	v, err := p.product()
	if err != nil {
		return 0, err
	}
	for {
		switch p.peek() {
		case '+', '-':
			op := p.s[p.i]
			p.i++
			w, err := p.product()
			if err != nil {
				return 0, err
			}
			if op == '+' {
				v += w
			} else {
				v -= w
			}
		default:
			return v, nil
		}
	}
}

func (p *parser) product() (float64, error) {
	v, err := p.power()
	if err != nil {
		return 0, err
	}
	for {
		switch p.peek() {
		case '*', '/', '%':
			op := p.s[p.i]
			p.i++
			w, err := p.power()
			if err != nil {
				return 0, err
			}
			switch op {
			case '*':
				v *= w
			case '/':
				if w == 0 {
					return 0, errors.New("toolcall: division by zero")
				}
				v /= w
			default:
				if w == 0 {
					return 0, errors.New("toolcall: modulo by zero")
				}
				v = math.Mod(v, w)
			}
		default:
			return v, nil
		}
	}
}

func (p *parser) power() (float64, error) {
	b, err := p.unary()
	if err != nil {
		return 0, err
	}
	if p.peek() == '^' {
		p.i++
		e, err := p.power() // right-associative
		if err != nil {
			return 0, err
		}
		return math.Pow(b, e), nil
	}
	return b, nil
}

func (p *parser) unary() (float64, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > 64 {
		return 0, errors.New("toolcall: expression nested too deeply")
	}
	switch p.peek() {
	case '-':
		p.i++
		v, err := p.unary()
		return -v, err
	case '+':
		p.i++
		return p.unary()
	case '(':
		p.i++
		v, err := p.sum()
		if err != nil {
			return 0, err
		}
		if p.peek() != ')' {
			return 0, errors.New("toolcall: missing )")
		}
		p.i++
		return v, nil
	}
	start := p.i
	for p.i < len(p.s) && (unicode.IsDigit(p.s[p.i]) || p.s[p.i] == '.' || p.s[p.i] == ',') {
		p.i++
	}
	if start == p.i {
		if p.i < len(p.s) {
			return 0, fmt.Errorf("toolcall: unexpected %q at %d", string(p.s[p.i]), p.i)
		}
		return 0, errors.New("toolcall: unexpected end of expression")
	}
	v, err := strconv.ParseFloat(strings.ReplaceAll(string(p.s[start:p.i]), ",", ""), 64)
	if err != nil {
		return 0, fmt.Errorf("toolcall: bad number %q", string(p.s[start:p.i]))
	}
	return v, nil
}

// UnitConverter converts lengths, masses, temperatures and volumes between
// common units.
type UnitConverter struct{}

// Name implements Tool.
func (UnitConverter) Name() string { return "unit_converter" }

// Schema implements Tool.
func (UnitConverter) Schema() json.RawMessage {
	return schema("unit_converter", "Convert a value between units", map[string]string{"value": "number", "from_unit": "string", "to_unit": "string"},
		"value", "from_unit", "to_unit")
}

// Check implements Tool.
func (UnitConverter) Check(a map[string]any) bool {
	return a["value"] != nil && str(a, "from_unit") != "" && str(a, "to_unit") != ""
}

// units maps a unit name to its dimension and its size in the base unit
// (metre, kilogram, litre).
var units = map[string]struct {
	dim  string
	size float64
}{
	"m": {"length", 1}, "meter": {"length", 1}, "meters": {"length", 1}, "metre": {"length", 1},
	"km": {"length", 1000}, "kilometer": {"length", 1000}, "kilometers": {"length", 1000},
	"cm": {"length", 0.01}, "mm": {"length", 0.001},
	"mile": {"length", 1609.344}, "miles": {"length", 1609.344}, "mi": {"length", 1609.344},
	"ft": {"length", 0.3048}, "foot": {"length", 0.3048}, "feet": {"length", 0.3048},
	"in": {"length", 0.0254}, "inch": {"length", 0.0254}, "inches": {"length", 0.0254},
	"yd": {"length", 0.9144}, "yard": {"length", 0.9144}, "yards": {"length", 0.9144},
	"kg": {"mass", 1}, "kilogram": {"mass", 1}, "kilograms": {"mass", 1},
	"g": {"mass", 0.001}, "gram": {"mass", 0.001}, "grams": {"mass", 0.001},
	"lb": {"mass", 0.45359237}, "lbs": {"mass", 0.45359237}, "pound": {"mass", 0.45359237}, "pounds": {"mass", 0.45359237},
	"oz": {"mass", 0.028349523125}, "ounce": {"mass", 0.028349523125}, "ounces": {"mass", 0.028349523125},
	"l": {"volume", 1}, "liter": {"volume", 1}, "liters": {"volume", 1}, "litre": {"volume", 1},
	"ml": {"volume", 0.001}, "gallon": {"volume", 3.785411784}, "gallons": {"volume", 3.785411784},
}

// Convert converts v between units (temperatures: celsius, fahrenheit,
// kelvin).
func Convert(v float64, from, to string) (float64, error) {
	from, to = strings.ToLower(strings.TrimSpace(from)), strings.ToLower(strings.TrimSpace(to))
	temp := map[string]string{"c": "c", "celsius": "c", "f": "f", "fahrenheit": "f", "k": "k", "kelvin": "k"}
	if a, ok := temp[from]; ok {
		b, ok := temp[to]
		if !ok {
			return 0, fmt.Errorf("toolcall: cannot convert %s to %s", from, to)
		}
		c := map[string]func(float64) float64{"c": func(x float64) float64 { return x },
			"f": func(x float64) float64 { return (x - 32) * 5 / 9 }, "k": func(x float64) float64 { return x - 273.15 }}[a](v)
		return map[string]func(float64) float64{"c": func(x float64) float64 { return x },
			"f": func(x float64) float64 { return x*9/5 + 32 }, "k": func(x float64) float64 { return x + 273.15 }}[b](c), nil
	}
	a, ok1 := units[from]
	b, ok2 := units[to]
	if !ok1 || !ok2 {
		return 0, fmt.Errorf("toolcall: unknown unit %q or %q", from, to)
	}
	if a.dim != b.dim {
		return 0, fmt.Errorf("toolcall: cannot convert %s (%s) to %s (%s)", from, a.dim, to, b.dim)
	}
	return v * a.size / b.size, nil
}

// Run implements Tool.
func (UnitConverter) Run(_ context.Context, a map[string]any) (any, error) {
	var v float64
	switch x := a["value"].(type) {
	case float64:
		v = x
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil {
			return nil, fmt.Errorf("toolcall: value %q is not a number", x)
		}
		v = f
	default:
		return nil, errors.New("toolcall: value must be a number")
	}
	r, err := Convert(v, str(a, "from_unit"), str(a, "to_unit"))
	if err != nil {
		return nil, err
	}
	return map[string]float64{"result": math.Round(r*1e4) / 1e4}, nil
}

// Lookup answers from a fixed table (for example the definitions of the
// embedded corpus), case-insensitively.
type Lookup struct {
	entries map[string]string
}

// NewLookup returns a lookup tool over entries (key → text).
func NewLookup(entries map[string]string) *Lookup {
	l := &Lookup{entries: map[string]string{}}
	for k, v := range entries {
		l.entries[strings.ToLower(strings.TrimSpace(k))] = v
	}
	return l
}

// Name implements Tool.
func (*Lookup) Name() string { return "lookup" }

// Schema implements Tool.
func (*Lookup) Schema() json.RawMessage {
	return schema("lookup", "Look up a word in the dictionary", map[string]string{"query": "string"}, "query")
}

// Check implements Tool.
func (*Lookup) Check(a map[string]any) bool { return str(a, "query") != "" }

// Run implements Tool.
func (l *Lookup) Run(_ context.Context, a map[string]any) (any, error) {
	q := strings.ToLower(strings.TrimSpace(str(a, "query")))
	v, ok := l.entries[q]
	if !ok {
		return nil, fmt.Errorf("toolcall: %q is not in the dictionary", q)
	}
	return map[string]string{"query": q, "result": v}, nil
}
