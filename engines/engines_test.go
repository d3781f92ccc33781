package engines_test

import (
	"context"
	"errors"
	"io"
	"os"
	"testing"

	"github.com/minimind-go/minimind/engines"
	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/webgpu"
)

func TestOpen(t *testing.T) {
	e, release, err := engines.Open(context.Background(), "cpu", 1, false, io.Discard)
	if err != nil || e.Name() != "cpu" {
		t.Fatalf("cpu: %v, %v", e, err)
	}
	release()
	if _, _, err := engines.Open(context.Background(), "tpu", 1, false, io.Discard); err == nil {
		t.Error("an unknown engine was accepted")
	}
}

// TestWebGPUGreedyEqualsCPU generates greedily on both engines.
func TestWebGPUGreedyEqualsCPU(t *testing.T) {
	g, release, err := engines.Open(context.Background(), "webgpu", 0, false, io.Discard)
	if errors.Is(err, webgpu.ErrNoAdapter) && os.Getenv("MINIMIND_REQUIRE_WEBGPU") != "1" {
		t.Skipf("no WebGPU adapter: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	c, _, _ := engines.Open(context.Background(), "cpu", 0, false, io.Discard)
	cfg, _ := model.Preset("tiny3")
	var outs [2][]int32
	for i, e := range []model.Engine{c, g} {
		w := model.InitWeights(cfg, 9)
		for _, p := range cfg.Params(w) {
			if len(p.Shape) == 2 {
				for j := range (*p.Ptr).(*model.Host).Data {
					(*p.Ptr).(*model.Host).Data[j] *= 5
				}
			}
		}
		m, err := model.New(cfg, e, w)
		if err != nil {
			t.Fatal(err)
		}
		outs[i], err = m.Generate(context.Background(), []int32{1, 20, 30, 40}, model.GenerateOptions{MaxTokens: 24, StopTokens: []int32{}})
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := range outs[0] {
		if outs[0][i] != outs[1][i] {
			t.Fatalf("greedy tokens differ: cpu %v, webgpu %v", outs[0], outs[1])
		}
	}
}
