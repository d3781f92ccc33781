package serve_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"

	"github.com/minimind-go/minimind/chat"
	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/cpu"
	"github.com/minimind-go/minimind/serve"
	"github.com/minimind-go/minimind/tokenizer"
)

// Example serves a tiny random model with MiniMind-3's tokenizer and asks
// it for four greedy tokens.
func Example() {
	cfg, _ := model.Preset("tiny")
	m, _ := model.New(cfg, cpu.New(1), model.InitWeights(cfg, 1))
	tok, _ := tokenizer.LoadFS(os.DirFS("../testdata/minimind/minimind3"), ".")
	bot, _ := chat.New(m, tok)
	api := serve.New(bot, serve.Options{ModelID: "tiny"})
	defer api.Close()
	ts := httptest.NewServer(api)
	defer ts.Close()

	resp, err := http.Post(ts.URL+"/v1/chat/completions", "application/json", strings.NewReader(
		`{"model": "tiny", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4, "temperature": 0}`))
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var r struct {
		Object  string `json:"object"`
		Choices []struct {
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
		Usage struct {
			CompletionTokens int `json:"completion_tokens"`
		} `json:"usage"`
	}
	json.NewDecoder(resp.Body).Decode(&r)
	fmt.Println(resp.StatusCode, r.Object, r.Choices[0].FinishReason, r.Usage.CompletionTokens)
	// Output: 200 chat.completion length 4
}
