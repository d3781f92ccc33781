//go:build js && wasm

// Command worker is MiniMind's OpenAI-compatible API (package serve) as a
// Cloudflare Worker, built with github.com/syumai/workers: the embedded
// MiniMind-Zero model on the CPU engine, the same handler as mmserve's. The
// chat site and the tutorial (mmserve --export) are static assets beside it.
//
//	go run github.com/syumai/workers/cmd/workers-assets-gen -mode=go -o worker/build
//	GOOS=js GOARCH=wasm go build -o worker/build/app.wasm ./worker
//	go run ./cmd/mmserve --export worker/site
//	npx wrangler deploy --config worker/wrangler.jsonc     # or: workerd serve worker/workerd.capnp
//
// The Workers runtime starts a fresh Go instance for each request, so the
// model is loaded per request and requests are not batched together.
package main

import (
	"fmt"
	"net/http"

	"github.com/syumai/workers"

	"github.com/minimind-go/minimind/chat"
	"github.com/minimind-go/minimind/model/cpu"
	"github.com/minimind-go/minimind/serve"
	"github.com/minimind-go/minimind/zoo"
)

func main() {
	workers.Serve(handler())
}

// handler is the API over the embedded model, or a 503 saying why there is
// none.
func handler() http.Handler {
	fsys, err := zoo.Default()
	var bot *chat.Bot
	if err == nil {
		bot, err = chat.LoadFS(fsys, cpu.New(1))
	}
	if err != nil {
		msg := fmt.Sprintf(`{"error":{"message":%q,"type":"server_error","param":null,"code":"unavailable"}}`, "no model: "+err.Error())
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, msg)
		})
	}
	return serve.New(bot, serve.Options{ModelID: "minimind-zero", MaxTokens: 512, MaxPromptTokens: 2048,
		Scheduler: serve.SchedulerOptions{MaxBatch: 4, MaxQueue: 4}})
}
