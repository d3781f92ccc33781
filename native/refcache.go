package native

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/minimind-go/minimind/model/checkpoint"
)

// RefCache holds DPO's reference log-probabilities of every pair, computed
// once (our --ref_cache), so each training step runs one model instead of
// two.
type RefCache struct {
	// Key identifies the data and the reference weights it was computed for.
	Key      string    `json:"key"`
	Chosen   []float64 `json:"chosen"`   // [pairs] Σ log p_ref of the chosen answer
	Rejected []float64 `json:"rejected"` // [pairs] of the rejected answer
}

// Get returns the reference log-probabilities of pair i.
func (c *RefCache) Get(i int) (chosen, rejected float64, err error) {
	if i < 0 || i >= len(c.Chosen) || len(c.Chosen) != len(c.Rejected) {
		return 0, 0, fmt.Errorf("native: dpo: pair %d is not in the reference cache of %d pairs", i, len(c.Chosen))
	}
	return c.Chosen[i], c.Rejected[i], nil
}

// Save writes the cache atomically.
func (c *RefCache) Save(path string) error {
	data, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("native: reference cache: %w", err)
	}
	return checkpoint.WriteFileAtomic(path, data)
}

// LoadRefCache reads a cache and checks that it was made for key.
func LoadRefCache(path, key string) (*RefCache, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("native: reference cache: %w", err)
	}
	var c RefCache
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("native: reference cache %s: %w", path, err)
	}
	if c.Key != key {
		return nil, fmt.Errorf("native: reference cache %s was made for other data or reference weights", path)
	}
	if len(c.Chosen) != len(c.Rejected) {
		return nil, fmt.Errorf("native: reference cache %s: %d chosen and %d rejected values", path, len(c.Chosen), len(c.Rejected))
	}
	return &c, nil
}
