package serve_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minimind-go/minimind/serve"
)

const modelID = "minimind"

func userParams(text string) openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{Model: modelID,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("Be brief."), openai.UserMessage(text)}}
}

// streamAll runs a streaming request and returns the accumulated completion,
// the reasoning deltas joined, and the number of chunks.
func streamAll(t *testing.T, c *openai.Client, p openai.ChatCompletionNewParams, opts ...option.RequestOption) (openai.ChatCompletion, string, int) {
	t.Helper()
	st := c.Chat.Completions.NewStreaming(context.Background(), p, opts...)
	var acc openai.ChatCompletionAccumulator
	var reasoning strings.Builder
	n := 0
	for st.Next() {
		ch := st.Current()
		n++
		require.True(t, acc.AddChunk(ch))
		if len(ch.Choices) > 0 {
			if f, ok := ch.Choices[0].Delta.JSON.ExtraFields["reasoning_content"]; ok && f.Raw() != "null" {
				reasoning.WriteString(unquote(t, f.Raw()))
			}
		}
	}
	require.NoError(t, st.Err())
	return acc.ChatCompletion, reasoning.String(), n
}

func unquote(t *testing.T, raw string) string {
	t.Helper()
	var s string
	require.NoError(t, jsonUnmarshal(raw, &s))
	return s
}

func TestModels(t *testing.T) {
	ts, _, _ := scripted(t, "hi", serve.Options{})
	c := client(ts)
	page, err := c.Models.List(context.Background())
	require.NoError(t, err)
	require.Len(t, page.Data, 1)
	assert.Equal(t, modelID, page.Data[0].ID)
	assert.Equal(t, "minimind", page.Data[0].OwnedBy)
	m, err := c.Models.Get(context.Background(), modelID)
	require.NoError(t, err)
	assert.Equal(t, modelID, m.ID)
	_, err = c.Models.Get(context.Background(), "gpt-4")
	var apiErr *openai.Error
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusNotFound, apiErr.StatusCode)
	assert.Equal(t, "model_not_found", apiErr.Code)
}

// TestChat checks the answer, finish reason and usage, streamed and not.
func TestChat(t *testing.T) {
	const reply = "Hello there, friend!"
	ts, lm, tok := scripted(t, reply, serve.Options{})
	c := client(ts)
	want := len(tok.Encode(reply))

	r, err := c.Chat.Completions.New(context.Background(), userParams("hi"))
	require.NoError(t, err)
	require.Len(t, r.Choices, 1)
	assert.Equal(t, reply, r.Choices[0].Message.Content)
	assert.Equal(t, "stop", r.Choices[0].FinishReason)
	assert.Equal(t, "chat.completion", string(r.Object))
	assert.Equal(t, modelID, r.Model)
	assert.True(t, strings.HasPrefix(r.ID, "chatcmpl-"), r.ID)
	assert.Equal(t, int64(want), r.Usage.CompletionTokens)
	prompt := lm.lastPrompt(tok)
	assert.Equal(t, "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n", prompt)
	assert.Equal(t, int64(len(tok.Encode(prompt))), r.Usage.PromptTokens)
	assert.Equal(t, r.Usage.PromptTokens+r.Usage.CompletionTokens, r.Usage.TotalTokens)

	p := userParams("hi")
	p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	s, reasoning, chunks := streamAll(t, c, p)
	assert.Equal(t, reply, s.Choices[0].Message.Content)
	assert.Empty(t, reasoning)
	assert.Equal(t, "stop", s.Choices[0].FinishReason)
	assert.Equal(t, int64(want), s.Usage.CompletionTokens)
	assert.Greater(t, chunks, 3, "the answer arrives in pieces")
}

func TestContentParts(t *testing.T) {
	ts, lm, tok := scripted(t, "ok", serve.Options{})
	p := openai.ChatCompletionNewParams{Model: modelID, Messages: []openai.ChatCompletionMessageParamUnion{
		openai.UserMessage([]openai.ChatCompletionContentPartUnionParam{openai.TextContentPart("one"), openai.TextContentPart("two")}),
	}}
	_, err := client(ts).Chat.Completions.New(context.Background(), p)
	require.NoError(t, err)
	assert.Contains(t, lm.lastPrompt(tok), "<|im_start|>user\none\ntwo<|im_end|>")
}

