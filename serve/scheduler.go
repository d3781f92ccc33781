package serve

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/minimind-go/minimind/model"
)

// LM is the language model behind a Scheduler: it keeps one state (KV cache)
// per sequence and decodes many sequences in one batched step.
type LM interface {
	// NewSeq returns the state of a new sequence of up to capacity tokens.
	NewSeq(capacity int) Seq
	// Prefill feeds ids to s and returns the logits [V] after the last one.
	Prefill(s Seq, ids []int32) ([]float32, error)
	// Step feeds ids[i] to seqs[i] for every i in one batched pass and
	// returns each sequence's logits [len(ids)][V]. A sequence's logits
	// must not depend on the other sequences (batch invariance).
	Step(seqs []Seq, ids []int32) ([][]float32, error)
	// Free releases s.
	Free(s Seq)
	// MaxPositions is the longest sequence the model can hold.
	MaxPositions() int
}

// Seq is one sequence's state in an LM.
type Seq any

// ModelLM runs a model.Model: a KV cache per sequence, model.ForwardStep for
// the batched step (batch invariant on the CPU engine).
type ModelLM struct {
	M *model.Model
}

// NewSeq implements LM.
func (l ModelLM) NewSeq(capacity int) Seq { return l.M.NewCache(1, capacity) }

// Prefill implements LM.
func (l ModelLM) Prefill(s Seq, ids []int32) ([]float32, error) {
	t, err := l.M.Forward(ids, 1, model.ForwardOptions{Cache: s.(*model.KVCache), LastOnly: true}) // [1, V]
	if err != nil {
		return nil, err
	}
	defer l.M.Engine.Free(t)
	return l.M.Engine.Read(t), nil
}

// Step implements LM.
func (l ModelLM) Step(seqs []Seq, ids []int32) ([][]float32, error) {
	caches := make([]*model.KVCache, len(seqs))
	for i, s := range seqs {
		caches[i] = s.(*model.KVCache)
	}
	t, err := l.M.ForwardStep(ids, caches) // [N, V]
	if err != nil {
		return nil, err
	}
	all := l.M.Engine.Read(t)
	l.M.Engine.Free(t)
	V := l.M.Config.Vocab
	rows := make([][]float32, len(ids))
	for i := range rows {
		rows[i] = all[i*V : (i+1)*V : (i+1)*V]
	}
	return rows, nil
}

// Free implements LM.
func (l ModelLM) Free(s Seq) { s.(*model.KVCache).Free(l.M.Engine) }

// MaxPositions implements LM.
func (l ModelLM) MaxPositions() int { return min(l.M.Config.MaxPos, 1<<15) }

// Job is one generation request.
type Job struct {
	Prompt    []int32
	MaxTokens int // new tokens at most (> 0)
	Sample    model.SampleOptions
	Seed      uint64
	Stop      []int32 // tokens that end the reply (not emitted)
}

// Event is what a job produces: a token, or the end.
type Event struct {
	Token int32
	Done  bool
	// Finish is "stop" (a stop token) or "length" (MaxTokens or the end of
	// the context) when the job ended normally; Err says why otherwise.
	Finish string
	Err    error
}

// Errors of Submit.
var (
	ErrQueueFull = errors.New("serve: the queue is full")
	ErrClosed    = errors.New("serve: the scheduler is closed")
)

// SchedulerOptions size a Scheduler.
type SchedulerOptions struct {
	MaxBatch     int // sequences decoded together (default 16)
	MaxQueue     int // requests waiting for a place in the batch (default 64)
	PrefillChunk int // a prompt is prefilled in chunks of this many tokens (default 64)
	// PrefillBudget bounds the prompt tokens prefilled between two
	// decoding steps, over all waiting requests (default 4 chunks).
	PrefillBudget int
}

// Scheduler runs continuous batching: the active sequences decode together,
// one token each per step; new jobs join between steps (their prompt
// prefilled a chunk at a time, so that a long prompt does not stall the
// others), finished or cancelled ones leave at once.
type Scheduler struct {
	lm    LM
	opt   SchedulerOptions
	queue chan *job
	quit  chan struct{}
	done  chan struct{}
	once  sync.Once

	active, waiting atomic.Int64
	steps           atomic.Int64
}

type job struct {
	Job
	ctx      context.Context
	events   chan Event
	seq      Seq
	prefixed int   // prompt tokens prefilled
	next     int32 // the token to feed in the next step
	history  []int32
	sampler  *model.Sampler
	produced int
}

// NewScheduler starts a scheduler over lm; Close stops it.
func NewScheduler(lm LM, opt SchedulerOptions) *Scheduler {
	if opt.MaxBatch <= 0 {
		opt.MaxBatch = 16
	}
	if opt.MaxQueue <= 0 {
		opt.MaxQueue = 64
	}
	if opt.PrefillChunk <= 0 {
		opt.PrefillChunk = 64
	}
	if opt.PrefillBudget <= 0 {
		opt.PrefillBudget = 4 * opt.PrefillChunk
	}
	s := &Scheduler{lm: lm, opt: opt, queue: make(chan *job, opt.MaxQueue), quit: make(chan struct{}), done: make(chan struct{})}
	go s.loop()
	return s
}

// Stats says how many sequences are decoding (or prefilling) and how many
// wait in the queue, and how many batched steps ran so far.
func (s *Scheduler) Stats() (active, queued int, steps int64) {
	return int(s.active.Load()), len(s.queue), s.steps.Load()
}

