// parallel.mjs: llama.cpp's aggregate decode speed with N sequences decoded
// together in one context (node-llama-cpp batches the sequences' tokens into
// one llama_decode per step), for BENCHMARKS.md's concurrency table
// (serve TestConcurrencyTable).
//
//   node parallel.mjs FILE.gguf THREADS PROMPTS.json NEW_TOKENS
//
// PROMPTS.json is an array of token-id arrays, one per sequence. Every
// sequence is prefilled and then decodes NEW_TOKENS greedy tokens (no stop
// token: an end-of-generation token is fed back like any other, as the
// server's benchmark does). Prints JSON: aggregate tokens/s (all sequences' new tokens over
// the wall time from the first prompt to the last token, prefill included,
// as the server's clients see it), time to first token p50/p99 in ms, and
// the process's resident memory.
import {readFileSync} from "node:fs";
import {getLlama, LlamaLogLevel} from "node-llama-cpp";

const [file, threads, promptsFile, newArg] = process.argv.slice(2);
const prompts = JSON.parse(readFileSync(promptsFile, "utf8"));
const steps = Number(newArg);
const longest = Math.max(...prompts.map(p => p.length));
const llama = await getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.error});
const model = await llama.loadModel({modelPath: file, gpuLayers: 0, useMmap: false});
const ctx = await model.createContext({
  contextSize: longest + steps + 16, // per sequence
  sequences: prompts.length,
  threads: Number(threads),
  batchSize: 512,
});
const seqs = prompts.map(() => ctx.getSequence());
let peakRss = process.memoryUsage().rss;
const t0 = performance.now();
const ttft = await Promise.all(prompts.map(async (prompt, i) => {
  let first = 0;
  let n = 0;
  for await (const tok of seqs[i].evaluate(prompt, {temperature: 0, yieldEogToken: true})) {
    if (n === 0) first = performance.now() - t0;
    n++;
    if (n >= steps) break;
  }
  if (n !== steps) throw new Error(`sequence ${i}: ${n} tokens`);
  return first;
}));
const wall = (performance.now() - t0) / 1000;
peakRss = Math.max(peakRss, process.memoryUsage().rss);
ttft.sort((a, b) => a - b);
process.stdout.write(JSON.stringify({
  sequences: prompts.length,
  agg_tps: prompts.length * steps / wall,
  ttft_p50_ms: ttft[Math.floor(ttft.length / 2)],
  ttft_p99_ms: ttft[Math.floor(ttft.length * 99 / 100)],
  rss_mb: peakRss / 1e6,
}) + "\n");
await ctx.dispose();
await model.dispose();
