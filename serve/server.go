package serve

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/minimind-go/minimind/chat"
	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/tokenizer"
)

// Options configure a Server. Zero values take the defaults.
type Options struct {
	// ModelID is the model's name in /v1/models and in the requests'
	// "model" field (default "minimind").
	ModelID string
	// APIKey, when set, is required as "Authorization: Bearer KEY".
	APIKey string
	// MaxBodyBytes bounds a request body (default 1 MiB; 413 beyond).
	MaxBodyBytes int64
	// MaxPromptTokens bounds the rendered prompt (default 4096).
	MaxPromptTokens int
	// MaxTokens bounds max_tokens and is the default when a request gives
	// none (default 1024).
	MaxTokens int
	// Scheduler sizes the continuous batching (see SchedulerOptions).
	Scheduler SchedulerOptions
}

// Server is an OpenAI-compatible chat completion API over one model:
// POST /v1/chat/completions (streamed or not) and GET /v1/models. It
// implements http.Handler for the paths under /v1/.
type Server struct {
	opt     Options
	tok     *tokenizer.Tokenizer
	stop    []int32
	sched   *Scheduler
	created int64
}

// New serves bot's model through a Scheduler over ModelLM.
func New(bot *chat.Bot, opt Options) *Server {
	return NewLM(ModelLM{M: bot.Model}, bot.Tok, bot.Stop, opt)
}

// NewLM serves any LM with tokenizer tok; stop lists the tokens that end a
// reply.
func NewLM(lm LM, tok *tokenizer.Tokenizer, stop []int32, opt Options) *Server {
	if opt.ModelID == "" {
		opt.ModelID = "minimind"
	}
	if opt.MaxBodyBytes <= 0 {
		opt.MaxBodyBytes = 1 << 20
	}
	if opt.MaxPromptTokens <= 0 {
		opt.MaxPromptTokens = 4096
	}
	if opt.MaxTokens <= 0 {
		opt.MaxTokens = 1024
	}
	return &Server{opt: opt, tok: tok, stop: stop, sched: NewScheduler(lm, opt.Scheduler), created: time.Now().Unix()}
}

// Scheduler returns the server's scheduler (for its Stats).
func (s *Server) Scheduler() *Scheduler { return s.sched }

// Close stops the scheduler; requests in flight end with an error.
func (s *Server) Close() { s.sched.Close() }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if s.opt.APIKey != "" {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(s.opt.APIKey)) != 1 {
			writeError(w, &Error{Status: http.StatusUnauthorized, Type: "invalid_request_error", Code: "invalid_api_key",
				Message: "missing or wrong API key: send Authorization: Bearer <key>"})
			return
		}
	}
	switch p := strings.TrimSuffix(r.URL.Path, "/"); {
	case p == "/v1/chat/completions":
		if r.Method != http.MethodPost {
			methodNotAllowed(w, "POST")
			return
		}
		s.chat(w, r)
	case p == "/v1/models":
		if r.Method != http.MethodGet {
			methodNotAllowed(w, "GET")
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": []any{s.modelCard()}})
	case strings.HasPrefix(p, "/v1/models/"):
		if r.Method != http.MethodGet {
			methodNotAllowed(w, "GET")
			return
		}
		if id := strings.TrimPrefix(p, "/v1/models/"); id != s.opt.ModelID {
			writeError(w, s.unknownModel(id))
			return
		}
		writeJSON(w, http.StatusOK, s.modelCard())
	default:
		writeError(w, &Error{Status: http.StatusNotFound, Type: "invalid_request_error", Code: "unknown_url",
			Message: fmt.Sprintf("unknown path %s (this server answers /v1/chat/completions and /v1/models)", r.URL.Path)})
	}
}

func (s *Server) modelCard() map[string]any {
	return map[string]any{"id": s.opt.ModelID, "object": "model", "created": s.created, "owned_by": "minimind"}
}

func (s *Server) unknownModel(id string) *Error {
	return &Error{Status: http.StatusNotFound, Type: "invalid_request_error", Param: "model", Code: "model_not_found",
		Message: fmt.Sprintf("the model %q does not exist; this server serves %q", id, s.opt.ModelID)}
}

func methodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	writeError(w, &Error{Status: http.StatusMethodNotAllowed, Type: "invalid_request_error",
		Message: "method not allowed; use " + allow})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// prepared is a checked request turned into a job.
type prepared struct {
	req      *Request
	job      Job
	thinking bool // the prompt opened a <think> block
	tools    bool // parse <tool_call> blocks
}

