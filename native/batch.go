package native

import (
	"fmt"
	"math/bits"
	"math/rand/v2"

	"github.com/minimind-go/minimind/model"
)

// Epoch is the row layout of one epoch: the order of the samples and, when
// packing, which consecutive samples share a row.
type Epoch struct {
	data  *Dataset
	T     int     // tokens per row
	order []int32 // [samples] sample indices in epoch order
	// rows[r] is the index into order of row r's first sample; rows has
	// Rows()+1 entries. nil when every row holds one sample.
	rows []int32
}

// EpochOptions selects the order and layout of an epoch.
type EpochOptions struct {
	Shuffle bool   // permute the samples (seeded by Seed and the epoch)
	Seed    uint64 // data order seed
	Packing bool   // several samples per row
	T       int    // tokens per row (max_seq_len)
}

// NewEpoch lays out epoch number epoch (from 0) of d. The same options and
// epoch always give the same layout, so an interrupted epoch can resume.
func NewEpoch(d *Dataset, epoch int, opt EpochOptions) (*Epoch, error) {
	if opt.T < 2 {
		return nil, fmt.Errorf("native: rows of %d tokens are too short", opt.T)
	}
	n := d.Len()
	e := &Epoch{data: d, T: opt.T, order: make([]int32, n)}
	for i := range e.order {
		e.order[i] = int32(i)
	}
	if opt.Shuffle {
		Shuffle(e.order, opt.Seed, uint64(epoch))
	}
	for i := range n {
		if l := d.DocLen(i); l > opt.T {
			return nil, fmt.Errorf("native: sample %d has %d tokens, more than a row of %d", i, l, opt.T)
		}
	}
	if opt.Packing {
		e.rows = []int32{0}
		used := 0
		for i, s := range e.order {
			l := d.DocLen(int(s))
			if used > 0 && used+l > opt.T {
				e.rows = append(e.rows, int32(i))
				used = 0
			}
			used += l
		}
		e.rows = append(e.rows, int32(n))
		if n == 0 {
			e.rows = []int32{0}
		}
	}
	return e, nil
}

// Shuffle permutes order with a Fisher–Yates shuffle driven by a PCG
// generator seeded with (seed, stream): the same arguments always give the
// same permutation.
func Shuffle(order []int32, seed, stream uint64) {
	rng := rand.NewPCG(seed, stream)
	for i := len(order) - 1; i > 0; i-- {
		j := boundedRand(rng, uint64(i+1))
		order[i], order[j] = order[j], order[i]
	}
}

// boundedRand returns a uniform value in [0, n) (Lemire's method).
func boundedRand(rng *rand.PCG, n uint64) uint64 {
	hi, lo := bits.Mul64(rng.Uint64(), n)
	if lo < n {
		thresh := -n % n
		for lo < thresh {
			hi, lo = bits.Mul64(rng.Uint64(), n)
		}
	}
	return hi
}

// Rows is the number of rows of the epoch.
func (e *Epoch) Rows() int {
	if e.rows == nil {
		return len(e.order)
	}
	return len(e.rows) - 1
}

// Iters is the number of micro-batches of b rows (the last may be smaller).
func (e *Epoch) Iters(b int) int { return (e.Rows() + b - 1) / b }

// PadShare is the share of padding tokens among the epoch's row tokens.
func (e *Epoch) PadShare() float64 {
	if e.Rows() == 0 {
		return 0
	}
	return 1 - float64(e.data.Stats.Tokens)/float64(e.Rows()*e.T)
}

// Batch builds micro-batch i of b rows (rows i·b …). Padded rows
// (unpacked): [sample, pad…], labels equal to the ids where the sample
// labels them and -100 elsewhere. Packed rows: samples one after another,
// then padding; Positions restart at 0 for every sample and for the
// padding run, Docs number them from 0 in each row, and the first token of
// every sample and the padding carry no label.
func (e *Epoch) Batch(i, b int) (model.Batch, error) {
	lo := i * b
	hi := min(lo+b, e.Rows())
	if i < 0 || lo >= hi {
		return model.Batch{}, fmt.Errorf("native: micro-batch %d of %d rows is past the epoch's %d rows", i, b, e.Rows())
	}
	T := e.T
	rows := hi - lo
	bt := model.Batch{B: rows, T: T,
		Input:  make([]int32, rows*T), // [B, T]
		Labels: make([]int32, rows*T), // [B, T]
	}
	if e.rows != nil {
		bt.Positions = make([]int32, rows*T) // [B, T]
		bt.Docs = make([]int32, rows*T)      // [B, T]
	}
	pad := e.data.padID()
	for r := range rows {
		in := bt.Input[r*T : (r+1)*T]
		lab := bt.Labels[r*T : (r+1)*T]
		for t := range lab {
			in[t], lab[t] = pad, model.IgnoreIndex
		}
		first, last := lo+r, lo+r+1 // samples order[first:last] fill the row
		if e.rows != nil {
			first, last = int(e.rows[lo+r]), int(e.rows[lo+r+1])
		}
		at := 0
		for k := first; k < last; k++ {
			doc, err := e.data.Doc(int(e.order[k]))
			if err != nil {
				return model.Batch{}, err
			}
			for j, id := range doc.Tokens {
				in[at+j] = id
				if doc.Labelled(j) && !(e.rows != nil && j == 0) {
					lab[at+j] = id
				}
				if e.rows != nil {
					bt.Positions[r*T+at+j] = int32(j)
					bt.Docs[r*T+at+j] = int32(k - first)
				}
			}
			at += len(doc.Tokens)
		}
		if e.rows != nil {
			for j := at; j < T; j++ {
				bt.Positions[r*T+j] = int32(j - at)
				bt.Docs[r*T+j] = int32(last - first)
			}
		}
	}
	return bt, nil
}

// padID is the padding id of the dataset's samples.
func (d *Dataset) padID() int32 { return d.pad }
