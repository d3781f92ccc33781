// Package progress draws a one-line progress bar for long jobs (training,
// tokenizing, converting). On a terminal the line is redrawn in place a few
// times a second; when the output is a file or a pipe it degrades to a plain
// log line every Interval, so logs stay readable.
//
//	bar := progress.New(os.Stderr, total, progress.Options{Label: "train"})
//	for i := 1; i <= total; i++ {
//		work()
//		bar.Update(i, "loss 3.21")
//	}
//	bar.Finish("done")
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Options configures a Bar.
type Options struct {
	// Label is printed at the start of the line (e.g. "pretrain").
	Label string
	// Width is the number of cells of the bar itself (default 24).
	Width int
	// Interval is how often a line is printed when the output is not a
	// terminal (default 30s). On a terminal the line is redrawn at most every
	// RedrawInterval (default 100ms).
	Interval, RedrawInterval time.Duration
	// Terminal forces terminal (true) or log-line (false) mode; nil detects
	// it from the writer.
	Terminal *bool
	// Now replaces time.Now (tests).
	Now func() time.Time
}

// Bar is a progress bar over [0, total] units. Its methods are safe for
// concurrent use.
type Bar struct {
	mu       sync.Mutex
	w        io.Writer
	opt      Options
	term     bool
	total    int
	start    time.Time
	base     int // units already done when the bar started (resumed work)
	done     int
	last     time.Time // last draw
	drawn    bool
	lastLine int    // length of the last terminal line
	lastDone int    // done at the last draw
	lastStat string // status at the last draw
}

// New returns a bar that writes to w for a job of total units.
func New(w io.Writer, total int, opt Options) *Bar {
	if opt.Width <= 0 {
		opt.Width = 24
	}
	if opt.Interval <= 0 {
		opt.Interval = 30 * time.Second
	}
	if opt.RedrawInterval <= 0 {
		opt.RedrawInterval = 100 * time.Millisecond
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	term := IsTerminal(w)
	if opt.Terminal != nil {
		term = *opt.Terminal
	}
	now := opt.Now()
	return &Bar{w: w, opt: opt, term: term, total: total, start: now, last: now}
}

// IsTerminal reports whether w is a character device (an interactive
// terminal) rather than a file or a pipe.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	if err != nil {
		return false
	}
	return st.Mode()&os.ModeCharDevice != 0
}

// Terminal reports whether the bar redraws in place.
func (b *Bar) Terminal() bool { return b.term }

// SetBase records that done units were already complete when the bar
// started (a resumed job), so rates and the ETA count only new work.
func (b *Bar) SetBase(done int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.base, b.done = done, done
}

// Update sets the number of units done and the status text shown after the
// bar, drawing when it is time to.
func (b *Bar) Update(done int, status string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done = done
	now := b.opt.Now()
	every := b.opt.Interval
	if b.term {
		every = b.opt.RedrawInterval
	}
	// Draw when it is time to, and once more on reaching the total.
	if b.drawn && now.Sub(b.last) < every && (done < b.total || b.lastDone >= b.total) {
		return
	}
	b.draw(now, status)
}

// Log prints a message on its own line without disturbing the bar.
func (b *Bar) Log(msg string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.term && b.lastLine > 0 {
		fmt.Fprint(b.w, "\r\x1b[K")
		b.lastLine = 0
	}
	fmt.Fprintln(b.w, msg)
}

// Above runs print, which writes lines to the bar's writer, with the bar's
// line cleared first on a terminal, so the lines appear above the bar; the
// bar is redrawn at the next Update.
func (b *Bar) Above(print func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.term && b.lastLine > 0 {
		fmt.Fprint(b.w, "\r\x1b[K")
		b.lastLine = 0
		b.drawn = false
	}
	print()
}

// Finish draws the final state followed by a newline (in log-line mode
// only when it differs from the last line printed).
func (b *Bar) Finish(status string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.term && b.drawn && b.lastDone == b.done && b.lastStat == status {
		return
	}
	b.draw(b.opt.Now(), status)
	if b.term {
		fmt.Fprintln(b.w)
		b.lastLine = 0
	}
}

// Line returns the text the bar would show now for done units and status
// (without drawing).
func (b *Bar) Line(done int, status string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.line(b.opt.Now(), done, status)
}

func (b *Bar) draw(now time.Time, status string) {
	line := b.line(now, b.done, status)
	b.last, b.drawn, b.lastDone, b.lastStat = now, true, b.done, status
	if b.term {
		fmt.Fprintf(b.w, "\r%s\x1b[K", line)
		b.lastLine = len(line)
		return
	}
	fmt.Fprintln(b.w, line)
}

func (b *Bar) line(now time.Time, done int, status string) string {
	var sb strings.Builder
	if b.opt.Label != "" {
		sb.WriteString(b.opt.Label)
		sb.WriteByte(' ')
	}
	frac := 0.0
	if b.total > 0 {
		frac = min(1, max(0, float64(done)/float64(b.total)))
	}
	if b.term {
		full := int(frac * float64(b.opt.Width))
		sb.WriteByte('[')
		sb.WriteString(strings.Repeat("=", full))
		if full < b.opt.Width {
			sb.WriteByte('>')
			sb.WriteString(strings.Repeat(" ", b.opt.Width-full-1))
		}
		sb.WriteString("] ")
	}
	fmt.Fprintf(&sb, "%3.0f%% %d/%d", 100*frac, done, b.total)
	if status != "" {
		sb.WriteString(" ")
		sb.WriteString(status)
	}
	elapsed := now.Sub(b.start)
	fmt.Fprintf(&sb, " elapsed %s", FormatDuration(elapsed))
	if n := done - b.base; n > 0 && done < b.total && elapsed > 0 {
		eta := time.Duration(float64(elapsed) / float64(n) * float64(b.total-done))
		fmt.Fprintf(&sb, " ETA %s", FormatDuration(eta))
	}
	return sb.String()
}

// FormatDuration writes d compactly: 45s, 12m05s, 3h04m.
func FormatDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int64(d.Round(time.Second) / time.Second)
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	default:
		return fmt.Sprintf("%dh%02dm", s/3600, (s%3600)/60)
	}
}
