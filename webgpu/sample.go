package webgpu

import (
	"fmt"

	"github.com/minimind-go/minimind/model"
)

// Argmax returns the index of the largest value of each row of x [rows,
// cols] (ties to the lower index, as model.Sampler's greedy choice),
// computed on the device: a greedy decode step reads back rows·4 bytes
// instead of the logits.
func (e *Engine) Argmax(x model.Tensor, rows, cols int) ([]int32, error) {
	t := e.tensor("Argmax", "x", x)
	if t == nil {
		return nil, e.err
	}
	if rows <= 0 || cols <= 0 {
		return nil, fmt.Errorf("webgpu: Argmax: bad shape [%d, %d]", rows, cols)
	}
	if !e.need("Argmax", "x", t, rows*cols) {
		return nil, e.err
	}
	res, _, err := e.getBuffer(e.pooledSize(bufBytes(rows)))
	if err != nil {
		e.fail(fmt.Errorf("webgpu: Argmax: %w", err))
		return nil, e.err
	}
	defer e.putBuffer(res)
	gx, gy := e.fold(rows)
	e.launch("Argmax", "argmax", []uint32{uint32(rows), uint32(cols), 0, 0}, nil, nil,
		[]arg{in(t), raw(res, true)}, gx, gy, 1)
	u := e.readU32(res, rows)
	if e.err != nil {
		return nil, e.err
	}
	ids := make([]int32, rows)
	for i, v := range u {
		ids[i] = int32(v)
	}
	return ids, nil
}

// TopK returns the k largest values of each row of x [rows, cols] and their
// indices, best first (ties to the lower index, as model.Sampler's sort),
// computed on the device: ids and vals are [rows, k]. Sampling with top-k
// then needs 8·k bytes per row instead of the logits.
func (e *Engine) TopK(x model.Tensor, rows, cols, k int) (ids []int32, vals []float32, err error) {
	t := e.tensor("TopK", "x", x)
	if t == nil {
		return nil, nil, e.err
	}
	if rows <= 0 || cols <= 0 || k <= 0 || k > cols {
		return nil, nil, fmt.Errorf("webgpu: TopK: bad shape [%d, %d] or k = %d", rows, cols, k)
	}
	if !e.need("TopK", "x", t, rows*cols) {
		return nil, nil, e.err
	}
	ib, _, err := e.getBuffer(e.pooledSize(bufBytes(rows * k)))
	if err != nil {
		e.fail(fmt.Errorf("webgpu: TopK: %w", err))
		return nil, nil, e.err
	}
	defer e.putBuffer(ib)
	vt := e.Alloc(rows * k).(*Tensor)
	defer e.Free(vt)
	gx, gy := e.fold(rows)
	e.launch("TopK", "topk", []uint32{uint32(rows), uint32(cols), uint32(k), 0}, nil, nil,
		[]arg{in(t), raw(ib, true), out(vt, rows*k == vt.n)}, gx, gy, 1)
	u := make([]uint32, rows*k)
	vals = make([]float32, rows*k)
	if e.err == nil {
		e.stats.Reads++
		e.flush([]readback{{buf: ib.b, size: uint64(rows*k) * 4, dst: u32Bytes(u)},
			{buf: vt.buf.b, size: uint64(rows*k) * 4, dst: f32Bytes(vals)}})
	}
	if e.err != nil {
		return nil, nil, e.err
	}
	ids = make([]int32, len(u))
	for i, v := range u {
		ids[i] = int32(v)
	}
	return ids, vals, nil
}
