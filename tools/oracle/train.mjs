// train.mjs trains a BPE tokenizer with Hugging Face tokenizers on a plain
// text file, the anchor for the Go trainer. The Node binding's train(files)
// takes no trainer options: it uses BpeTrainer's defaults (vocab_size 30000,
// min_frequency 0, no special tokens, the alphabet the corpus uses) and reads
// the file line by line, newline included. MiniMind's settings (6400, three
// special tokens first, all 256 ByteLevel symbols) only shift ids and stop
// earlier, so the merges MiniMind's settings would learn are the first
// 6400-259 of these; compare-train.sh checks both ways.
//
//   node train.mjs CORPUS_TXT OUT_TOKENIZER_JSON
//
// Prints {"seconds", "merges", "vocab"} as JSON.
import { readFileSync, writeFileSync } from "node:fs";
import tokenizers from "tokenizers";

const [corpus, out] = process.argv.slice(2);
const tok = new tokenizers.Tokenizer(tokenizers.BPE.empty());
tok.setPreTokenizer(tokenizers.byteLevelPreTokenizer(false, true));
const t0 = process.hrtime.bigint();
tok.train([corpus]);
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
tok.save(out, true);
// The binding has no ByteLevel decoder constructor: write it into the file.
const j = JSON.parse(readFileSync(out, "utf8"));
j.decoder = { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true };
writeFileSync(out, JSON.stringify(j, null, 2));
console.log(JSON.stringify({ seconds, merges: j.model.merges.length, vocab: Object.keys(j.model.vocab).length }));
