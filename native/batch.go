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

// PairEpoch is one epoch of DPO pairs: the order of the pairs, each
// micro-batch of b pairs laid out as 2b rows of T tokens, the b chosen rows
// first, then the b rejected rows in the same order.
type PairEpoch struct {
	data  *Dataset
	T     int
	order []int32 // [pairs]
}

// NewPairEpoch lays out epoch number epoch of a DPO dataset (mode dpo,
// max_seq_len T), shuffled like NewEpoch.
func NewPairEpoch(d *Dataset, epoch int, shuffle bool, seed uint64, T int) (*PairEpoch, error) {
	if T < 2 {
		return nil, fmt.Errorf("native: rows of %d tokens are too short", T)
	}
	e := &PairEpoch{data: d, T: T, order: make([]int32, d.Len())}
	for i := range e.order {
		e.order[i] = int32(i)
	}
	if shuffle {
		Shuffle(e.order, seed, uint64(epoch))
	}
	return e, nil
}

// Rows is the number of pairs.
func (e *PairEpoch) Rows() int { return len(e.order) }

// Iters is the number of micro-batches of b pairs.
func (e *PairEpoch) Iters(b int) int { return (e.Rows() + b - 1) / b }

// PadShare is the share of padding among the rows' tokens.
func (e *PairEpoch) PadShare() float64 {
	if e.Rows() == 0 {
		return 0
	}
	var pad int64
	for i := range e.Rows() {
		pad += int64(2*e.T - e.data.DocLen(i))
	}
	// the chosen side is stored padded: count its real tokens as the data's
	return float64(pad) / float64(2*e.T*e.Rows())
}

// Batch builds micro-batch i of b pairs: rows [chosen…, rejected…], each
// right-padded to T with labels (the ids) on the assistant spans only;
// Samples holds the pairs' indices.
func (e *PairEpoch) Batch(i, b int) (model.Batch, error) {
	lo := i * b
	hi := min(lo+b, e.Rows())
	if i < 0 || lo >= hi {
		return model.Batch{}, fmt.Errorf("native: micro-batch %d of %d pairs is past the epoch's %d pairs", i, b, e.Rows())
	}
	P, T := hi-lo, e.T
	bt := model.Batch{B: 2 * P, T: T,
		Input:   make([]int32, 2*P*T), // [2P, T]
		Labels:  make([]int32, 2*P*T), // [2P, T]
		Samples: make([]int32, P),
	}
	pad := e.data.padID()
	for k := range P {
		s := e.order[lo+k]
		bt.Samples[k] = s
		doc, err := e.data.Doc(int(s))
		if err != nil {
			return model.Batch{}, err
		}
		c, r := SplitPair(doc, T)
		for side, d := range []Doc{c, r} {
			row := side*P + k
			in, lab := bt.Input[row*T:(row+1)*T], bt.Labels[row*T:(row+1)*T]
			for t := range T {
				in[t], lab[t] = pad, model.IgnoreIndex
			}
			for t, id := range d.Tokens[:min(len(d.Tokens), T)] {
				in[t] = id
				if d.Labelled(t) {
					lab[t] = id
				}
			}
		}
	}
	return bt, nil
}
