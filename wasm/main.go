//go:build js && wasm

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"syscall/js"
	"time"
	"unsafe"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/tokenizer"
	"github.com/minimind-go/minimind/wasm/session"
)

// version is the protocol version between this runtime and minimind.js.
const version = 1

func main() {
	// Loading holds the weights file and the float32 weights together; a
	// lower GC target keeps the WebAssembly memory (which never shrinks)
	// closer to what is live.
	debug.SetGCPercent(50)
	rt := &runner{yield: newYielder()}
	api := js.Global().Get("Object").New()
	for name, fn := range map[string]func(js.Value, []js.Value) any{
		"estimate": rt.estimate,
		"load":     rt.load,
		"generate": rt.generate,
		"abort":    rt.abort,
		"tokenize": rt.tokenize,
		"render":   rt.render,
		"trace":    rt.trace,
		"walk":     rt.walk,
		"walkStep": rt.walkStep,
		"explain":  rt.explain,
		"pieces":   rt.pieces,
	} {
		api.Set(name, js.FuncOf(fn))
	}
	api.Set("version", version)
	api.Set("goVersion", runtime.Version())
	js.Global().Set("minimindGo", api)
	if ready := js.Global().Get("minimindGoReady"); ready.Type() == js.TypeFunction {
		ready.Invoke()
	}
	select {}
}

// runner holds the loaded model of this worker. JavaScript calls arrive on
// the event loop; the work runs on goroutines (WebGPU calls wait on promises,
// which would deadlock inside a callback). mu serialises the work that uses
// the model.
type runner struct {
	mu     sync.Mutex
	sess   *session.Session
	engine engineInfo
	yield  *yielder

	cancelMu sync.Mutex
	cancel   context.CancelFunc

	walkMu   sync.Mutex
	lastWalk *session.Walk // the tutorial's traced pass, whose steps walkStep hands out
}

// estimate(config: Uint8Array|null, weightsName: string, weightsSize: number,
// limit: number, limitText: string) → JSON string {params, fileBytes,
// weightBytes, peakBytes, family, error?, code?}. It runs synchronously.
func (r *runner) estimate(_ js.Value, args []js.Value) any {
	var config []byte
	if len(args) > 0 && args[0].Truthy() {
		config = bytesOf(args[0])
	}
	e, err := session.EstimateModel(config, arg(args, 1).String(), int64(arg(args, 2).Float()))
	if err == nil {
		err = e.Check(int64(arg(args, 3).Float()), arg(args, 4).String())
	}
	out := struct {
		session.Estimate
		Error string `json:"error,omitempty"`
		Code  string `json:"code,omitempty"`
	}{Estimate: e}
	if err != nil {
		out.Error, out.Code = userMessage(err), errorCode(err)
	}
	return jsonString(out)
}

// load(files: {[name]: Uint8Array}, options: {engine, name}) →
// Promise<JSON string of session.Info plus the engine>.
func (r *runner) load(_ js.Value, args []js.Value) any {
	files := session.Files{}
	obj := arg(args, 0)
	keys := js.Global().Get("Object").Call("keys", obj)
	for i := range keys.Length() {
		k := keys.Index(i).String()
		files[k] = bytesOf(obj.Get(k))
	}
	opts := arg(args, 1)
	want, name := optString(opts, "engine", "auto"), optString(opts, "name", "model")
	return promise(func() (any, error) {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.sess != nil {
			if c, ok := r.sess.Model().Engine.(interface{ Close() error }); ok {
				c.Close() // a WebGPU device: free its buffers now
			}
			r.sess = nil
		}
		runtime.GC()
		ctx := context.Background()
		e, info, err := openEngine(ctx, want)
		if err != nil {
			return nil, err
		}
		s, err := session.Load(ctx, name, files, e)
		clear(files)
		if err != nil {
			if c, ok := e.(interface{ Close() error }); ok {
				c.Close()
			}
			runtime.GC()
			return nil, err
		}
		runtime.GC()
		r.sess, r.engine = s, info
		return jsonString(struct {
			session.Info
			EngineInfo engineInfo `json:"engineInfo"`
		}{s.Info(), info}), nil
	})
}