// Submit queues j. Its events arrive on the returned channel, which is
// closed after the Done event. Cancelling ctx ends the job and frees its
// place before the next step.
func (s *Scheduler) Submit(ctx context.Context, j Job) (<-chan Event, error) {
	if len(j.Prompt) == 0 {
		return nil, errors.New("serve: empty prompt")
	}
	if j.MaxTokens <= 0 {
		return nil, fmt.Errorf("serve: max tokens must be positive, got %d", j.MaxTokens)
	}
	if len(j.Prompt)+1 > s.lm.MaxPositions() {
		return nil, fmt.Errorf("%w: a prompt of %d tokens leaves no room in %d positions", model.ErrContextFull, len(j.Prompt), s.lm.MaxPositions())
	}
	events := make(chan Event, j.MaxTokens+2)
	jb := &job{Job: j, ctx: ctx, events: events}
	select {
	case <-s.quit:
		return nil, ErrClosed
	default:
	}
	select {
	case s.queue <- jb:
		return events, nil
	default:
		return nil, ErrQueueFull
	}
}

// Close stops the scheduler; running and queued jobs end with ErrClosed.
func (s *Scheduler) Close() {
	s.once.Do(func() { close(s.quit) })
	<-s.done
}

func (s *Scheduler) loop() {
	defer close(s.done)
	var batch []*job // admitted jobs, prefilling or decoding, in arrival order
	defer func() {
		for _, j := range batch {
			s.end(j, Event{Done: true, Err: ErrClosed})
		}
		for {
			select {
			case j := <-s.queue:
				s.end(j, Event{Done: true, Err: ErrClosed})
			default:
				s.active.Store(0)
				return
			}
		}
	}()
	for {
		if len(batch) == 0 {
			select {
			case j := <-s.queue:
				batch = append(batch, j)
			case <-s.quit:
				return
			}
		}
	admit:
		for len(batch) < s.opt.MaxBatch {
			select {
			case j := <-s.queue:
				batch = append(batch, j)
			default:
				break admit
			}
		}
		select {
		case <-s.quit:
			return
		default:
		}
		// Cancelled jobs leave before any work is spent on them.
		batch = slices.DeleteFunc(batch, func(j *job) bool {
			if err := j.ctx.Err(); err != nil {
				s.end(j, Event{Done: true, Err: err})
				return true
			}
			return false
		})
		s.active.Store(int64(len(batch)))

		// Prefill chunks of the oldest jobs still prefilling, up to
		// PrefillBudget tokens. A job's chunks always start at multiples of
		// PrefillChunk, whatever else is prefilling, so its numbers do not
		// depend on the other jobs.
		// A chunk that does not fit in what is left of the budget waits for
		// the next round (the first chunk of a round always runs, so a
		// budget smaller than a chunk still makes progress).
		budget := s.opt.PrefillBudget
		for _, j := range batch {
			if budget <= 0 {
				break
			}
			if j.prefixed < len(j.Prompt) && !j.finished() {
				if n := min(s.opt.PrefillChunk, len(j.Prompt)-j.prefixed); n > budget && budget < s.opt.PrefillBudget {
					continue
				}
				budget -= s.prefill(j)
			}
		}
		// One decoding step of every job that has a token to feed.
		var step []*job
		for _, j := range batch {
			if j.prefixed == len(j.Prompt) && !j.finished() {
				step = append(step, j)
			}
		}
		if len(step) > 0 {
			s.step(step)
		}
		batch = slices.DeleteFunc(batch, func(j *job) bool {
			if j.finished() {
				if j.seq != nil {
					s.lm.Free(j.seq)
					j.seq = nil
				}
				return true
			}
			return false
		})
		s.active.Store(int64(len(batch)))
	}
}

// finished reports whether j has sent its Done event.
func (j *job) finished() bool { return j.events == nil }

// end sends the last event of j and frees its state.
func (s *Scheduler) end(j *job, ev Event) {
	if j.finished() {
		return
	}
	j.events <- ev
	close(j.events)
	j.events = nil
	if j.seq != nil {
		s.lm.Free(j.seq)
		j.seq = nil
	}
}

// prefill feeds the next chunk of j's prompt and returns its length.
func (s *Scheduler) prefill(j *job) int {
	if j.seq == nil {
		capacity := min(len(j.Prompt)+j.MaxTokens, s.lm.MaxPositions())
		j.seq = s.lm.NewSeq(capacity)
		j.sampler = model.NewSampler(j.Sample, j.Seed)
		j.history = append(make([]int32, 0, capacity), j.Prompt...)
	}
	start, end := j.prefixed, min(j.prefixed+s.opt.PrefillChunk, len(j.Prompt))
	logits, err := s.lm.Prefill(j.seq, j.Prompt[start:end])
	if err != nil {
		s.end(j, Event{Done: true, Err: err})
		return end - start
	}
	j.prefixed = end
	if end == len(j.Prompt) {
		s.emit(j, logits)
	}
	return end - start
}

// step decodes one token of every job in js together.
func (s *Scheduler) step(js []*job) {
	seqs := make([]Seq, len(js))
	ids := make([]int32, len(js))
	for i, j := range js {
		seqs[i], ids[i] = j.seq, j.next
	}
	logits, err := s.lm.Step(seqs, ids)
	s.steps.Add(1)
	if err != nil {
		for _, j := range js {
			s.end(j, Event{Done: true, Err: err})
		}
		return
	}
	for i, j := range js {
		s.emit(j, logits[i])
	}
}

// emit samples j's next token from logits and sends it, or ends j.
func (s *Scheduler) emit(j *job, logits []float32) {
	id := j.sampler.Sample(logits, j.history)
	if slices.Contains(j.Stop, id) {
		s.end(j, Event{Done: true, Finish: "stop"})
		return
	}
	j.events <- Event{Token: id}
	j.produced++
	j.history = append(j.history, id)
	j.next = id
	if j.produced >= j.MaxTokens || len(j.history) >= cap(j.history) {
		s.end(j, Event{Done: true, Finish: "length"})
	}
}