// prepare renders and tokenizes the prompt and bounds the job.
func (s *Server) prepare(req *Request) (*prepared, *Error) {
	if req.Model != s.opt.ModelID {
		return nil, s.unknownModel(req.Model)
	}
	var tools []any
	if req.ToolChoice != "none" {
		for _, t := range req.Tools {
			if req.ToolChoice == "function" {
				if name, _ := toolName(t); name != req.ToolName {
					continue
				}
			}
			tools = append(tools, t)
		}
	}
	var vars map[string]any
	if req.Thinking {
		vars = map[string]any{"enable_thinking": true, "open_thinking": true}
	}
	text, err := s.tok.ApplyChatTemplate(req.Messages, tokenizer.ChatOptions{AddGenerationPrompt: true, Tools: tools, Vars: vars})
	if err != nil {
		return nil, invalid("messages", "the chat template cannot render them: %s", err)
	}
	ids := s.tok.Encode(text)
	if len(ids) > s.opt.MaxPromptTokens {
		e := invalid("messages", "the prompt has %d tokens, more than this server's limit of %d", len(ids), s.opt.MaxPromptTokens)
		e.Code = "context_length_exceeded"
		return nil, e
	}
	maxTok := req.MaxTokens
	if maxTok == 0 {
		maxTok = s.opt.MaxTokens
	}
	room := s.sched.lm.MaxPositions() - len(ids)
	if room < 1 {
		e := invalid("messages", "the prompt has %d tokens and leaves no room in the model's %d positions", len(ids), s.sched.lm.MaxPositions())
		e.Code = "context_length_exceeded"
		return nil, e
	}
	seed := rand.Uint64()
	if req.Seed != nil {
		seed = *req.Seed
	}
	p := &prepared{req: req, tools: len(tools) > 0 || req.ToolChoice != "none",
		thinking: strings.HasSuffix(strings.TrimRight(text, "\n"), thinkOpen)}
	p.job = Job{Prompt: ids, MaxTokens: min(maxTok, room), Seed: seed, Stop: s.stop,
		Sample: model.SampleOptions{Temperature: req.Temperature, TopK: req.TopK, TopP: req.TopP}}
	return p, nil
}

func (s *Server) chat(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opt.MaxBodyBytes))
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			writeError(w, &Error{Status: http.StatusRequestEntityTooLarge, Type: "invalid_request_error", Code: "request_too_large",
				Message: fmt.Sprintf("the request body is larger than this server's limit of %d bytes", s.opt.MaxBodyBytes)})
			return
		}
		writeError(w, invalid("", "reading the request body: %s", err))
		return
	}
	req, apiErr := DecodeRequest(body, s.opt.MaxTokens)
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	p, apiErr := s.prepare(req)
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	events, err := s.sched.Submit(ctx, p.job)
	switch {
	case errors.Is(err, ErrQueueFull):
		writeError(w, &Error{Status: http.StatusTooManyRequests, Type: "rate_limit_error", Code: "rate_limit_exceeded", RetryAfter: 1,
			Message: "the server is busy (every batch place and queue place is taken); retry shortly"})
		return
	case errors.Is(err, ErrClosed):
		writeError(w, &Error{Status: http.StatusServiceUnavailable, Type: "server_error", Code: "unavailable", RetryAfter: 5,
			Message: "the server is shutting down"})
		return
	case err != nil:
		writeError(w, invalid("messages", "%s", err))
		return
	}
	c := completion{id: "chatcmpl-" + randomHex(12), created: time.Now().Unix(), model: s.opt.ModelID,
		out: NewOutput(s.tok, req.Stop, p.thinking, p.tools), prompt: len(p.job.Prompt), events: events, cancel: cancel}
	if req.Stream {
		c.stream(w, req.IncludeUsage)
	} else {
		c.whole(w)
	}
}

// completion follows one job's events.
type completion struct {
	id      string
	created int64
	model   string
	out     *Output
	prompt  int
	events  <-chan Event
	cancel  context.CancelFunc
	tokens  int
	ntools  int
}

// next returns the deltas of the next event, and at the end the finish
// reason (or the error that ended the job).
func (c *completion) next() (ds []Delta, finish string, done bool, err error) {
	ev, ok := <-c.events
	if !ok {
		return nil, "", true, ErrClosed
	}
	if ev.Done {
		ds = c.out.Finish()
		if ev.Err != nil {
			return ds, "", true, ev.Err
		}
		return ds, c.finishReason(ds, ev.Finish), true, nil
	}
	c.tokens++
	ds = c.out.Push(ev.Token)
	if c.out.Stopped { // a stop sequence: end the job now
		c.cancel()
		ds = append(ds, c.out.Finish()...)
		return ds, c.finishReason(ds, "stop"), true, nil
	}
	return ds, "", false, nil
}

func (c *completion) finishReason(last []Delta, reason string) string {
	n := c.ntools // tool calls of earlier events, already counted
	for _, d := range last {
		if d.Tool != nil {
			n++
		}
	}
	if n > 0 && reason == "stop" {
		return "tool_calls"
	}
	return reason
}

