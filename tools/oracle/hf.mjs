// hf.mjs runs Hugging Face tokenizers on JSON lines from stdin, one result
// a line on stdout, for ad-hoc comparisons with the Go tokenizer.
//
//   node hf.mjs encode TOKENIZER_JSON   < strings.jsonl   → [ids...] per line
//   node hf.mjs decode TOKENIZER_JSON   < ids.jsonl       → "text" per line
//   node hf.mjs pretok                  < strings.jsonl   → [words...] per line (ByteLevel symbols)
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import tokenizers from "tokenizers";

const { Tokenizer, byteLevelPreTokenizer } = tokenizers;
const [mode, file] = process.argv.slice(2);
const tok = file ? Tokenizer.fromFile(file) : null;
const pre = byteLevelPreTokenizer(false, true);
const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
const out = [];
for await (const line of rl) {
  if (line === "") continue;
  const v = JSON.parse(line);
  if (mode === "encode") {
    const enc = await tok.encode(v, null, { addSpecialTokens: false });
    out.push(JSON.stringify(enc.getIds()));
  } else if (mode === "decode") {
    out.push(JSON.stringify(await tok.decode(v, false)));
  } else if (mode === "pretok") {
    out.push(JSON.stringify(pre.preTokenizeString(v).map((x) => x[0])));
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
}
process.stdout.write(out.join("\n") + (out.length ? "\n" : ""));