// TestThinking checks MiniMind's thinking switch and reasoning_content.
func TestThinking(t *testing.T) {
	for _, tc := range []struct {
		name, reply string
		opt         option.RequestOption
		promptEnd   string
	}{
		{"chat_template_kwargs", "Two plus two.\n</think>\n\nIt is 4.", option.WithJSONSet("chat_template_kwargs", map[string]any{"enable_thinking": true}), "assistant\n<think>\n"},
		{"open_thinking", "Two plus two.\n\n</think>\nIt is 4.", option.WithJSONSet("open_thinking", true), "assistant\n<think>\n"},
		{"model opens the block", "<think>\nTwo plus two.\n</think>\n\nIt is 4.", option.WithJSONSet("open_thinking", false), "</think>\n\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts, lm, tok := scripted(t, tc.reply, serve.Options{})
			c := client(ts)
			r, err := c.Chat.Completions.New(context.Background(), userParams("2+2?"), tc.opt)
			require.NoError(t, err)
			assert.True(t, strings.HasSuffix(lm.lastPrompt(tok), tc.promptEnd), lm.lastPrompt(tok))
			assert.Equal(t, "It is 4.", r.Choices[0].Message.Content)
			assert.Equal(t, `"Two plus two."`, r.Choices[0].Message.JSON.ExtraFields["reasoning_content"].Raw())

			s, reasoning, _ := streamAll(t, c, userParams("2+2?"), tc.opt)
			assert.Equal(t, "It is 4.", s.Choices[0].Message.Content)
			assert.Equal(t, "Two plus two.", reasoning)
		})
	}
}

func weatherTool() openai.ChatCompletionToolUnionParam {
	return openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
		Name:        "get_weather",
		Description: openai.String("Current weather of a city"),
		Parameters: shared.FunctionParameters{"type": "object",
			"properties": map[string]any{"city": map[string]any{"type": "string"}}, "required": []string{"city"}},
	})
}

// TestToolCalls checks that <tool_call> JSON becomes tool_calls (streamed
// as OpenAI streams them), that the tools reach the prompt, and that a tool
// result goes back into the template.
func TestToolCalls(t *testing.T) {
	reply := "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>"
	ts, lm, tok := scripted(t, reply, serve.Options{})
	c := client(ts)
	p := userParams("Weather in Paris?")
	p.Tools = []openai.ChatCompletionToolUnionParam{weatherTool()}

	r, err := c.Chat.Completions.New(context.Background(), p)
	require.NoError(t, err)
	prompt := lm.lastPrompt(tok)
	assert.Contains(t, prompt, "# Tools")
	assert.Contains(t, prompt, `"name": "get_weather"`)
	ch := r.Choices[0]
	assert.Equal(t, "tool_calls", ch.FinishReason)
	assert.Empty(t, ch.Message.Content)
	require.Len(t, ch.Message.ToolCalls, 1)
	call := ch.Message.ToolCalls[0]
	assert.Equal(t, "function", call.Type)
	assert.True(t, strings.HasPrefix(call.ID, "call_"), call.ID)
	assert.Equal(t, "get_weather", call.Function.Name)
	assert.JSONEq(t, `{"city": "Paris"}`, call.Function.Arguments)

	s, _, _ := streamAll(t, c, p)
	require.Len(t, s.Choices[0].Message.ToolCalls, 1)
	assert.Equal(t, "get_weather", s.Choices[0].Message.ToolCalls[0].Function.Name)
	assert.JSONEq(t, `{"city": "Paris"}`, s.Choices[0].Message.ToolCalls[0].Function.Arguments)
	assert.Equal(t, "tool_calls", s.Choices[0].FinishReason)

	// The tool's answer goes back to the model.
	p.Messages = append(p.Messages, ch.Message.ToParam(), openai.ToolMessage(`{"sky": "clear"}`, call.ID))
	_, err = c.Chat.Completions.New(context.Background(), p)
	require.NoError(t, err)
	prompt = lm.lastPrompt(tok)
	assert.Contains(t, prompt, "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\":\"Paris\"}}\n</tool_call><|im_end|>")
	assert.Contains(t, prompt, "<|im_start|>user\n<tool_response>\n{\"sky\": \"clear\"}\n</tool_response><|im_end|>")

	// tool_choice none: no tools in the prompt, the block stays text.
	p.Messages = p.Messages[:2]
	p.ToolChoice = openai.ChatCompletionToolChoiceOptionUnionParam{OfAuto: openai.String("none")}
	r, err = c.Chat.Completions.New(context.Background(), p)
	require.NoError(t, err)
	assert.NotContains(t, lm.lastPrompt(tok), "# Tools")
	assert.Equal(t, reply, r.Choices[0].Message.Content)
	assert.Equal(t, "stop", r.Choices[0].FinishReason)
}