func (c *completion) usage() map[string]int {
	return map[string]int{"prompt_tokens": c.prompt, "completion_tokens": c.tokens, "total_tokens": c.prompt + c.tokens}
}

// message is an assistant message of a response.
type message struct {
	Role             string         `json:"role"`
	Content          *string        `json:"content"`
	ReasoningContent string         `json:"reasoning_content,omitempty"`
	ToolCalls        []toolCallJSON `json:"tool_calls,omitempty"`
	Refusal          *string        `json:"refusal"`
}

type toolCallJSON struct {
	Index    *int   `json:"index,omitempty"`
	ID       string `json:"id,omitempty"`
	Type     string `json:"type,omitempty"`
	Function struct {
		Name      string `json:"name,omitempty"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

// whole answers with one chat.completion object.
func (c *completion) whole(w http.ResponseWriter) {
	var content, reasoning strings.Builder
	var calls []toolCallJSON
	for {
		ds, finish, done, err := c.next()
		for _, d := range ds {
			content.WriteString(d.Content)
			reasoning.WriteString(d.Reasoning)
			if d.Tool != nil {
				var tc toolCallJSON
				tc.ID, tc.Type = d.Tool.ID, "function"
				tc.Function.Name, tc.Function.Arguments = d.Tool.Name, d.Tool.Arguments
				calls = append(calls, tc)
				c.ntools++
			}
		}
		if !done {
			continue
		}
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return // the client left
			}
			writeError(w, serverError(err))
			return
		}
		msg := message{Role: "assistant", ReasoningContent: reasoning.String(), ToolCalls: calls}
		if text := content.String(); len(calls) == 0 || strings.TrimSpace(text) != "" {
			msg.Content = &text
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"id": c.id, "object": "chat.completion", "created": c.created, "model": c.model,
			"choices": []any{map[string]any{"index": 0, "message": msg, "logprobs": nil, "finish_reason": finish}},
			"usage":   c.usage(), "system_fingerprint": nil,
		})
		return
	}
}

func serverError(err error) *Error {
	if errors.Is(err, ErrClosed) {
		return &Error{Status: http.StatusServiceUnavailable, Type: "server_error", Code: "unavailable", RetryAfter: 5, Message: "the server is shutting down"}
	}
	return &Error{Status: http.StatusInternalServerError, Type: "server_error", Message: "generation failed: " + err.Error()}
}

// stream answers with server-sent events: chat.completion.chunk objects,
// then data: [DONE].
func (c *completion) stream(w http.ResponseWriter, includeUsage bool) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	send := func(v any) bool {
		b, _ := json.Marshal(v)
		if _, err := fmt.Fprintf(w, "data: %s\n\n", b); err != nil {
			c.cancel()
			return false
		}
		if err := rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) { // a writer without Flush streams as it can
			c.cancel()
			return false
		}
		return true
	}
	chunk := func(delta map[string]any, finish any) map[string]any {
		ch := map[string]any{"id": c.id, "object": "chat.completion.chunk", "created": c.created, "model": c.model,
			"system_fingerprint": nil,
			"choices":            []any{map[string]any{"index": 0, "delta": delta, "logprobs": nil, "finish_reason": finish}}}
		if includeUsage {
			ch["usage"] = nil
		}
		return ch
	}
	if !send(chunk(map[string]any{"role": "assistant", "content": ""}, nil)) {
		return
	}
	for {
		ds, finish, done, err := c.next()
		for _, d := range ds {
			var ok bool
			switch {
			case d.Tool != nil:
				i := c.ntools
				c.ntools++
				ok = send(chunk(map[string]any{"tool_calls": []any{map[string]any{"index": i, "id": d.Tool.ID, "type": "function",
					"function": map[string]any{"name": d.Tool.Name, "arguments": ""}}}}, nil)) &&
					send(chunk(map[string]any{"tool_calls": []any{map[string]any{"index": i,
						"function": map[string]any{"arguments": d.Tool.Arguments}}}}, nil))
			case d.Reasoning != "":
				ok = send(chunk(map[string]any{"reasoning_content": d.Reasoning}, nil))
			default:
				ok = send(chunk(map[string]any{"content": d.Content}, nil))
			}
			if !ok {
				return
			}
		}
		if !done {
			continue
		}
		if err != nil {
			if !errors.Is(err, context.Canceled) {
				send(map[string]any{"error": serverError(err)})
			}
			return
		}
		if !send(chunk(map[string]any{}, finish)) {
			return
		}
		if includeUsage {
			if !send(map[string]any{"id": c.id, "object": "chat.completion.chunk", "created": c.created, "model": c.model,
				"system_fingerprint": nil, "choices": []any{}, "usage": c.usage()}) {
				return
			}
		}
		fmt.Fprint(w, "data: [DONE]\n\n")
		rc.Flush() // ErrNotSupported: nothing to flush
		return
	}
}
