package pth

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// Values the interpreter builds. Scalars are nil, bool, int64, *big.Int, float64, string
// and []byte; containers and torch objects use the types below.
type (
	// pTuple is an immutable Python tuple.
	pTuple []any
	// pList is a Python list (or set): a pointer, since APPEND mutates it after memoization.
	pList struct{ items []any }
	// pDict is an insertion-ordered Python dict or OrderedDict.
	pDict struct {
		keys, vals []any
		index      map[string]int // canonical key -> position
	}
	// pGlobal is a class or function named by GLOBAL / STACK_GLOBAL; it is never resolved
	// to code, only compared against the names this reader knows.
	pGlobal struct{ module, name string }
	// pObject is the inert result of calling or instantiating an unknown class.
	pObject struct {
		class pGlobal
		args  any
		state any
	}
	// pStorage is a storage named by a persistent id: ('storage', type, key, location, numel).
	pStorage struct {
		key, location string
		class         string // "torch.HalfStorage"
		dtype         string // safetensors dtype name; "" for an unsupported class
		numel         int64
		// Set by File.checkStorage.
		checked bool
		err     error
		record  *zip.File
	}
	// pTensor is a view into a storage, from torch._utils._rebuild_tensor_v2.
	pTensor struct {
		storage *pStorage
		offset  int64
		shape   []int64
		stride  []int64
	}
)

// Pickle opcodes (protocols 2 to 4; the text opcodes of protocol 0 are not accepted).
const (
	opMark           = '('
	opStop           = '.'
	opPop            = '0'
	opPopMark        = '1'
	opDup            = '2'
	opBinInt         = 'J'
	opBinInt1        = 'K'
	opBinInt2        = 'M'
	opNone           = 'N'
	opBinPersID      = 'Q'
	opReduce         = 'R'
	opBinString      = 'T'
	opShortBinString = 'U'
	opBinUnicode     = 'X'
	opAppend         = 'a'
	opBuild          = 'b'
	opGlobal         = 'c'
	opDict           = 'd'
	opEmptyDict      = '}'
	opAppends        = 'e'
	opBinGet         = 'h'
	opLongBinGet     = 'j'
	opList           = 'l'
	opEmptyList      = ']'
	opBinPut         = 'q'
	opLongBinPut     = 'r'
	opSetItem        = 's'
	opTuple          = 't'
	opEmptyTuple     = ')'
	opSetItems       = 'u'
	opBinFloat       = 'G'
	opProto          = 0x80
	opNewObj         = 0x81
	opTuple1         = 0x85
	opTuple2         = 0x86
	opTuple3         = 0x87
	opNewTrue        = 0x88
	opNewFalse       = 0x89
	opLong1          = 0x8a
	opLong4          = 0x8b
	opBinBytes       = 'B'
	opShortBinBytes  = 'C'
	opShortBinUni    = 0x8c
	opBinUnicode8    = 0x8d
	opBinBytes8      = 0x8e
	opEmptySet       = 0x8f
	opAddItems       = 0x90
	opFrozenSet      = 0x91
	opNewObjEx       = 0x92
	opStackGlobal    = 0x93
	opMemoize        = 0x94
	opFrame          = 0x95
)

// storageDTypes maps torch's typed storage class names to safetensors dtype names.
var storageDTypes = map[string]string{
	"HalfStorage": "F16", "BFloat16Storage": "BF16", "FloatStorage": "F32", "DoubleStorage": "F64",
	"LongStorage": "I64", "IntStorage": "I32", "ShortStorage": "I16", "CharStorage": "I8",
	"ByteStorage": "U8", "BoolStorage": "BOOL", "UntypedStorage": "U8",
}

// unpickler runs one pickle program. persistentLoad resolves BINPERSID ids.
type unpickler struct {
	data           []byte
	pos            int
	op             int // offset of the opcode being executed, for error messages
	stack          []any
	marks          []int
	memo           map[uint64]any
	persistentLoad func(pid any) (any, error)
}

