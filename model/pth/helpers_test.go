package pth

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"math"
	"testing"
)

// pk assembles protocol-2 pickles by hand for the tests.
type pk struct{ bytes.Buffer }

func newPK() *pk {
	p := &pk{}
	p.WriteString("\x80\x02")
	return p
}

func (p *pk) op(ops ...byte) *pk { p.Write(ops); return p }

func (p *pk) str(s string) *pk {
	p.WriteByte('X')
	p.Write(binary.LittleEndian.AppendUint32(nil, uint32(len(s))))
	p.WriteString(s)
	return p
}

func (p *pk) int(v int64) *pk {
	switch {
	case v >= 0 && v < 256:
		p.WriteByte('K')
		p.WriteByte(byte(v))
	case v >= math.MinInt32 && v <= math.MaxInt32:
		p.WriteByte('J')
		p.Write(binary.LittleEndian.AppendUint32(nil, uint32(int32(v))))
	default:
		p.WriteString("\x8a\x08")
		p.Write(binary.LittleEndian.AppendUint64(nil, uint64(v)))
	}
	return p
}

func (p *pk) float(v float64) *pk {
	p.WriteByte('G')
	p.Write(binary.BigEndian.AppendUint64(nil, math.Float64bits(v)))
	return p
}

func (p *pk) global(mod, name string) *pk {
	p.WriteString("c" + mod + "\n" + name + "\n")
	return p
}

func (p *pk) ints(vs []int64) *pk {
	p.op('(')
	for _, v := range vs {
		p.int(v)
	}
	return p.op('t')
}

// tensor emits _rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict()).
func (p *pk) tensor(class, key string, numel, offset int64, size, stride []int64) *pk {
	p.global("torch._utils", "_rebuild_tensor_v2")
	p.op('(')
	p.op('(').str("storage").global("torch", class).str(key).str("cpu").int(numel).op('t', 'Q')
	p.int(offset).ints(size).ints(stride).op(0x89)
	p.global("collections", "OrderedDict").op(')', 'R')
	return p.op('t', 'R')
}

func (p *pk) stop() []byte { p.WriteByte('.'); return p.Bytes() }

// rec is one zip entry.
type rec struct {
	name   string
	data   []byte
	method uint16
}

func makeZip(t testing.TB, recs ...rec) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, r := range recs {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: r.name, Method: r.method})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(r.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// checkpoint builds a torch.save-style archive from a pickle and storage records.
func checkpoint(t testing.TB, pkl []byte, storages map[string][]byte, extra ...rec) []byte {
	recs := []rec{{name: "archive/data.pkl", data: pkl}}
	for _, k := range []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"} {
		if d, ok := storages[k]; ok {
			recs = append(recs, rec{name: "archive/data/" + k, data: d})
		}
	}
	recs = append(recs, rec{name: "archive/version", data: []byte("3\n")})
	return makeZip(t, append(recs, extra...)...)
}

func f32Bytes(vs ...float32) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b
}

func iota32(n int) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(i)
	}
	return out
}
