package native

import (
	"bytes"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestLossSVG compares the chart of a fixed loss series with
// testdata/loss_curve.svg (go test -run LossSVG -update rewrites it).
func TestLossSVG(t *testing.T) {
	var losses []float64
	for i := range 2500 {
		losses = append(losses, 2+6*math.Exp(-float64(i)/400)+0.3*math.Sin(float64(i)))
	}
	losses[100] = math.NaN() // skipped
	var buf bytes.Buffer
	if err := LossSVG(&buf, losses); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "loss_curve.svg")
	if *update {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("chart differs from %s (rerun with -update after checking it)", path)
	}
	if n := strings.Count(buf.String(), "<polyline"); n != 2 {
		t.Errorf("%d curves, want 2", n)
	}

	for _, tc := range []struct {
		name   string
		losses []float64
	}{
		{"empty", nil},
		{"one", []float64{3}},
		{"flat", []float64{3, 3, 3}},
		{"all NaN", []float64{math.NaN(), math.Inf(1)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := LossSVG(&b, tc.losses); err != nil {
				t.Fatal(err)
			}
			s := b.String()
			if !strings.HasPrefix(s, "<svg") || !strings.HasSuffix(s, "</svg>\n") || strings.Contains(s, "NaN") || strings.Contains(s, "Inf") {
				t.Errorf("bad SVG:\n%s", s)
			}
		})
	}
}