// unpickle runs data to its STOP opcode and returns the value it produced.
func unpickle(data []byte, persistentLoad func(any) (any, error)) (any, error) {
	u := &unpickler{data: data, memo: make(map[uint64]any), persistentLoad: persistentLoad}
	return u.run()
}

func (u *unpickler) errorf(format string, args ...any) error {
	return fmt.Errorf("offset %d: %s: %w", u.op, fmt.Sprintf(format, args...), ErrPickle)
}

func (u *unpickler) read(n uint64) ([]byte, error) {
	if n > uint64(len(u.data)-u.pos) {
		return nil, u.errorf("needs %d bytes, %d left", n, len(u.data)-u.pos)
	}
	b := u.data[u.pos : u.pos+int(n)]
	u.pos += int(n)
	return b, nil
}

func (u *unpickler) readUint(n int) (uint64, error) {
	b, err := u.read(uint64(n))
	if err != nil {
		return 0, err
	}
	var buf [8]byte
	copy(buf[:], b)
	return binary.LittleEndian.Uint64(buf[:]), nil
}

func (u *unpickler) readLine() (string, error) {
	i := bytes.IndexByte(u.data[u.pos:], '\n')
	if i < 0 {
		return "", u.errorf("unterminated line")
	}
	s := string(u.data[u.pos : u.pos+i])
	u.pos += i + 1
	return s, nil
}

func (u *unpickler) push(v any) { u.stack = append(u.stack, v) }

func (u *unpickler) floor() int {
	if len(u.marks) == 0 {
		return 0
	}
	return u.marks[len(u.marks)-1]
}

func (u *unpickler) pop() (any, error) {
	if len(u.stack) <= u.floor() {
		return nil, u.errorf("stack underflow")
	}
	v := u.stack[len(u.stack)-1]
	u.stack = u.stack[:len(u.stack)-1]
	return v, nil
}

func (u *unpickler) top() (any, error) {
	if len(u.stack) <= u.floor() {
		return nil, u.errorf("stack underflow")
	}
	return u.stack[len(u.stack)-1], nil
}

// popMark returns the items pushed since the last MARK and removes them and the mark.
func (u *unpickler) popMark() ([]any, error) {
	if len(u.marks) == 0 {
		return nil, u.errorf("no MARK on the stack")
	}
	m := u.marks[len(u.marks)-1]
	u.marks = u.marks[:len(u.marks)-1]
	items := append([]any(nil), u.stack[m:]...)
	u.stack = u.stack[:m]
	return items, nil
}

func (u *unpickler) run() (any, error) {
	for u.pos < len(u.data) {
		u.op = u.pos
		op := u.data[u.pos]
		u.pos++
		if err := u.step(op); err != nil {
			if err == errStop {
				v, err := u.pop()
				if err != nil {
					return nil, err
				}
				return v, nil
			}
			return nil, err
		}
	}
	return nil, u.errorf("no STOP opcode before the end of data")
}

// errStop is step's signal that STOP was reached.
var errStop = errors.New("stop")

