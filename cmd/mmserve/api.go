package main

import (
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"strings"

	"github.com/minimind-go/minimind/chat"
	"github.com/minimind-go/minimind/model/cpu"
	api "github.com/minimind-go/minimind/serve"
)

// apiFlags are the flags of the OpenAI-compatible API (package serve).
type apiFlags struct {
	on                   *bool
	key, id              *string
	batch, queue         *int
	maxTokens, maxPrompt *int
	maxBody              *int64
	threads              *int
}

func addAPIFlags(fl *flag.FlagSet) *apiFlags {
	return &apiFlags{
		on:        fl.Bool("api", true, "serve the OpenAI-compatible API (/v1/chat/completions, /v1/models) with the default model on the CPU"),
		key:       fl.String("api-key", "", "require `KEY` as Authorization: Bearer KEY on /v1/"),
		id:        fl.String("api-model", "", "the model's id in the API (default: the model folder's name, or minimind-zero)"),
		batch:     fl.Int("max-batch", 16, "requests decoded together (continuous batching)"),
		queue:     fl.Int("max-queue", 64, "requests waiting for a batch place; more get 429"),
		maxTokens: fl.Int("max-tokens", 1024, "the largest max_tokens a request may ask for (and the default)"),
		maxPrompt: fl.Int("max-prompt", 4096, "the longest prompt in tokens"),
		maxBody:   fl.Int64("max-body", 1<<20, "the largest request body in bytes"),
		threads:   fl.Int("threads", 0, "CPU threads of the API's model (0: all cores)"),
	}
}

// server loads the default model onto the CPU engine and returns the API
// over it; nil when --api=false or there is no model.
func (f *apiFlags) server(model fs.FS, name string, logw io.Writer) (*api.Server, error) {
	if !*f.on || model == nil {
		return nil, nil
	}
	bot, err := chat.LoadFS(model, cpu.New(*f.threads))
	if err != nil {
		return nil, fmt.Errorf("API model %s: %w", name, err)
	}
	id := *f.id
	if id == "" {
		id = name
		if strings.ContainsAny(id, " /\\") {
			id = "minimind-zero"
		}
	}
	fmt.Fprintf(logw, "mmserve: API model %q (batch %d, queue %d)\n", id, *f.batch, *f.queue)
	return api.New(bot, api.Options{ModelID: id, APIKey: *f.key, MaxBodyBytes: *f.maxBody, MaxPromptTokens: *f.maxPrompt,
		MaxTokens: *f.maxTokens, Scheduler: api.SchedulerOptions{MaxBatch: *f.batch, MaxQueue: *f.queue}}), nil
}

// exposedWarning returns a warning when addr listens beyond loopback
// without an API key ("" otherwise).
func exposedWarning(addr, key string) string {
	if key != "" {
		return ""
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return ""
	}
	if host == "localhost" {
		return ""
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return ""
	}
	return fmt.Sprintf("mmserve: warning: listening on %s (beyond this machine) without --api-key: anyone who reaches it can use the API", addr)
}
