// check-encode.mjs encodes every text of a jsonl corpus with Hugging Face
// tokenizers and compares the ids with the Go tokenizer's, given one JSON
// list a line (the output of "mmtok encode --jsonl").
//
//   node check-encode.mjs TOKENIZER_JSON CORPUS_JSONL GO_IDS_JSONL
//
// Prints {"texts", "identical", "first_difference"} as JSON.
import { readFileSync } from "node:fs";
import tokenizers from "tokenizers";

const [file, corpus, goIDs] = process.argv.slice(2);
const tok = tokenizers.Tokenizer.fromFile(file);
const texts = readFileSync(corpus, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l).text);
const go = readFileSync(goIDs, "utf8").split("\n").filter(Boolean);
if (go.length !== texts.length) throw new Error(`${texts.length} texts but ${go.length} id lines`);
let identical = 0;
let first = -1;
for (let i = 0; i < texts.length; i += 4096) {
  const encs = await tok.encodeBatch(texts.slice(i, i + 4096), { addSpecialTokens: false });
  encs.forEach((e, k) => {
    if (JSON.stringify(e.getIds()) === go[i + k]) identical++;
    else if (first < 0) first = i + k;
  });
}
console.log(JSON.stringify({ texts: texts.length, identical, first_difference: first }));