func (u *unpickler) step(op byte) error {
	switch op {
	case opProto:
		b, err := u.read(1)
		if err != nil {
			return err
		}
		if b[0] > 5 {
			return u.errorf("protocol %d", b[0])
		}
	case opFrame:
		if _, err := u.read(8); err != nil {
			return err
		}
	case opStop:
		return errStop
	case opMark:
		u.marks = append(u.marks, len(u.stack))
	case opPop:
		if len(u.marks) > 0 && len(u.stack) == u.floor() {
			u.marks = u.marks[:len(u.marks)-1]
			return nil
		}
		_, err := u.pop()
		return err
	case opPopMark:
		_, err := u.popMark()
		return err
	case opDup:
		v, err := u.top()
		if err != nil {
			return err
		}
		u.push(v)
	case opBinInt:
		v, err := u.readUint(4)
		if err != nil {
			return err
		}
		u.push(int64(int32(uint32(v))))
	case opBinInt1:
		v, err := u.readUint(1)
		if err != nil {
			return err
		}
		u.push(int64(v))
	case opBinInt2:
		v, err := u.readUint(2)
		if err != nil {
			return err
		}
		u.push(int64(v))
	case opLong1, opLong4:
		w := 1
		if op == opLong4 {
			w = 4
		}
		n, err := u.readUint(w)
		if err != nil {
			return err
		}
		if op == opLong4 && int32(uint32(n)) < 0 {
			return u.errorf("negative LONG4 length")
		}
		b, err := u.read(n)
		if err != nil {
			return err
		}
		u.push(decodeLong(b))
	case opNone:
		u.push(nil)
	case opNewTrue:
		u.push(true)
	case opNewFalse:
		u.push(false)
	case opBinFloat:
		b, err := u.read(8)
		if err != nil {
			return err
		}
		u.push(math.Float64frombits(binary.BigEndian.Uint64(b)))
	case opShortBinString, opShortBinUni, opShortBinBytes, opBinString, opBinUnicode, opBinBytes, opBinUnicode8, opBinBytes8:
		w := 4
		switch op {
		case opShortBinString, opShortBinUni, opShortBinBytes:
			w = 1
		case opBinUnicode8, opBinBytes8:
			w = 8
		}
		n, err := u.readUint(w)
		if err != nil {
			return err
		}
		if op == opBinString && int32(uint32(n)) < 0 {
			return u.errorf("negative BINSTRING length")
		}
		b, err := u.read(n)
		if err != nil {
			return err
		}
		if op == opBinBytes || op == opShortBinBytes || op == opBinBytes8 {
			u.push(append([]byte(nil), b...))
		} else {
			u.push(string(b))
		}
	case opEmptyTuple:
		u.push(pTuple{})
	case opTuple:
		items, err := u.popMark()
		if err != nil {
			return err
		}
		u.push(pTuple(items))
	case opTuple1, opTuple2, opTuple3:
		n := int(op-opTuple1) + 1
		if len(u.stack)-n < u.floor() {
			return u.errorf("stack underflow")
		}
		t := append(pTuple(nil), u.stack[len(u.stack)-n:]...)
		u.stack = u.stack[:len(u.stack)-n]
		u.push(t)
	case opEmptyList:
		u.push(&pList{})
	case opList:
		items, err := u.popMark()
		if err != nil {
			return err
		}
		u.push(&pList{items: items})
	case opEmptySet:
		u.push(&pList{})
	case opFrozenSet:
		items, err := u.popMark()
		if err != nil {
			return err
		}
		u.push(&pList{items: items})
	case opAppend:
		v, err := u.pop()
		if err != nil {
			return err
		}
		return u.appendTo([]any{v})
	case opAppends, opAddItems:
		items, err := u.popMark()
		if err != nil {
			return err
		}
		return u.appendTo(items)
	case opEmptyDict:
		u.push(newDict())
	case opDict:
		items, err := u.popMark()
		if err != nil {
			return err
		}
		d := newDict()
		if err := u.setItems(d, items); err != nil {
			return err
		}
		u.push(d)
	case opSetItem:
		v, err := u.pop()
		if err != nil {
			return err
		}
		k, err := u.pop()
		if err != nil {
			return err
		}
		return u.setItemsOnTop([]any{k, v})
	case opSetItems:
		items, err := u.popMark()
		if err != nil {
			return err
		}
		return u.setItemsOnTop(items)
	case opGlobal:
		mod, err := u.readLine()
		if err != nil {
			return err
		}
		name, err := u.readLine()
		if err != nil {
			return err
		}
		u.push(pGlobal{mod, name})
	case opStackGlobal:
		name, err := u.pop()
		if err != nil {
			return err
		}
		mod, err := u.pop()
		if err != nil {
			return err
		}
		ms, ok1 := mod.(string)
		ns, ok2 := name.(string)
		if !ok1 || !ok2 {
			return u.errorf("STACK_GLOBAL needs two strings")
		}
		u.push(pGlobal{ms, ns})
	case opReduce:
		args, err := u.pop()
		if err != nil {
			return err
		}
		fn, err := u.pop()
		if err != nil {
			return err
		}
		v, err := u.call(fn, args, 0)
		if err != nil {
			return err
		}
		u.push(v)
	case opNewObj, opNewObjEx:
		if op == opNewObjEx {
			if _, err := u.pop(); err != nil { // keyword arguments: recorded nowhere
				return err
			}
		}
		args, err := u.pop()
		if err != nil {
			return err
		}
		cls, err := u.pop()
		if err != nil {
			return err
		}
		g, ok := cls.(pGlobal)
		if !ok {
			return u.errorf("NEWOBJ on a %s, not a class", typeName(cls))
		}
		if g == (pGlobal{"collections", "OrderedDict"}) {
			u.push(newDict())
			return nil
		}
		u.push(&pObject{class: g, args: args})
	case opBuild:
		state, err := u.pop()
		if err != nil {
			return err
		}
		obj, err := u.top()
		if err != nil {
			return err
		}
		switch o := obj.(type) {
		case *pObject:
			o.state = state
		case *pDict, *pTensor:
			// An OrderedDict's attributes (a state dict's _metadata) or a tensor's Python
			// attributes: nothing a checkpoint reader needs.
		default:
			return u.errorf("BUILD on a %s", typeName(obj))
		}
	case opBinPersID:
		pid, err := u.pop()
		if err != nil {
			return err
		}
		if u.persistentLoad == nil {
			return u.errorf("persistent id without a loader")
		}
		v, err := u.persistentLoad(pid)
		if err != nil {
			return fmt.Errorf("offset %d: %w", u.op, err)
		}
		u.push(v)
	case opBinGet, opLongBinGet:
		w := 1
		if op == opLongBinGet {
			w = 4
		}
		i, err := u.readUint(w)
		if err != nil {
			return err
		}
		v, ok := u.memo[i]
		if !ok {
			return u.errorf("memo key %d not defined", i)
		}
		u.push(v)
	case opBinPut, opLongBinPut, opMemoize:
		var i uint64
		switch op {
		case opBinPut:
			var err error
			if i, err = u.readUint(1); err != nil {
				return err
			}
		case opLongBinPut:
			var err error
			if i, err = u.readUint(4); err != nil {
				return err
			}
		default:
			i = uint64(len(u.memo))
		}
		v, err := u.top()
		if err != nil {
			return err
		}
		u.memo[i] = v
	default:
		return u.errorf("unsupported opcode %#02x", op)
	}
	return nil
}

