package webgpu

import (
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/minimind-go/minimind/model"
)

// TestProfile times every shader of a minimind2-small prefill (256 tokens)
// and decode step, each dispatch waited for on its own (slower in total than
// batched, but it shows where the time goes). Set MINIMIND_WEBGPU_PROFILE=1.
func TestProfile(t *testing.T) {
	if os.Getenv("MINIMIND_WEBGPU_PROFILE") == "" {
		t.Skip("set MINIMIND_WEBGPU_PROFILE=1 to profile the shaders")
	}
	e := openTest(t, Options{})
	t.Log(e.Adapter())
	c, w := scaledRandom(t, "minimind2-small", 11, 5)
	m, err := model.New(c, e, w)
	if err != nil {
		t.Fatal(err)
	}
	ids := benchPrompt(256)
	cache := m.NewCache(1, 300)
	for i := range 3 {
		e.prof = map[string]time.Duration{}
		t0 := time.Now()
		l, err := m.Forward(ids, 1, model.ForwardOptions{Cache: cache, LastOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		e.Read(l)
		e.Free(l)
		total := time.Since(t0)
		var names []string
		for k := range e.prof {
			names = append(names, k)
		}
		sort.Slice(names, func(a, b int) bool { return e.prof[names[a]] > e.prof[names[b]] })
		var parts []string
		for _, k := range names {
			parts = append(parts, k+" "+e.prof[k].Round(time.Microsecond*100).String())
		}
		t.Logf("step %d, %d tokens: %v: %s", i, len(ids), total.Round(time.Millisecond), strings.Join(parts, ", "))
		ids = ids[:1]
	}
	e.prof = nil
}
