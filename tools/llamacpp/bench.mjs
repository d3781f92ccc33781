// bench.mjs: llama.cpp's batch-1 speed on a GGUF file, for the CPU decode
// benchmark (model/cpu TestDecodeTable).
//
//   node bench.mjs FILE.gguf THREADS PROMPT_IDS(comma-separated) NEW_TOKENS
//
// Prints JSON: prefill tokens/s (the prompt in one batch), decode tokens/s
// (greedy, one token at a time after the first), and the process's
// resident memory after generation.
import {getLlama, LlamaLogLevel} from "node-llama-cpp";

const [file, threads, idsArg, newArg] = process.argv.slice(2);
const prompt = idsArg.split(",").map(Number);
const steps = Number(newArg);
const llama = await getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.error});
const model = await llama.loadModel({modelPath: file, gpuLayers: 0, useMmap: false});
const ctx = await model.createContext({contextSize: prompt.length + steps + 8, threads: Number(threads), batchSize: 512, sequences: 1});
const seq = ctx.getSequence();
const t0 = performance.now();
let t1 = 0;
let n = 0;
for await (const tok of seq.evaluate(prompt, {temperature: 0})) {
  if (n === 0) t1 = performance.now();
  n++;
  if (n >= steps) break;
}
const t2 = performance.now();
process.stdout.write(JSON.stringify({
  prefill_tps: prompt.length / ((t1 - t0) / 1000),
  decode_tps: (n - 1) / ((t2 - t1) / 1000),
  tokens: n,
  rss_mb: process.memoryUsage().rss / 1e6,
}) + "\n");
