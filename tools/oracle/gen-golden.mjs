// gen-golden.mjs writes the encode/decode golden files of the Go tokenizer
// package, produced by Hugging Face tokenizers from MiniMind's two real
// tokenizers (../../testdata/minimind/{minimind2,minimind3}).
//
//   testdata/encode.jsonl.gz  {"t": text, "m2": ids, "m3": ids} per line
//   testdata/decode.jsonl.gz  {"f": "m2"|"m3", "ids": [...], "text": decoded, "skip": decoded without specials}
//
// Usage: node gen-golden.mjs [COUNT]
import { writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import tokenizers from "tokenizers";
import { generate, rng } from "./gen-strings.mjs";

const { Tokenizer } = tokenizers;
const count = Number(process.argv[2] || 10200);
const fixtures = new URL("../../testdata/minimind/", import.meta.url);
const toks = {
  m2: Tokenizer.fromFile(new URL("minimind2/tokenizer.json", fixtures).pathname),
  m3: Tokenizer.fromFile(new URL("minimind3/tokenizer.json", fixtures).pathname),
};
const added = [...new Set(["m2", "m3"].flatMap((f) => Object.keys(toks[f].getVocab(true)).filter((t) => t.startsWith("<") && t.length > 3 && toks[f].tokenToId(t) < 40)))].sort();

const texts = generate(added, count);
const lines = [];
for (const t of texts) {
  const row = { t };
  for (const f of ["m2", "m3"]) {
    row[f] = (await toks[f].encode(t, null, { addSpecialTokens: false })).getIds();
  }
  lines.push(JSON.stringify(row));
}
const out = new URL("../../tokenizer/testdata/", import.meta.url);
writeFileSync(new URL("encode.jsonl.gz", out), gzipSync(lines.join("\n") + "\n", { level: 9 }));
console.log(`encode.jsonl.gz: ${lines.length} texts`);

// Decode: random id sequences, including partial UTF-8 bytes, added tokens
// and ids outside the vocabulary.
const r = rng(7);
const dec = [];
for (const f of ["m2", "m3"]) {
  const n = toks[f].getVocabSize(true);
  for (let i = 0; i < 1000; i++) {
    const len = Math.floor(r() * 20);
    const ids = [];
    for (let k = 0; k < len; k++) {
      const x = r();
      if (x < 0.5) ids.push(Math.floor(r() * n));
      else if (x < 0.7) ids.push(3 + Math.floor(r() * 256)); // single-byte symbols
      else if (x < 0.85) ids.push(Math.floor(r() * 40)); // added tokens
      else if (x < 0.95) ids.push(n + Math.floor(r() * 100)); // out of range
      else ids.push(2 ** 31 + Math.floor(r() * 1000));
    }
    const text = await toks[f].decode(ids, false);
    const skip = await toks[f].decode(ids, true);
    dec.push(JSON.stringify({ f, ids, text, skip }));
  }
}
writeFileSync(new URL("decode.jsonl.gz", out), gzipSync(dec.join("\n") + "\n", { level: 9 }));
console.log(`decode.jsonl.gz: ${dec.length} id sequences`);