func (u *unpickler) appendTo(items []any) error {
	obj, err := u.top()
	if err != nil {
		return err
	}
	l, ok := obj.(*pList)
	if !ok {
		return u.errorf("APPEND to a %s", typeName(obj))
	}
	l.items = append(l.items, items...)
	return nil
}

func (u *unpickler) setItemsOnTop(items []any) error {
	obj, err := u.top()
	if err != nil {
		return err
	}
	d, ok := obj.(*pDict)
	if !ok {
		return u.errorf("SETITEM on a %s", typeName(obj))
	}
	return u.setItems(d, items)
}

func (u *unpickler) setItems(d *pDict, items []any) error {
	if len(items)%2 != 0 {
		return u.errorf("odd number of items for a dict")
	}
	for i := 0; i < len(items); i += 2 {
		if err := d.set(items[i], items[i+1]); err != nil {
			return u.errorf("%v", err)
		}
	}
	return nil
}

// call applies a known callable to its arguments. Unknown callables are not run: they
// become inert objects. depth bounds _rebuild_from_type_v2's nested calls.
func (u *unpickler) call(fn, args any, depth int) (any, error) {
	g, ok := fn.(pGlobal)
	if !ok {
		return nil, u.errorf("REDUCE on a %s, not a global", typeName(fn))
	}
	a, ok := args.(pTuple)
	if !ok {
		return nil, u.errorf("%s.%s called with a %s, not a tuple", g.module, g.name, typeName(args))
	}
	switch g.module + "." + g.name {
	case "collections.OrderedDict", "builtins.dict", "__builtin__.dict":
		d := newDict()
		if len(a) == 0 {
			return d, nil
		}
		src, ok := a[0].(*pList)
		if len(a) != 1 || !ok {
			return nil, u.errorf("%s.%s arguments", g.module, g.name)
		}
		for _, it := range src.items {
			kv, ok := it.(pTuple)
			if !ok || len(kv) != 2 {
				return nil, u.errorf("%s.%s item is not a pair", g.module, g.name)
			}
			if err := d.set(kv[0], kv[1]); err != nil {
				return nil, u.errorf("%v", err)
			}
		}
		return d, nil
	case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor":
		lo, hi := 6, 7
		if g.name == "_rebuild_tensor" {
			lo, hi = 4, 4
		}
		if len(a) < lo || len(a) > hi {
			return nil, u.errorf("%s with %d arguments", g.name, len(a))
		}
		st, ok := a[0].(*pStorage)
		if !ok {
			return nil, u.errorf("%s: storage is a %s", g.name, typeName(a[0]))
		}
		off, ok1 := a[1].(int64)
		shape, ok2 := intTuple(a[2])
		stride, ok3 := intTuple(a[3])
		if !ok1 || !ok2 || !ok3 {
			return nil, u.errorf("%s: offset, size and stride must be integers", g.name)
		}
		return &pTensor{storage: st, offset: off, shape: shape, stride: stride}, nil
	case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state":
		if len(a) < 3 || len(a) > 4 {
			return nil, u.errorf("%s with %d arguments", g.name, len(a))
		}
		if _, ok := a[0].(*pTensor); !ok {
			return nil, u.errorf("%s of a %s", g.name, typeName(a[0]))
		}
		return a[0], nil
	case "torch._tensor._rebuild_from_type_v2":
		if len(a) != 4 || depth > 4 {
			return nil, u.errorf("%s with %d arguments", g.name, len(a))
		}
		return u.call(a[0], a[2], depth+1)
	case "_codecs.encode":
		// Protocol 2 pickles bytes as _codecs.encode(text, "latin1").
		if len(a) != 2 {
			return nil, u.errorf("_codecs.encode with %d arguments", len(a))
		}
		s, ok := a[0].(string)
		if !ok || a[1] != "latin1" {
			return nil, u.errorf("_codecs.encode arguments")
		}
		b := make([]byte, 0, len(s))
		for _, r := range s {
			if r > 0xff {
				return nil, u.errorf("_codecs.encode: rune %U is not latin1", r)
			}
			b = append(b, byte(r))
		}
		return b, nil
	case "builtins.set", "builtins.frozenset", "__builtin__.set", "__builtin__.frozenset":
		if len(a) == 0 {
			return &pList{}, nil
		}
		src, ok := a[0].(*pList)
		if len(a) != 1 || !ok {
			return nil, u.errorf("%s arguments", g.name)
		}
		return &pList{items: append([]any(nil), src.items...)}, nil
	}
	return &pObject{class: g, args: args}, nil
}

