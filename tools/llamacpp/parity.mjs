// parity.mjs: run llama.cpp (node-llama-cpp's prebuilt CPU build) on GGUF
// files and print what it computes, for model/gguf's parity test.
//
//   node parity.mjs request.json > result.json
//
// request.json: {"models": [{"name", "path", "prompts": [[token ids]]}], "texts": [string],
//   "steps": 64, "chats": [[{"role", "content"}]]}
// result (one entry per model): the token ids of every text (special tokens
// parsed), the greedy continuation of every prompt (temperature 0, no stop
// token, one thread), and the prompt tokens of every chat rendered by the
// chat template read from the file's metadata (tokenizer.chat_template, run
// by node-llama-cpp's Jinja wrapper) with the generation prompt.
import fs from "node:fs";
import {getLlama, LlamaLogLevel, JinjaTemplateChatWrapper} from "node-llama-cpp";

const req = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const llama = await getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.error});
const out = {llama_cpp: "node-llama-cpp " + JSON.parse(fs.readFileSync(new URL("./node_modules/node-llama-cpp/package.json", import.meta.url))).version, models: []};
for (const m of req.models) {
  const model = await llama.loadModel({modelPath: m.path, gpuLayers: 0});
  const res = {name: m.name, tokens: [], continuations: [], chats: []};
  for (const t of req.texts) res.tokens.push(Array.from(model.tokenize(t, true)));
  const ctx = await model.createContext({contextSize: 512, threads: 1, sequences: 1});
  for (const p of m.prompts) {
    const seq = ctx.getSequence();
    const gen = [];
    for await (const tok of seq.evaluate(p, {temperature: 0})) {
      gen.push(tok);
      if (gen.length >= req.steps) break;
    }
    res.continuations.push(gen);
    seq.dispose();
  }
  await ctx.dispose();
  const template = model.fileInfo.metadata.tokenizer.chat_template;
  const wrapper = new JinjaTemplateChatWrapper({template, trimLeadingWhitespaceInResponses: false});
  for (const conv of req.chats) {
    const history = conv.map((msg) => msg.role === "system" ? {type: "system", text: msg.content}
      : msg.role === "user" ? {type: "user", text: msg.content} : {type: "model", response: [msg.content]});
    history.push({type: "model", response: []});
    const {contextText} = wrapper.generateContextState({chatHistory: history});
    res.chats.push(Array.from(contextText.tokenize(model.tokenizer)));
  }
  out.models.push(res);
  await model.dispose();
}
await llama.dispose();
process.stdout.write(JSON.stringify(out) + "\n");
