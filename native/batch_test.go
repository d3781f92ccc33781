package native

import (
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/minimind-go/minimind/model"
)

// goldenBatch is batch.json.
type goldenBatch struct {
	InputIDs       [][]int32 `json:"input_ids"`
	Labels         [][]int32 `json:"labels"`
	PackedInputIDs [][]int32 `json:"packed_input_ids"`
	PackedLabels   [][]int32 `json:"packed_labels"`
	PackedPos      [][]int32 `json:"packed_position_ids"`
	PackedDocs     [][]int32 `json:"packed_doc_ids"`
}

// docsOfRows cuts padded pretraining rows ([bos … eos] then pad 0) back
// into documents.
func docsOfRows(rows [][]int32) []Doc {
	var docs []Doc
	for _, r := range rows {
		n := slices.Index(r, 2) + 1 // through eos
		docs = append(docs, Doc{Tokens: slices.Clone(r[:n])})
	}
	return docs
}

// docsOfPacked cuts packed rows into their documents.
func docsOfPacked(ids, docIDs [][]int32) []Doc {
	var docs []Doc
	for r, row := range ids {
		for j := 0; j < len(row); {
			k := j
			for k < len(row) && docIDs[r][k] == docIDs[r][j] {
				k++
			}
			if row[j] == 1 { // a document starts with bos; the padding run does not
				docs = append(docs, Doc{Tokens: slices.Clone(row[j:k])})
			}
			j = k
		}
	}
	return docs
}

// TestBatchLayout builds the golden micro-batches from their documents:
// padded rows for steps.json and batch.json, packed rows for batch.json's
// packed variant (which the greedy packer reproduces row for row).
func TestBatchLayout(t *testing.T) {
	dir := filepath.Join("testdata", "golden", "tiny")
	var steps []goldenStep
	readJSON(t, filepath.Join(dir, "steps.json"), &steps)
	var gb goldenBatch
	readJSON(t, filepath.Join(dir, "batch.json"), &gb)

	check := func(t *testing.T, got model.Batch, ids, labels, pos, docs [][]int32) {
		t.Helper()
		if got.B != len(ids) || got.T != len(ids[0]) {
			t.Fatalf("batch %d×%d, want %d×%d", got.B, got.T, len(ids), len(ids[0]))
		}
		for name, pair := range map[string][2][]int32{
			"input": {got.Input, flat(ids)}, "labels": {got.Labels, flat(labels)},
			"positions": {got.Positions, flat(pos)}, "docs": {got.Docs, flat(docs)},
		} {
			if !slices.Equal(pair[0], pair[1]) {
				t.Errorf("%s\n got %v\nwant %v", name, pair[0], pair[1])
			}
		}
	}
	t.Run("steps", func(t *testing.T) {
		var rows [][]int32
		for _, s := range steps {
			rows = append(rows, s.InputIDs...)
		}
		ep, err := NewEpoch(NewMemDataset(docsOfRows(rows), 0), 0, EpochOptions{T: 12})
		if err != nil {
			t.Fatal(err)
		}
		if ep.Iters(2) != len(steps) {
			t.Fatalf("%d iterations, want %d", ep.Iters(2), len(steps))
		}
		for i, s := range steps {
			b, err := ep.Batch(i, 2)
			if err != nil {
				t.Fatal(err)
			}
			check(t, b, s.InputIDs, s.Labels, nil, nil)
		}
	})
	t.Run("padded", func(t *testing.T) {
		ep, err := NewEpoch(NewMemDataset(docsOfRows(gb.InputIDs), 0), 0, EpochOptions{T: 12})
		if err != nil {
			t.Fatal(err)
		}
		b, err := ep.Batch(0, 3)
		if err != nil {
			t.Fatal(err)
		}
		check(t, b, gb.InputIDs, gb.Labels, nil, nil)
	})
	t.Run("packed", func(t *testing.T) {
		data := NewMemDataset(docsOfPacked(gb.PackedInputIDs, gb.PackedDocs), 0)
		ep, err := NewEpoch(data, 0, EpochOptions{T: 12, Packing: true})
		if err != nil {
			t.Fatal(err)
		}
		if ep.Rows() != 3 {
			t.Fatalf("%d rows, want 3", ep.Rows())
		}
		b, err := ep.Batch(0, 3)
		if err != nil {
			t.Fatal(err)
		}
		check(t, b, gb.PackedInputIDs, gb.PackedLabels, gb.PackedPos, gb.PackedDocs)
		if got, want := ep.PadShare(), 3.0/36; math.Abs(got-want) > 1e-12 {
			t.Errorf("pad share %v, want %v", got, want)
		}
		unpacked, _ := NewEpoch(data, 0, EpochOptions{T: 12})
		if got, want := unpacked.PadShare(), 1-33.0/(7*12); math.Abs(got-want) > 1e-12 {
			t.Errorf("unpacked pad share %v, want %v", got, want)
		}
	})
}

