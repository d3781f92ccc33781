package native

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/minimind-go/minimind/model/checkpoint"
)

// SVG layout of the loss curve, in pixels.
const (
	svgW, svgH                         = 800, 400
	svgLeft, svgRight, svgTop, svgBott = 64, 16, 28, 40
	svgMaxPoints                       = 1000
)

// LossSVG writes a line chart of per-micro-step losses as a standalone SVG:
// the losses (averaged into at most 1000 buckets) in a light line and an
// exponential moving average in a dark one, with labelled axes.
func LossSVG(w io.Writer, losses []float64) error {
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", svgW, svgH, svgW, svgH)
	b.WriteString(`<rect width="100%" height="100%" fill="white"/>` + "\n")
	fmt.Fprintf(&b, `<text x="%d" y="18" font-size="14">training loss</text>`+"\n", svgLeft)
	pw, ph := float64(svgW-svgLeft-svgRight), float64(svgH-svgTop-svgBott)

	// Bucket means of the finite losses: x = micro-step (1-based), y = loss.
	var xs, ys []float64
	n := len(losses)
	per := max(1, (n+svgMaxPoints-1)/svgMaxPoints)
	for i := 0; i < n; i += per {
		sum, cnt := 0.0, 0
		for _, v := range losses[i:min(i+per, n)] {
			if finite(v) {
				sum += v
				cnt++
			}
		}
		if cnt > 0 {
			xs = append(xs, float64(i)+float64(1+min(per, n-i))/2) // bucket centre
			ys = append(ys, sum/float64(cnt))
		}
	}
	if len(ys) == 0 {
		fmt.Fprintf(&b, `<text x="%d" y="%d">no data</text>`+"\n", svgW/2-30, svgH/2)
		b.WriteString("</svg>\n")
		_, err := io.WriteString(w, b.String())
		return err
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range ys {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	ticks := niceTicks(lo, hi, 5)
	lo, hi = math.Min(lo, ticks[0]), math.Max(hi, ticks[len(ticks)-1])
	if hi == lo {
		hi, lo = hi+0.5, lo-0.5
	}
	xmax := math.Max(float64(n), 2)
	px := func(x float64) float64 { return svgLeft + (x-1)/(xmax-1)*pw }
	py := func(y float64) float64 { return svgTop + (hi-y)/(hi-lo)*ph }

	// Axes, grid and labels.
	fmt.Fprintf(&b, `<g stroke="#ccc" stroke-width="1">`+"\n")
	for _, t := range ticks {
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f"/>`+"\n", svgLeft, py(t), svgW-svgRight, py(t))
	}
	b.WriteString("</g>\n")
	for _, t := range ticks {
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", svgLeft-6, py(t)+4, trimFloat(t))
	}
	for _, t := range niceTicks(1, xmax, 6) {
		if t < 1 || t > xmax {
			continue
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", px(t), svgH-svgBott+16, trimFloat(t))
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">micro-step</text>`+"\n", svgLeft+pw/2, svgH-6)
	fmt.Fprintf(&b, `<path d="M%d %d V%d H%d" fill="none" stroke="black"/>`+"\n", svgLeft, svgTop, svgH-svgBott, svgW-svgRight)

	// The curves.
	line := func(vals []float64, color string, width float64) {
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="%g" points="`, color, width)
		for i, v := range vals {
			if i > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, "%.1f,%.1f", px(xs[i]), py(v))
		}
		b.WriteString(`"/>` + "\n")
	}
	line(ys, "#9ecae1", 1)
	ema := make([]float64, len(ys))
	alpha := math.Min(1, 20/float64(len(ys)))
	for i, v := range ys {
		if i == 0 {
			ema[i] = v
		} else {
			ema[i] = ema[i-1] + alpha*(v-ema[i-1])
		}
	}
	line(ema, "#08519c", 2)
	fmt.Fprintf(&b, `<text x="%d" y="18" text-anchor="end">last %.4f, min %.4f over %d micro-steps</text>`+"\n", svgW-svgRight, ys[len(ys)-1], minFinite(losses), n)
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// writeLossSVG writes LossSVG to path atomically.
func writeLossSVG(path string, losses []float64) error {
	var buf bytes.Buffer
	if err := LossSVG(&buf, losses); err != nil {
		return err
	}
	return checkpoint.WriteFileAtomic(path, buf.Bytes())
}

// niceTicks returns about n round tick values covering [lo, hi].
func niceTicks(lo, hi float64, n int) []float64 {
	if hi <= lo {
		return []float64{lo}
	}
	raw := (hi - lo) / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	var ts []float64
	for t := math.Floor(lo/step) * step; t <= hi+step*1e-9; t += step {
		ts = append(ts, math.Round(t/step)*step)
	}
	if ts[len(ts)-1] < hi {
		ts = append(ts, ts[len(ts)-1]+step)
	}
	return ts
}

func trimFloat(v float64) string { return fmt.Sprintf("%.6g", v) }

func minFinite(xs []float64) float64 {
	m := math.Inf(1)
	for _, v := range xs {
		if finite(v) {
			m = math.Min(m, v)
		}
	}
	return m
}
