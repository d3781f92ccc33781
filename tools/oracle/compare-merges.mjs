// compare-merges.mjs compares the merges of two tokenizer.json files (for
// example Hugging Face's and the Go trainer's on the same corpus). The
// second list is compared with the same number of merges from the start of
// the first, so a 6400 MiniMind run can be checked against a longer
// default-settings run.
//
//   node compare-merges.mjs HF_TOKENIZER_JSON GO_TOKENIZER_JSON
//
// Prints {"compared", "identical", "share", "first_difference"} as JSON.
import { readFileSync } from "node:fs";

const [a, b] = process.argv.slice(2).map((p) => JSON.parse(readFileSync(p, "utf8")).model.merges);
const norm = (m) => (Array.isArray(m) ? m.join(" ") : m);
const n = Math.min(a.length, b.length);
let identical = 0;
let first = -1;
for (let i = 0; i < n; i++) {
  if (norm(a[i]) === norm(b[i])) identical++;
  else if (first < 0) first = i;
}
console.log(JSON.stringify({ compared: n, identical, share: identical / n, first_difference: first, hf_merges: a.length, go_merges: b.length }));
