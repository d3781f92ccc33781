// gen-train-golden.mjs writes the trainer's golden files: a small text
// corpus made of the generated test strings (testdata/train_corpus.txt.gz)
// and the merges Hugging Face's BpeTrainer learns from it with its default
// settings (testdata/train_merges.json.gz). See train.mjs for why the
// defaults are enough to check MiniMind's settings too.
//
// Usage: node gen-train-golden.mjs
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import tokenizers from "tokenizers";
import { generate } from "./gen-strings.mjs";

const texts = generate(["<|im_start|>", "<|im_end|>", "<|endoftext|>"], 1500);
const corpus = texts.join("\n") + "\n";
const dir = mkdtempSync(join(tmpdir(), "train-golden-"));
try {
  writeFileSync(join(dir, "corpus.txt"), corpus);
  const tok = new tokenizers.Tokenizer(tokenizers.BPE.empty());
  tok.setPreTokenizer(tokenizers.byteLevelPreTokenizer(false, true));
  tok.train([join(dir, "corpus.txt")]);
  tok.save(join(dir, "tokenizer.json"), false);
  const j = JSON.parse(readFileSync(join(dir, "tokenizer.json"), "utf8"));
  const out = new URL("../../tokenizer/testdata/", import.meta.url);
  writeFileSync(new URL("train_corpus.txt.gz", out), gzipSync(corpus, { level: 9 }));
  writeFileSync(new URL("train_merges.json.gz", out), gzipSync(JSON.stringify({ vocab_size: Object.keys(j.model.vocab).length, merges: j.model.merges }), { level: 9 }));
  console.log(`corpus ${Buffer.byteLength(corpus)} bytes, ${j.model.merges.length} merges`);
} finally {
  rmSync(dir, { recursive: true });
}