// TestStopAndLength checks stop sequences and max_tokens.
func TestStopAndLength(t *testing.T) {
	ts, _, _ := scripted(t, "Hello there, friend!", serve.Options{})
	c := client(ts)
	p := userParams("hi")
	p.Stop = openai.ChatCompletionNewParamsStopUnion{OfStringArray: []string{"xyz", "re, f"}}
	r, err := c.Chat.Completions.New(context.Background(), p)
	require.NoError(t, err)
	assert.Equal(t, "Hello the", r.Choices[0].Message.Content)
	assert.Equal(t, "stop", r.Choices[0].FinishReason)
	s, _, _ := streamAll(t, c, p)
	assert.Equal(t, "Hello the", s.Choices[0].Message.Content)

	p = userParams("hi")
	p.MaxTokens = openai.Int(2)
	r, err = c.Chat.Completions.New(context.Background(), p)
	require.NoError(t, err)
	assert.Equal(t, "length", r.Choices[0].FinishReason)
	assert.Equal(t, int64(2), r.Usage.CompletionTokens)
	p = userParams("hi")
	p.MaxCompletionTokens = openai.Int(3)
	s, _, _ = streamAll(t, c, p)
	assert.Equal(t, "length", s.Choices[0].FinishReason)
}

// TestErrors checks OpenAI-shaped errors and their statuses.
func TestErrors(t *testing.T) {
	ts, _, _ := scripted(t, "ok", serve.Options{MaxBodyBytes: 2000, MaxTokens: 100, MaxPromptTokens: 200})
	ok := `{"model":"minimind","messages":[{"role":"user","content":"hi"}]`
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		param, code, msg         string
	}{
		{"malformed", "POST", "/v1/chat/completions", `{"model":`, 400, "", "", "not valid JSON"},
		{"not an object", "POST", "/v1/chat/completions", `[1]`, 400, "", "", "JSON object"},
		{"no model", "POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}]}`, 400, "model", "", "model is required"},
		{"unknown model", "POST", "/v1/chat/completions", `{"model":"gpt-4","messages":[{"role":"user","content":"hi"}]}`, 404, "model", "model_not_found", "gpt-4"},
		{"no messages", "POST", "/v1/chat/completions", `{"model":"minimind","messages":[]}`, 400, "messages", "", "at least one"},
		{"bad role", "POST", "/v1/chat/completions", `{"model":"minimind","messages":[{"role":"robot","content":"hi"}]}`, 400, "messages[0].role", "", "robot"},
		{"image part", "POST", "/v1/chat/completions", `{"model":"minimind","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]}`, 400, "messages[0].content[0].type", "", "text parts"},
		{"temperature type", "POST", "/v1/chat/completions", ok + `,"temperature":"hot"}`, 400, "temperature", "", "number"},
		{"temperature range", "POST", "/v1/chat/completions", ok + `,"temperature":3}`, 400, "temperature", "", "between 0 and 2"},
		{"top_p", "POST", "/v1/chat/completions", ok + `,"top_p":0}`, 400, "top_p", "", ""},
		{"max_tokens", "POST", "/v1/chat/completions", ok + `,"max_tokens":101}`, 400, "max_tokens", "", "limit of 100"},
		{"max_completion_tokens", "POST", "/v1/chat/completions", ok + `,"max_completion_tokens":0}`, 400, "max_completion_tokens", "", "at least 1"},
		{"n", "POST", "/v1/chat/completions", ok + `,"n":2}`, 400, "n", "", "n = 1"},
		{"stop", "POST", "/v1/chat/completions", ok + `,"stop":["a","b","c","d","e"]}`, 400, "stop", "", "at most 4"},
		{"tool", "POST", "/v1/chat/completions", ok + `,"tools":[{"type":"function","function":{}}]}`, 400, "tools[0]", "", "name"},
		{"tool_choice", "POST", "/v1/chat/completions", ok + `,"tool_choice":{"type":"function","function":{"name":"nope"}}}`, 400, "tool_choice.function.name", "", "nope"},
		{"prompt too long", "POST", "/v1/chat/completions", `{"model":"minimind","messages":[{"role":"user","content":"` + strings.Repeat("word ", 300) + `"}]}`, 400, "messages", "context_length_exceeded", "limit of 200"},
		{"too large", "POST", "/v1/chat/completions", `{"model":"minimind","messages":[{"role":"user","content":"` + strings.Repeat("x", 3000) + `"}]}`, 413, "", "request_too_large", "2000 bytes"},
		{"method", "GET", "/v1/chat/completions", "", 405, "", "", "POST"},
		{"unknown path", "GET", "/v1/completions", "", 404, "", "unknown_url", "/v1/completions"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, ts.URL+tc.path, strings.NewReader(tc.body))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			assert.Equal(t, tc.status, resp.StatusCode, string(body))
			assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
			var e struct {
				Error struct {
					Message string  `json:"message"`
					Type    string  `json:"type"`
					Param   *string `json:"param"`
					Code    *string `json:"code"`
				} `json:"error"`
			}
			require.NoError(t, jsonUnmarshal(string(body), &e), string(body))
			assert.Contains(t, e.Error.Message, tc.msg)
			assert.NotEmpty(t, e.Error.Type)
			if tc.param == "" {
				assert.Nil(t, e.Error.Param)
			} else if assert.NotNil(t, e.Error.Param) {
				assert.Equal(t, tc.param, *e.Error.Param)
			}
			if tc.code != "" && assert.NotNil(t, e.Error.Code) {
				assert.Equal(t, tc.code, *e.Error.Code)
			}
		})
	}
	// The SDK sees the same errors.
	_, err := client(ts).Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "gpt-4",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}})
	var apiErr *openai.Error
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 404, apiErr.StatusCode)
	assert.Equal(t, "model", apiErr.Param)
	// And the server still answers.
	_, err = client(ts).Chat.Completions.New(context.Background(), userParams("hi"))
	require.NoError(t, err)
}

