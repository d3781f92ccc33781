package progress

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// clock is a fake time source advanced by the test.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestFormatDuration(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{-time.Second, "0s"},
		{0, "0s"},
		{45 * time.Second, "45s"},
		{12*time.Minute + 5*time.Second, "12m05s"},
		{3*time.Hour + 4*time.Minute + 59*time.Second, "3h04m"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			if got := FormatDuration(tc.d); got != tc.want {
				t.Errorf("FormatDuration(%v) = %q, want %q", tc.d, got, tc.want)
			}
		})
	}
}

func TestModes(t *testing.T) {
	yes, no := true, false
	for _, tc := range []struct {
		name  string
		term  *bool
		lines int // newline-terminated lines written
	}{
		{"log", &no, 3},       // first update, one after 30s, finish
		{"terminal", &yes, 1}, // redraws with \r, one newline at Finish
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			c := &clock{t: time.Unix(1000, 0)}
			b := New(&buf, 100, Options{Label: "train", Terminal: tc.term, Now: c.now})
			for i := 1; i <= 50; i++ {
				c.t = c.t.Add(time.Second)
				b.Update(i, fmt.Sprintf("loss %.2f", 3.0))
			}
			b.Finish("done")
			out := buf.String()
			if got := strings.Count(out, "\n"); got != tc.lines {
				t.Errorf("%d lines, want %d:\n%q", got, tc.lines, out)
			}
			if tc.term != nil && *tc.term != strings.Contains(out, "\r") {
				t.Errorf("carriage returns present = %v in %q", !*tc.term, out)
			}
			if !strings.Contains(out, "50/100 done") {
				t.Errorf("final state missing from %q", out)
			}
		})
	}
}

func TestTotalDrawnOnce(t *testing.T) {
	no := false
	var buf bytes.Buffer
	b := New(&buf, 3, Options{Terminal: &no, Now: (&clock{t: time.Unix(0, 0)}).now})
	for _, d := range []int{1, 2, 3, 3, 3} {
		b.Update(d, "")
	}
	b.Finish("")
	if got := strings.Count(buf.String(), "3/3"); got != 1 {
		t.Errorf("the final state was printed %d times:\n%s", got, buf.String())
	}
}

func TestAbove(t *testing.T) {
	yes := true
	var buf bytes.Buffer
	b := New(&buf, 10, Options{Terminal: &yes, Now: (&clock{t: time.Unix(0, 0)}).now})
	b.Update(1, "a")
	b.Above(func() { buf.WriteString("message\n") })
	b.Update(2, "b") // redrawn at once although little time passed
	out := buf.String()
	if !strings.Contains(out, "\r\x1b[Kmessage\n\r") || !strings.Contains(out, "2/10 b") {
		t.Errorf("output %q", out)
	}
}

func TestETA(t *testing.T) {
	c := &clock{t: time.Unix(0, 0)}
	no := false
	b := New(&bytes.Buffer{}, 100, Options{Terminal: &no, Now: c.now})
	b.SetBase(20) // resumed at 20: only the 10 new units count for the rate
	c.t = c.t.Add(10 * time.Second)
	got := b.Line(30, "x")
	if !strings.Contains(got, " 30% 30/100 x elapsed 10s ETA 1m10s") {
		t.Errorf("line %q", got)
	}
}

func TestIsTerminal(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if IsTerminal(f) || IsTerminal(&bytes.Buffer{}) {
		t.Error("a file or a buffer reported as a terminal")
	}
}

func ExampleBar() {
	off := false
	b := New(os.Stdout, 4, Options{Label: "demo", Terminal: &off, Now: func() time.Time { return time.Unix(0, 0) }})
	b.Update(1, "loss 2.50")
	b.Finish("loss 1.25")
	// Output:
	// demo  25% 1/4 loss 2.50 elapsed 0s
	// demo  25% 1/4 loss 1.25 elapsed 0s
}
