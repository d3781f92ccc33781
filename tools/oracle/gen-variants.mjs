// gen-variants.mjs writes ../../tokenizer/testdata/variants.jsonl.gz: the
// minimind2 tokenizer changed in ways MiniMind does not use but
// tokenizer.json allows (add_prefix_space, use_regex=false, lstrip/rstrip/
// single_word/normalized added tokens, unk_token with missing bytes,
// ignore_merges, legacy "a b" merges), with Hugging Face's ids and decoded
// text for a sample of texts. Each line is
//
//   {"name": ..., "patch": {...}, "cases": [{"t": text, "ids": [...], "dec": text}]}
//
// The patch is applied by applyPatch here and by the Go test alike:
//   pre_tokenizer: replaces the pre-tokenizer; added: appended to added_tokens;
//   unk_token, fuse_unk, ignore_merges: set on the model; legacy_merges: write
//   merges as "a b" strings; drop_bytes: remove the ByteLevel symbols of these
//   byte values, every vocabulary entry containing one, and the merges using them.
//
// Usage: node gen-variants.mjs
import { readFileSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import tokenizers from "tokenizers";
import { generate } from "./gen-strings.mjs";

const base = readFileSync(new URL("../../testdata/minimind/minimind2/tokenizer.json", import.meta.url), "utf8");
const alphabet = tokenizers.byteLevelAlphabet(); // not in byte order: rebuild it
function byteSymbols() {
  const bs = [];
  for (let b = 0; b < 256; b++) if ((b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff)) bs.push(b);
  const out = new Array(256);
  let n = 0;
  for (let b = 0; b < 256; b++) out[b] = String.fromCodePoint(bs.includes(b) ? b : 256 + n++);
  return out;
}
const sym = byteSymbols();
if (alphabet.length !== 256 || !sym.every((s) => alphabet.includes(s))) throw new Error("alphabet mismatch");

export function applyPatch(j, p) {
  if (p.pre_tokenizer) j.pre_tokenizer = p.pre_tokenizer;
  if (p.added) j.added_tokens.push(...p.added);
  const m = j.model;
  if ("unk_token" in p) m.unk_token = p.unk_token;
  if ("fuse_unk" in p) m.fuse_unk = p.fuse_unk;
  if ("ignore_merges" in p) m.ignore_merges = p.ignore_merges;
  if (p.drop_bytes) {
    const bad = p.drop_bytes.map((b) => sym[b]);
    const hasBad = (s) => bad.some((c) => s.includes(c));
    for (const k of Object.keys(m.vocab)) if (hasBad(k)) delete m.vocab[k];
    m.merges = m.merges.filter(([a, b]) => !hasBad(a) && !hasBad(b));
  }
  if (p.legacy_merges) m.merges = m.merges.map(([a, b]) => `${a} ${b}`);
  return j;
}

const tok = (a) => ({ single_word: false, lstrip: false, rstrip: false, normalized: false, special: false, ...a });
const variants = [
  { name: "prefix_space", patch: { pre_tokenizer: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true } } },
  { name: "no_regex", patch: { pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: false } } },
  {
    name: "strip",
    patch: {
      added: [
        tok({ id: 6400, content: "[SEP]", lstrip: true, rstrip: true, special: true }),
        tok({ id: 6401, content: "[L]", lstrip: true }),
        tok({ id: 6402, content: "[R]", rstrip: true }),
      ],
    },
  },
  {
    name: "single_word",
    patch: {
      added: [tok({ id: 6400, content: "hello", single_word: true }), tok({ id: 6401, content: "的", single_word: true, special: true }), tok({ id: 6402, content: "_x", single_word: true })],
    },
  },
  {
    name: "normalized",
    patch: {
      added: [tok({ id: 6400, content: "ab<|", normalized: true }), tok({ id: 6401, content: "xyz", normalized: true }), tok({ id: 6402, content: "xy", normalized: false }), tok({ id: 6403, content: "中文标记" }), tok({ id: 6404, content: "Ġxy" })],
    },
  },
  { name: "unk", patch: { unk_token: "<|endoftext|>", fuse_unk: false, drop_bytes: [0xe4, 0xb8, 0x20, 0x0a] } },
  { name: "unk_fused", patch: { unk_token: "<|endoftext|>", fuse_unk: true, drop_bytes: [0xe4, 0xb8, 0x20, 0x0a] } },
  { name: "no_unk", patch: { drop_bytes: [0xe4, 0xb8, 0x20] } },
  { name: "ignore_merges", patch: { ignore_merges: true } },
  { name: "legacy_merges", patch: { legacy_merges: true } },
];

const extra = [
  "a[SEP]b", "a  [SEP]  b", " [L] x [R] y ", "[L][R][SEP]", "\n\t[SEP]\n", "hello world", "say hello", "hellohello", "hello_", "_x _xy a_x _x.",
  "的的 的 在的", "ab<|im_start|>", "xyz xy abc<|im_end|>", "a 中文标记 b", "Ġxy Ġxyz", "你好 世界\n", "  leading", "ignore merges the quick brown fox",
];
const texts = [...extra, ...generate(["<|im_start|>", "<|im_end|>", "<|endoftext|>", "[SEP]", "hello"], 260).slice(100)];
const lines = [];
for (const v of variants) {
  const j = applyPatch(JSON.parse(base), v.patch);
  const t = tokenizers.Tokenizer.fromString(JSON.stringify(j));
  const cases = [];
  for (const text of texts) {
    const ids = (await t.encode(text, null, { addSpecialTokens: false })).getIds();
    cases.push({ t: text, ids, dec: await t.decode(ids, false) });
  }
  lines.push(JSON.stringify({ name: v.name, patch: v.patch, cases }));
}
writeFileSync(new URL("../../tokenizer/testdata/variants.jsonl.gz", import.meta.url), gzipSync(lines.join("\n") + "\n", { level: 9 }));
console.log(`variants.jsonl.gz: ${lines.length} variants × ${texts.length} texts`);
