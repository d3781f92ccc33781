package tokenizer

import (
	"slices"
	"testing"
)

// TestNextWord checks the pre-tokenizer on cases whose split Hugging Face's
// ByteLevel pre-tokenizer gave (tools/oracle/hf.mjs pretok); the golden
// encode tests cover many more.
func TestNextWord(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"Hello world", []string{"Hello", " world"}},
		{"a  b", []string{"a", " ", " b"}},
		{"a \n\n b", []string{"a", " \n\n", " b"}},
		{"x\t \ty", []string{"x", "\t ", "\t", "y"}},
		{"end  ", []string{"end", "  "}},
		{"it's I'LL they're", []string{"it", "'s", " I", "'", "LL", " they", "'re"}},
		{" 's", []string{" '", "s"}},
		{"123abc 4.5", []string{"123", "abc", " 4", ".", "5"}},
		{"你好，世界", []string{"你好", "，", "世界"}},
		{"😀 😀", []string{"😀", " 😀"}},
		{"a\u3000\u3000b", []string{"a", "\u3000", "\u3000", "b"}},
		{"..!! ??", []string{"..!!", " ??"}},
		{"a\xffb", []string{"a", "\xff", "b"}},
		{"", nil},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var got []string
			for i := 0; i < len(tt.in); {
				j := nextWord(tt.in, i)
				got = append(got, tt.in[i:j])
				i = j
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("words %q, want %q", got, tt.want)
			}
		})
	}
}

// TestLossyString checks the replacement of invalid UTF-8 against the
// maximal-subpart rule of Rust's from_utf8_lossy.
func TestLossyString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"abc", "abc"},
		{"\xe4\xb8", "\uFFFD"},         // a truncated 3-byte sequence is one replacement
		{"\xe4\xb8a", "\uFFFDa"},       // …also before ASCII
		{"\xe4a\xb8", "\uFFFDa\uFFFD"}, // a lone continuation byte is its own
		{"\xf0\x9f\x98", "\uFFFD"},
		{"\xf0\x9f\x98\x80", "😀"},
		{"\xed\xa0\x80", "\uFFFD\uFFFD\uFFFD"}, // surrogates are ill-formed at the second byte
		{"\xe0\x80\x80", "\uFFFD\uFFFD\uFFFD"}, // overlong
		{"\xc0\xaf", "\uFFFD\uFFFD"},
		{"\xf4\x90\x80\x80", "\uFFFD\uFFFD\uFFFD\uFFFD"}, // above U+10FFFF
		{"\xff", "\uFFFD"},
	}
	for _, tt := range tests {
		if got := lossyString([]byte(tt.in)); got != tt.want {
			t.Errorf("lossyString(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