// TestPackedLoss checks the packed micro-batch built by the packer against
// PyTorch's packed loss for every golden case.
func TestPackedLoss(t *testing.T) {
	for _, name := range goldenCases {
		t.Run(name, func(t *testing.T) {
			m, _, _ := loadGolden(t, name)
			dir := filepath.Join("testdata", "golden", name)
			var gb goldenBatch
			readJSON(t, filepath.Join(dir, "batch.json"), &gb)
			var want struct {
				PackedLoss float64 `json:"packed_loss"`
			}
			readJSON(t, filepath.Join(dir, "loss.json"), &want)
			ep, err := NewEpoch(NewMemDataset(docsOfPacked(gb.PackedInputIDs, gb.PackedDocs), 0), 0, EpochOptions{T: 12, Packing: true})
			if err != nil {
				t.Fatal(err)
			}
			b, err := ep.Batch(0, 3)
			if err != nil {
				t.Fatal(err)
			}
			info, err := m.LossAndGrad(b, m.NewGrads(), 1)
			if err != nil {
				t.Fatal(err)
			}
			if e := math.Abs(info.Loss-want.PackedLoss) / want.PackedLoss; e > 1e-5 {
				t.Errorf("packed loss %.7f, want %.7f", info.Loss, want.PackedLoss)
			}
		})
	}
}

func TestEpochShuffledPacking(t *testing.T) {
	var docs []Doc
	total := 0
	for i := range 50 {
		n := 2 + (i*7)%15
		total += n
		docs = append(docs, Doc{Tokens: slices.Repeat([]int32{5}, n)})
	}
	data := NewMemDataset(docs, 0)
	for _, tc := range []struct {
		name string
		opt  EpochOptions
	}{
		{"plain", EpochOptions{T: 16}},
		{"shuffled", EpochOptions{T: 16, Shuffle: true, Seed: 3}},
		{"packed", EpochOptions{T: 16, Packing: true}},
		{"shuffled packed", EpochOptions{T: 16, Shuffle: true, Seed: 3, Packing: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ep, err := NewEpoch(data, 1, tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			labelled, real := 0, 0
			for i := range ep.Iters(4) {
				b, err := ep.Batch(i, 4)
				if err != nil {
					t.Fatal(err)
				}
				if err := b.Validate(model.Config{Vocab: 6400}); err != nil {
					t.Fatal(err)
				}
				for j, id := range b.Input {
					if id != 0 {
						real++
					}
					if b.Labels[j] != model.IgnoreIndex {
						labelled++
					}
				}
			}
			if real != total {
				t.Errorf("%d tokens in the batches, want %d (every sample once)", real, total)
			}
			wantLabelled := total
			if tc.opt.Packing {
				wantLabelled -= len(docs) // first token of each document
			}
			if labelled != wantLabelled {
				t.Errorf("%d labels, want %d", labelled, wantLabelled)
			}
		})
	}
	if _, err := NewEpoch(data, 0, EpochOptions{T: 8}); err == nil {
		t.Error("samples longer than a row were accepted")
	}
}
