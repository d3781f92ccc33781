package webgpu

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"
)

// openTest returns a new engine, or skips the test when the machine has no
// WebGPU adapter (MINIMIND_REQUIRE_WEBGPU=1 makes that a failure, for CI
// machines that install lavapipe).
func openTest(t testing.TB, opts Options) *Engine {
	t.Helper()
	e, err := New(context.Background(), opts)
	if errors.Is(err, ErrNoAdapter) {
		if os.Getenv("MINIMIND_REQUIRE_WEBGPU") == "1" {
			t.Fatalf("MINIMIND_REQUIRE_WEBGPU=1 but %v", err)
		}
		t.Skipf("skipping: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// testRand returns a random source seeded from MINIMIND_SEED or the clock
// (logged, so a failure can be replayed).
func testRand(t testing.TB) *rand.Rand {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("MINIMIND_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("MINIMIND_SEED=%q: %v", s, err)
		}
		seed = v
	}
	t.Logf("random seed %d (set MINIMIND_SEED to replay)", seed)
	return rand.New(rand.NewPCG(seed, 0x77677075))
}

func randVec(r *rand.Rand, n int, scale float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64() * scale)
	}
	return v
}

// relErr is max|got-want| / max|want|; -Inf entries (masked attention
// scores) must match exactly, and NaN never matches.
func relErr(got, want []float32) float64 {
	if len(got) != len(want) {
		return math.Inf(1)
	}
	var maxAbs, maxDiff float64
	for i := range want {
		w, g := float64(want[i]), float64(got[i])
		if math.IsNaN(g) || math.IsNaN(w) {
			return math.Inf(1)
		}
		if math.IsInf(w, 0) || math.IsInf(g, 0) {
			if w != g {
				return math.Inf(1)
			}
			continue
		}
		maxAbs = math.Max(maxAbs, math.Abs(w))
		maxDiff = math.Max(maxDiff, math.Abs(g-w))
	}
	if maxAbs == 0 {
		return maxDiff
	}
	return maxDiff / maxAbs
}

// tol is the largest relative error accepted against the CPU engine in f32.
const tol = 1e-4
