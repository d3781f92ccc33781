// gen-classes.mjs writes ../../tokenizer/testdata/hf_classes.txt.gz: for
// every code point U+0000..U+10FFFF one letter telling how Hugging Face's
// ByteLevel pre-tokenizer (its GPT-2 regex) classes it: L (\p{L}), N (\p{N}),
// S (\s), O (anything else), X (a surrogate, not a character).
//
// Usage: node gen-classes.mjs
import { writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import tokenizers from "tokenizers";

const pre = tokenizers.byteLevelPreTokenizer(false, true);
const n = (s) => pre.preTokenizeString(s).length;
const out = Buffer.alloc(0x110000);
for (let cp = 0; cp <= 0x10ffff; cp++) {
  let c = "S";
  if (cp >= 0xd800 && cp <= 0xdfff) c = "X";
  else {
    const ch = String.fromCodePoint(cp);
    // A letter joins "a", a number joins "1", other punctuation joins "!";
    // whitespace joins none of them.
    if (n("a" + ch) === 1) c = "L";
    else if (n("1" + ch) === 1) c = "N";
    else if (n("!" + ch) === 1) c = "O";
  }
  out[cp] = c.charCodeAt(0);
}
const path = new URL("../../tokenizer/testdata/hf_classes.txt.gz", import.meta.url);
writeFileSync(path, gzipSync(out, { level: 9 }));
console.log(`wrote ${path.pathname}`);
