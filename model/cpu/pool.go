package cpu

import (
	"sync"

	"github.com/minimind-go/minimind/model"
)

// The engine recycles the buffers of freed tensors so that a decoding step,
// which allocates and frees the same few small activations every token,
// leaves no garbage behind: resident memory stays flat while generating and
// the garbage collector has nothing to do. Only small buffers are kept (the
// activations of a prompt of thousands of tokens or of a training batch are
// left to the garbage collector), and the pool as a whole is bounded.
const (
	// poolMaxBuffer is the largest buffer (float32s, 1 MiB) the pool keeps.
	poolMaxBuffer = 1 << 18
	// poolMaxTotal bounds the float32s (2 MiB) the pool holds: a Free that
	// would go beyond it empties the pool first, so buffers of sizes no
	// longer in use (an old prompt's, an old cache's) do not pile up.
	poolMaxTotal = 1 << 19
)

// bufferPool holds freed host tensors by length. It is safe for concurrent
// use. The zero value is an empty pool.
type bufferPool struct {
	mu     sync.Mutex
	bySize map[int][]*model.Host    // free tensors of each length
	pooled map[*model.Host]struct{} // the tensors in bySize: a second Free is ignored
	total  int                      // float32s in bySize
}

// get returns a pooled tensor of exactly n elements, or nil. Its contents
// are whatever its last user left.
func (p *bufferPool) get(n int) *model.Host {
	p.mu.Lock()
	defer p.mu.Unlock()
	free := p.bySize[n]
	if len(free) == 0 {
		return nil
	}
	t := free[len(free)-1]
	free[len(free)-1] = nil
	p.bySize[n] = free[:len(free)-1]
	delete(p.pooled, t)
	p.total -= n
	return t
}

// put adds t to the pool when it is small enough; the caller no longer
// uses it.
func (p *bufferPool) put(t *model.Host) {
	n := len(t.Data)
	if n == 0 || n > poolMaxBuffer {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.pooled[t]; ok {
		return // freed twice: keep one copy, so that two Allocs never share it
	}
	if p.bySize == nil {
		p.bySize = make(map[int][]*model.Host)
		p.pooled = make(map[*model.Host]struct{})
	}
	if p.total+n > poolMaxTotal {
		clear(p.bySize)
		clear(p.pooled)
		p.total = 0
	}
	p.bySize[n] = append(p.bySize[n], t)
	p.pooled[t] = struct{}{}
	p.total += n
}
