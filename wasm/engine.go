//go:build js && wasm

package main

import (
	"context"
	"errors"
	"fmt"
	"syscall/js"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/cpu"
)

var (
	// errNoWebGPU: the browser or this build has no WebGPU; the CPU works.
	errNoWebGPU = errors.New("WebGPU is not available")
	// errWebGPU: WebGPU exists but the adapter cannot run the model (a
	// missing feature, a limit too low, a device lost).
	errWebGPU = errors.New("WebGPU cannot run this model")
)

// engineInfo tells the page which engine runs the model and why.
type engineInfo struct {
	Name      string `json:"name"`               // "cpu" or "webgpu"
	Requested string `json:"requested"`          // "auto", "cpu" or "webgpu"
	Adapter   string `json:"adapter,omitempty"`  // the WebGPU adapter
	Fallback  string `json:"fallback,omitempty"` // why "auto" fell back to the CPU
}

// openEngine returns the engine the page asked for: "cpu", "webgpu" (an
// error when it is not available) or "auto" (WebGPU, else the CPU with the
// reason in Fallback).
func openEngine(ctx context.Context, want string) (model.Engine, engineInfo, error) {
	info := engineInfo{Requested: want}
	switch want {
	case "cpu":
		info.Name = "cpu"
		return cpu.New(1), info, nil
	case "webgpu", "auto", "":
		e, adapter, err := openWebGPUChecked(ctx)
		if err == nil {
			info.Name, info.Adapter = "webgpu", adapter
			return e, info, nil
		}
		if want == "webgpu" {
			return nil, info, err
		}
		info.Name, info.Fallback = "cpu", err.Error()
		return cpu.New(1), info, nil
	}
	return nil, info, fmt.Errorf("unknown engine %q (want auto, webgpu or cpu)", want)
}

// openWebGPUChecked reports a browser without navigator.gpu, or one that
// offers no adapter, before trying the WebGPU engine.
func openWebGPUChecked(ctx context.Context) (model.Engine, string, error) {
	gpu := js.Global().Get("navigator").Get("gpu")
	if gpu.IsUndefined() || gpu.IsNull() {
		return nil, "", fmt.Errorf("%w: this browser has no WebGPU (navigator.gpu is missing; it needs a recent Chrome, Edge or Safari, or Firefox with WebGPU enabled, over https or localhost)", errNoWebGPU)
	}
	adapter, err := await(ctx, gpu.Call("requestAdapter"))
	if err != nil {
		return nil, "", fmt.Errorf("%w: requesting a WebGPU adapter failed: %w", errNoWebGPU, err)
	}
	if adapter.IsNull() || adapter.IsUndefined() {
		return nil, "", fmt.Errorf("%w: the browser offers no WebGPU adapter (WebGPU may be turned off, or this GPU is not supported)", errNoWebGPU)
	}
	return openWebGPU(ctx)
}

// await waits for a JavaScript promise. Call it from a goroutine, never from
// a js.FuncOf callback (the callback holds the event loop the promise needs).
func await(ctx context.Context, p js.Value) (js.Value, error) {
	type result struct {
		v   js.Value
		err error
	}
	ch := make(chan result, 1)
	then := js.FuncOf(func(_ js.Value, args []js.Value) any {
		ch <- result{v: arg(args, 0)}
		return nil
	})
	catch := js.FuncOf(func(_ js.Value, args []js.Value) any {
		ch <- result{err: errors.New(js.Global().Get("String").Invoke(arg(args, 0)).String())}
		return nil
	})
	p.Call("then", then, catch)
	select {
	case r := <-ch:
		then.Release()
		catch.Release()
		return r.v, r.err
	case <-ctx.Done():
		// The callbacks stay alive: the promise may still settle.
		return js.Undefined(), ctx.Err()
	}
}