// generate(request: JSON string of session.Request, onText: (text) => void)
// → Promise<JSON string of session.Result>.
func (r *runner) generate(_ js.Value, args []js.Value) any {
	reqJSON, onText := arg(args, 0).String(), arg(args, 1)
	return promise(func() (any, error) {
		var req session.Request
		if err := json.Unmarshal([]byte(reqJSON), &req); err != nil {
			return nil, fmt.Errorf("generate: bad request: %w", err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		r.cancelMu.Lock()
		if r.cancel != nil {
			r.cancelMu.Unlock()
			return nil, errBusy
		}
		r.cancel = cancel
		r.cancelMu.Unlock()
		defer func() {
			r.cancelMu.Lock()
			r.cancel = nil
			r.cancelMu.Unlock()
		}()
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.sess == nil {
			return nil, errNoModel
		}
		last := time.Now()
		res, err := r.sess.Generate(ctx, req, func(text string) error {
			if onText.Type() == js.TypeFunction {
				onText.Invoke(text)
			}
			// Let the worker's event loop run now and then, so that an
			// abort message is seen while the model computes.
			if time.Since(last) > 15*time.Millisecond {
				r.yield.yield()
				last = time.Now()
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		return jsonString(res), nil
	})
}

// abort() stops the running generation (its promise resolves with aborted).
func (r *runner) abort(js.Value, []js.Value) any {
	r.cancelMu.Lock()
	defer r.cancelMu.Unlock()
	if r.cancel != nil {
		r.cancel()
	}
	return nil
}

// tokenize(text: string) → Promise<JSON string {ids, pieces}>.
func (r *runner) tokenize(_ js.Value, args []js.Value) any {
	text := arg(args, 0).String()
	return promise(func() (any, error) {
		s := r.session()
		if s == nil {
			return nil, errNoModel
		}
		return jsonString(s.Tokenize(text)), nil
	})
}

// render(messages: JSON string, thinking: bool) → Promise<string>: the chat
// template applied with the generation prompt.
func (r *runner) render(_ js.Value, args []js.Value) any {
	msgJSON, thinking := arg(args, 0).String(), arg(args, 1).Truthy()
	return promise(func() (any, error) {
		s := r.session()
		if s == nil {
			return nil, errNoModel
		}
		var msgs []tokenizer.Message
		if err := json.Unmarshal([]byte(msgJSON), &msgs); err != nil {
			return nil, fmt.Errorf("render: bad messages: %w", err)
		}
		return s.RenderChat(msgs, thinking)
	})
}

// promptArg reads a prompt argument: a string, or an array of token ids.
func promptArg(input js.Value) (text string, ids []int32) {
	if input.Type() == js.TypeString {
		return input.String(), nil
	}
	for i := range input.Length() {
		ids = append(ids, int32(input.Index(i).Int()))
	}
	return "", ids
}

// promptIDs returns ids when the prompt was given as ids, else text
// encoded as it is, or as one user message of the chat template when chat
// is set.
func promptIDs(s *session.Session, text string, ids []int32, chat bool) ([]int32, error) {
	if ids != nil {
		return ids, nil
	}
	if chat {
		t, err := s.RenderChat([]tokenizer.Message{{Role: "user", Content: text}}, false)
		if err != nil {
			return nil, err
		}
		text = t
	}
	return s.Tokenize(text).IDs, nil
}

// withPrompt reads the (input, chat) arguments and returns a promise of
// fn's result, called with the loaded session and the prompt's ids while the
// session is held.
func (r *runner) withPrompt(args []js.Value, fn func(s *session.Session, ids []int32) (any, error)) any {
	text, ids := promptArg(arg(args, 0))
	chat := arg(args, 1).Truthy()
	return promise(func() (any, error) {
		r.mu.Lock()
		defer r.mu.Unlock()
		s := r.sess
		if s == nil {
			return nil, errNoModel
		}
		ids, err := promptIDs(s, text, ids, chat)
		if err != nil {
			return nil, err
		}
		return fn(s, ids)
	})
}

// trace(input: string | number[], chat: bool) → Promise<{ids, pieces,
// config, steps: [{name, shape, data: Float32Array}]}>. A string is encoded
// as it is, or as one user message of the chat template when chat is set.
func (r *runner) trace(_ js.Value, args []js.Value) any {
	return r.withPrompt(args, func(s *session.Session, ids []int32) (any, error) {
		tr, err := s.Trace(ids)
		if err != nil {
			return nil, err
		}
		out := js.Global().Get("Object").New()
		out.Set("ids", js.Global().Get("JSON").Call("parse", jsonString(tr.IDs)))
		out.Set("pieces", js.Global().Get("JSON").Call("parse", jsonString(tr.Pieces)))
		out.Set("config", js.Global().Get("JSON").Call("parse", string(s.Info().Config)))
		steps := js.Global().Get("Array").New()
		for _, st := range tr.Trace.Steps {
			o := js.Global().Get("Object").New()
			o.Set("name", st.Name)
			o.Set("shape", js.Global().Get("JSON").Call("parse", jsonString(st.Shape)))
			o.Set("data", float32Array(st.Data))
			steps.Call("push", o)
		}
		out.Set("steps", steps)
		return out, nil
	})
}

// walk(input: string | number[], chat: bool) → Promise<JSON string of
// session.Walk>: the detailed trace of the prompt and of the greedy next
// token's decode step, kept in this worker; walkStep hands out one step.
func (r *runner) walk(_ js.Value, args []js.Value) any {
	return r.withPrompt(args, func(s *session.Session, ids []int32) (any, error) {
		// The previous walk stays until this one succeeds: the page keeps
		// showing it when the new prompt is refused.
		w, err := s.Walk(ids)
		if err != nil {
			return nil, err
		}
		r.walkMu.Lock()
		r.lastWalk = w
		r.walkMu.Unlock()
		return jsonString(w), nil
	})
}

// walkStep(name: string) → {name, shape, data: Float32Array} of the last
// walk, or null when it has no such step. It runs synchronously.
func (r *runner) walkStep(_ js.Value, args []js.Value) any {
	name := arg(args, 0).String()
	r.walkMu.Lock()
	w := r.lastWalk
	r.walkMu.Unlock()
	if w == nil {
		return js.Null()
	}
	st, ok := w.Step(name)
	if !ok {
		return js.Null()
	}
	o := js.Global().Get("Object").New()
	o.Set("name", st.Name)
	o.Set("shape", js.Global().Get("JSON").Call("parse", jsonString(st.Shape)))
	o.Set("data", float32Array(st.Data))
	return o
}

// explain(text: string) → JSON string of the BPE merges of each word (see
// tokenizer.Tokenizer.ExplainMerges), or null without a model.
func (r *runner) explain(_ js.Value, args []js.Value) any {
	s := r.session()
	if s == nil {
		return js.Null()
	}
	return jsonString(s.ExplainMerges(arg(args, 0).String()))
}

// pieces(ids: number[]) → JSON string of the text of each id, or null
// without a model.
func (r *runner) pieces(_ js.Value, args []js.Value) any {
	s := r.session()
	if s == nil {
		return js.Null()
	}
	in := arg(args, 0)
	ids := make([]int32, in.Length())
	for i := range ids {
		ids[i] = int32(in.Index(i).Int())
	}
	return jsonString(s.Pieces(ids))
}

func (r *runner) session() *session.Session {
	// Tokenizing needs no lock: the tokenizer is safe for concurrent use and
	// sess is only replaced by load, which the page does not overlap.
	return r.sess
}

var (
	errBusy    = errors.New("a generation is already running; abort it first")
	errNoModel = errors.New("no model is loaded")
)

// errorCode classifies an error for the page, which shows what to do.
func errorCode(err error) string {
	switch {
	case errors.Is(err, session.ErrNotMiniMind):
		return "not-minimind"
	case errors.Is(err, session.ErrTooBig):
		return "too-big"
	case errors.Is(err, model.ErrContextFull):
		return "context-full"
	case errors.Is(err, errNoWebGPU):
		return "no-webgpu"
	case errors.Is(err, errWebGPU):
		return "webgpu"
	case errors.Is(err, errBusy):
		return "busy"
	case errors.Is(err, errNoModel):
		return "no-model"
	}
	return "internal"
}

// userMessage is the error's text without the leading sentinel that its
// code already says (the page shows the code as a title).
func userMessage(err error) string {
	msg := err.Error()
	for _, s := range []error{session.ErrNotMiniMind, session.ErrTooBig, errNoWebGPU, errWebGPU} {
		if errors.Is(err, s) {
			msg = strings.TrimPrefix(msg, s.Error()+": ")
		}
	}
	return msg
}

// promise runs work on a new goroutine and returns a JavaScript Promise of
// its result. A failure rejects with an Error carrying a code (errorCode).
func promise(work func() (any, error)) js.Value {
	var executor js.Func
	executor = js.FuncOf(func(_ js.Value, args []js.Value) any {
		resolve, reject := args[0], args[1]
		go func() {
			defer func() {
				if p := recover(); p != nil {
					reject.Invoke(jsError(fmt.Errorf("internal error: %v", p)))
				}
			}()
			v, err := work()
			if err != nil {
				reject.Invoke(jsError(err))
				return
			}
			resolve.Invoke(v)
		}()
		return nil
	})
	p := js.Global().Get("Promise").New(executor)
	executor.Release()
	return p
}

func jsError(err error) js.Value {
	e := js.Global().Get("Error").New(userMessage(err))
	e.Set("code", errorCode(err))
	return e
}

func jsonString(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "null"
	}
	return string(b)
}

func arg(args []js.Value, i int) js.Value {
	if i < len(args) {
		return args[i]
	}
	return js.Undefined()
}

func optString(o js.Value, key, def string) string {
	if o.Type() != js.TypeObject {
		return def
	}
	if v := o.Get(key); v.Type() == js.TypeString && v.String() != "" {
		return v.String()
	}
	return def
}

// bytesOf copies a Uint8Array (or ArrayBuffer) into Go memory.
func bytesOf(v js.Value) []byte {
	if v.InstanceOf(js.Global().Get("ArrayBuffer")) {
		v = js.Global().Get("Uint8Array").New(v)
	}
	b := make([]byte, v.Get("byteLength").Int())
	js.CopyBytesToGo(b, v)
	return b
}

// float32Array copies d into a new JavaScript Float32Array (WebAssembly and
// typed arrays are both little-endian).
func float32Array(d []float32) js.Value {
	u8 := js.Global().Get("Uint8Array").New(4 * len(d))
	if len(d) > 0 {
		js.CopyBytesToJS(u8, unsafe.Slice((*byte)(unsafe.Pointer(&d[0])), 4*len(d)))
	}
	return js.Global().Get("Float32Array").New(u8.Get("buffer"))
}

// yielder returns control to the JavaScript event loop for one turn, through
// a MessageChannel (a macrotask without setTimeout's clamping), so that
// messages queued for the worker are handled during long computations.
type yielder struct {
	port js.Value
	ch   chan struct{}
}

func newYielder() *yielder {
	y := &yielder{ch: make(chan struct{}, 1)}
	mc := js.Global().Get("MessageChannel").New()
	mc.Get("port1").Set("onmessage", js.FuncOf(func(js.Value, []js.Value) any {
		select {
		case y.ch <- struct{}{}:
		default:
		}
		return nil
	}))
	y.port = mc.Get("port2")
	return y
}

func (y *yielder) yield() {
	y.port.Call("postMessage", nil)
	<-y.ch
}