func intTuple(v any) ([]int64, bool) {
	t, ok := v.(pTuple)
	if !ok {
		return nil, false
	}
	out := make([]int64, len(t))
	for i, x := range t {
		n, ok := x.(int64)
		if !ok {
			return nil, false
		}
		out[i] = n
	}
	return out, true
}

// decodeLong decodes a little-endian two's-complement integer (LONG1/LONG4).
func decodeLong(b []byte) any {
	if len(b) == 0 {
		return int64(0)
	}
	if len(b) <= 8 {
		var v uint64
		for i := len(b) - 1; i >= 0; i-- {
			v = v<<8 | uint64(b[i])
		}
		shift := uint(64 - 8*len(b))
		return int64(v<<shift) >> shift // sign-extend
	}
	be := make([]byte, len(b))
	for i := range b {
		be[len(b)-1-i] = b[i]
	}
	n := new(big.Int).SetBytes(be)
	if b[len(b)-1]&0x80 != 0 {
		n.Sub(n, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	return n
}

func newDict() *pDict { return &pDict{index: make(map[string]int)} }

// set inserts or replaces key, keeping the first insertion's position as Python does.
func (d *pDict) set(k, v any) error {
	ks, err := hashKey(k)
	if err != nil {
		return err
	}
	if i, ok := d.index[ks]; ok {
		d.vals[i] = v
		return nil
	}
	d.index[ks] = len(d.keys)
	d.keys = append(d.keys, k)
	d.vals = append(d.vals, v)
	return nil
}

// maxKeyBytes bounds the canonical form of one dict key, so that a tuple key built from
// shared sub-tuples (each level doubling the size) cannot exhaust memory.
const maxKeyBytes = 1 << 16

// hashKey returns a canonical string for a hashable Python value (equal values, such as
// True and 1, give the same string), or an error for unhashable or oversized ones.
func hashKey(k any) (string, error) {
	var sb strings.Builder
	if err := writeKey(&sb, k, 0); err != nil {
		return "", err
	}
	return sb.String(), nil
}

func writeKey(sb *strings.Builder, k any, depth int) error {
	if depth > 32 || sb.Len() > maxKeyBytes {
		return fmt.Errorf("dict key too large or too deeply nested")
	}
	switch v := k.(type) {
	case nil:
		sb.WriteString("N")
	case bool:
		if v {
			sb.WriteString("i1")
		} else {
			sb.WriteString("i0")
		}
	case int64:
		sb.WriteString("i" + strconv.FormatInt(v, 10))
	case *big.Int:
		sb.WriteString("i" + v.String())
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1<<63 {
			sb.WriteString("i" + strconv.FormatInt(int64(v), 10))
		} else {
			sb.WriteString("f" + strconv.FormatFloat(v, 'g', -1, 64))
		}
	case string:
		sb.WriteString("s" + strconv.Itoa(len(v)) + ":" + v)
	case []byte:
		sb.WriteString("b" + strconv.Itoa(len(v)) + ":" + string(v))
	case pGlobal:
		sb.WriteString("g" + strconv.Itoa(len(v.module)) + ":" + v.module + "." + v.name)
	case pTuple:
		sb.WriteString("(")
		for _, x := range v {
			if err := writeKey(sb, x, depth+1); err != nil {
				return err
			}
			sb.WriteString(",")
		}
		sb.WriteString(")")
	default:
		return fmt.Errorf("unhashable dict key of type %s", typeName(k))
	}
	if sb.Len() > maxKeyBytes {
		return fmt.Errorf("dict key too large")
	}
	return nil
}

// typeName names a pickle value's Python type for error messages.
func typeName(v any) string {
	switch v := v.(type) {
	case nil:
		return "None"
	case bool:
		return "bool"
	case int64, *big.Int:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case []byte:
		return "bytes"
	case pTuple:
		return "tuple"
	case *pList:
		return "list"
	case *pDict:
		return "dict"
	case pGlobal:
		return "global " + v.module + "." + v.name
	case *pObject:
		return v.class.module + "." + v.class.name + " object"
	case *pStorage:
		return "storage"
	case *pTensor:
		return "tensor"
	}
	return fmt.Sprintf("%T", v)
}
