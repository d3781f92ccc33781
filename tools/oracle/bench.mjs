// bench.mjs measures Hugging Face tokenizers' encode speed on a jsonl corpus
// ({"text": ...} lines), the anchor for the Go tokenizer's benchmark.
//
//   node bench.mjs TOKENIZER_JSON CORPUS_JSONL single   one text at a time (run under taskset -c 0)
//   node bench.mjs TOKENIZER_JSON CORPUS_JSONL batch    encodeBatch over all texts (all cores)
//
// Prints one JSON line: {"mode", "bytes", "seconds", "mb_per_s", "tokens"},
// the best of three passes.
import { readFileSync } from "node:fs";
import tokenizers from "tokenizers";

const [file, corpus, mode] = process.argv.slice(2);
const tok = tokenizers.Tokenizer.fromFile(file);
const texts = readFileSync(corpus, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l).text);
const bytes = texts.reduce((n, t) => n + Buffer.byteLength(t), 0);
const opts = { addSpecialTokens: false };

async function pass() {
  let tokens = 0;
  const t0 = process.hrtime.bigint();
  if (mode === "single") {
    for (const t of texts) tokens += (await tok.encode(t, null, opts)).getLength();
  } else if (mode === "batch") {
    const chunk = 4096;
    for (let i = 0; i < texts.length; i += chunk) {
      for (const e of await tok.encodeBatch(texts.slice(i, i + chunk), opts)) tokens += e.getLength();
    }
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
  return [Number(process.hrtime.bigint() - t0) / 1e9, tokens];
}

await pass(); // warm up
let best = Infinity;
let tokens = 0;
for (let i = 0; i < 3; i++) {
  const [s, n] = await pass();
  if (s < best) best = s;
  tokens = n;
}
console.log(JSON.stringify({ mode, bytes, seconds: best, mb_per_s: bytes / 1e6 / best, tokens }));