func TestAPIKey(t *testing.T) {
	ts, _, _ := scripted(t, "ok", serve.Options{APIKey: "sesame"})
	_, err := client(ts, option.WithAPIKey("wrong")).Chat.Completions.New(context.Background(), userParams("hi"))
	var apiErr *openai.Error
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusUnauthorized, apiErr.StatusCode)
	assert.Equal(t, "invalid_api_key", apiErr.Code)
	resp, err := http.Get(ts.URL + "/v1/models")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	r, err := client(ts, option.WithAPIKey("sesame")).Chat.Completions.New(context.Background(), userParams("hi"))
	require.NoError(t, err)
	assert.Equal(t, "ok", r.Choices[0].Message.Content)
}

// TestQueueFull fills the only batch place and the only queue place; the
// next request gets 429 with Retry-After, and succeeds once there is room.
func TestQueueFull(t *testing.T) {
	ts, lm, _ := scripted(t, strings.Repeat("word ", 40), serve.Options{Scheduler: serve.SchedulerOptions{MaxBatch: 1, MaxQueue: 1}})
	lm.delay.Store(int64(20 * time.Millisecond))
	c := client(ts)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for range 2 {
		go c.Chat.Completions.New(ctx, userParams("hi"))
	}
	require.Eventually(t, func() bool {
		active, queued, _ := lm.srv.Scheduler().Stats()
		return active == 1 && queued == 1
	}, 5*time.Second, time.Millisecond)
	require.Eventually(t, func() bool {
		resp, err := http.Post(ts.URL+"/v1/chat/completions", "application/json",
			strings.NewReader(`{"model":"minimind","messages":[{"role":"user","content":"hi"}]}`))
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusTooManyRequests {
			return false
		}
		assert.Equal(t, "1", resp.Header.Get("Retry-After"))
		return true
	}, 5*time.Second, 5*time.Millisecond)
	cancel()
	lm.delay.Store(0)
	_, err := c.Chat.Completions.New(context.Background(), userParams("hi"), option.WithMaxRetries(5))
	require.NoError(t, err)
}

// TestDisconnectFreesSlot drops a streaming client mid-answer: its batch
// place and sequence state are freed before the next step, and the next
// request is served at once.
func TestDisconnectFreesSlot(t *testing.T) {
	ts, lm, _ := scripted(t, strings.Repeat("word ", 500), serve.Options{MaxTokens: 1000, Scheduler: serve.SchedulerOptions{MaxBatch: 1, MaxQueue: 1}})
	lm.delay.Store(int64(10 * time.Millisecond))
	c := client(ts)
	ctx, cancel := context.WithCancel(context.Background())
	st := c.Chat.Completions.NewStreaming(ctx, userParams("hi"))
	for range 3 {
		require.True(t, st.Next())
	}
	active, _, _ := lm.srv.Scheduler().Stats()
	assert.Equal(t, 1, active)
	cancel()
	st.Close()
	start := time.Now()
	require.Eventually(t, func() bool { return lm.freed.Load() == 1 }, 2*time.Second, time.Millisecond)
	t.Logf("slot freed %v after the disconnect", time.Since(start))
	assert.Less(t, time.Since(start), 500*time.Millisecond)
	lm.delay.Store(0)
	r, err := c.Chat.Completions.New(context.Background(), userParams("hi"), option.WithMaxRetries(0))
	require.NoError(t, err)
	assert.Equal(t, "stop", r.Choices[0].FinishReason)
	assert.Equal(t, int64(2), lm.freed.Load())
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }
