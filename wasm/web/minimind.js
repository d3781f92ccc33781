// minimind.js — MiniMind in the browser.
//
//   import { MiniMind } from "./minimind.js";
//   const mm = await MiniMind.load({ engine: "auto", onProgress: (p) => console.log(p) });
//   const { text, tokens, stats } = await mm.generate("你好，你是谁？", {
//     maxTokens: 128, temperature: 0.85, topP: 0.85, onToken: (piece) => out.append(piece),
//   });
//
// The model runs in a Web Worker (minimind-worker.js, with the Go runtime
// minimind.wasm and wasm_exec.js beside this file), so the page never
// freezes. Every method returns a promise; errors are MiniMindError values
// whose code says what went wrong:
//
//   "no-default-model"  the site has no default model (open a folder or a URL instead)
//   "download"          a file could not be downloaded
//   "not-minimind"      the files are not a MiniMind model (the message names the file)
//   "too-big"           the model does not fit in this browser's memory
//   "no-webgpu"         engine "webgpu" was asked for and WebGPU is not available
//   "webgpu"            the WebGPU adapter cannot run the model (a feature or limit)
//   "context-full"      the conversation is longer than the model's context
//   "busy"              a generation is already running
//   "crashed"           the runtime stopped; load the model again
//   "internal"          anything else

const here = new URL("./", import.meta.url);

/** An error of the MiniMind runtime; code classifies it (see above). */
export class MiniMindError extends Error {
  constructor(message, code = "internal") {
    super(message);
    this.name = "MiniMindError";
    this.code = code;
  }
}

/** A MiniMind model loaded in a Web Worker. Create it with MiniMind.load. */
export class MiniMind {
  #worker;
  #info = null;
  #next = 1;
  #pending = new Map(); // id → {resolve, reject, onProgress, onText}
  #dead = null; // the MiniMindError that stopped the worker
  #generating = false;

  constructor(worker) {
    this.#worker = worker;
    worker.onmessage = (ev) => this.#receive(ev.data);
    worker.onerror = (ev) => {
      ev.preventDefault();
      this.#die(new MiniMindError(`The MiniMind worker failed: ${ev.message || "unknown error"}`, "crashed"));
    };
  }

  /**
   * Loads a model and returns it ready to generate.
   *
   * options.model: undefined for the site's default model; a URL (string or
   *   URL) of a model folder or of a .safetensors/.pth file; a FileList or
   *   File[] of a picked or dropped folder (config.json, model.safetensors or
   *   a .pth, tokenizer.json, tokenizer_config.json), or {files: File[],
   *   name} to name the folder; or {files: {name: ArrayBuffer|Uint8Array|Blob},
   *   name}.
   * options.engine: "auto" (default: WebGPU when usable, else the CPU),
   *   "webgpu" or "cpu".
   * options.onProgress({phase: "start"|"download"|"check"|"load"|"ready",
   *   file, loaded, total, overallLoaded, overallTotal, cached, estimate, message}).
   * options.memoryLimit: bytes the model may take while loading (default:
   *   what the browser and device allow).
   * options.base: where minimind.wasm, wasm_exec.js and the worker are
   *   (default: beside this module); options.defaultModel: the default model's
   *   folder URL (default: models/default/ beside this module).
   */
  static async load(options = {}) {
    const base = new URL(options.base || here, location.href);
    const worker = new Worker(new URL("minimind-worker.js", base), { name: "minimind" });
    const mm = new MiniMind(worker);
    try {
      const progress = options.onProgress || (() => {});
      progress({ phase: "start", message: "Starting the runtime…" });
      const t0 = performance.now();
      await mm.#call({ type: "init", wasm: new URL("minimind.wasm", base).href, exec: new URL("wasm_exec.js", base).href });
      const initMs = performance.now() - t0;
      const source = await sourceOf(options.model);
      const limit = options.memoryLimit
        ? { bytes: options.memoryLimit, text: `the memory limit set for this page (${formatBytes(options.memoryLimit)})` }
        : null;
      mm.#info = await mm.#call(
        {
          type: "load",
          source,
          engine: options.engine || "auto",
          defaultBase: new URL(options.defaultModel || "models/default/", base).href,
          memoryLimit: limit,
        },
        { onProgress: progress },
      );
      mm.#info.timings.initMs = initMs;
      mm.#info.timings.totalMs += initMs;
      return mm;
    } catch (e) {
      worker.terminate();
      throw e;
    }
  }

  /** The engine running the model: "webgpu" or "cpu". */
  get engine() {
    return this.#info ? this.#info.engineInfo.name : null;
  }

  /**
   * Describes the loaded model: {name, family, params, layers, hidden, heads,
   * kvHeads, headDim, ffn, vocab, maxPositions, moe, experts, weightsFile,
   * thinking, config, engine, engineInfo: {name, requested, adapter,
   * fallback}, source: {type, name, cached, tokenizerFrom}, timings:
   * {initMs (starting the runtime), downloadMs, loadMs, totalMs}, estimate}.
   */
  info() {
    return structuredClone(this.#info);
  }

  /**
   * Generates a reply. messagesOrPrompt is a string (one user message) or
   * an array of {role: "system"|"user"|"assistant", content}; the model's
   * chat template formats it. options: maxTokens (512), temperature (0.85;
   * 0 is greedy), topP (0.85), topK (0: off), repetitionPenalty (1: off),
   * seed (random), thinking (ask a MiniMind-3 model to reason first),
   * onToken(piece, textSoFar), signal (an AbortSignal).
   * Resolves to {text, reasoning, answer, tokens, prefix, aborted, stats:
   * {promptTokens, tokens, ttftMs, decodeMs, tokensPerSecond, totalMs,
   * engine, stop}}.
   */
  async generate(messagesOrPrompt, options = {}) {
    if (this.#generating) throw new MiniMindError("A generation is already running; abort it first.", "busy");
    const request = {
      maxTokens: options.maxTokens ?? 512,
      temperature: options.temperature ?? 0.85,
      topP: options.topP ?? 0.85,
      topK: options.topK ?? 0,
      repetitionPenalty: options.repetitionPenalty ?? 1,
      seed: options.seed ?? Math.floor(Math.random() * 2 ** 32),
      thinking: !!options.thinking,
    };
    if (typeof messagesOrPrompt === "string") request.prompt = messagesOrPrompt;
    else if (Array.isArray(messagesOrPrompt)) request.messages = messagesOrPrompt.map((m) => ({ role: m.role, content: String(m.content ?? "") }));
    else throw new MiniMindError("generate needs a prompt string or an array of messages", "internal");
    let text = "";
    const onToken = options.onToken;
    const onAbort = () => this.abort();
    if (options.signal) {
      if (options.signal.aborted) throw new MiniMindError("aborted before it started", "aborted");
      options.signal.addEventListener("abort", onAbort);
    }
    this.#generating = true;
    try {
      return await this.#call(
        { type: "generate", request },
        {
          onText: (piece) => {
            text += piece;
            if (onToken) onToken(piece, text);
          },
        },
      );
    } finally {
      this.#generating = false;
      if (options.signal) options.signal.removeEventListener("abort", onAbort);
    }
  }

  /** Stops the running generation; its promise resolves with aborted: true. */
  abort() {
    if (!this.#dead) this.#worker.postMessage({ type: "abort" });
  }

  /** Encodes text as it is: {ids, pieces} (the text of each token). */
  tokenize(text) {
    return this.#call({ type: "tokenize", text: String(text) });
  }

  /** Renders messages with the chat template and the generation prompt. */
  applyChatTemplate(messages, { thinking = false } = {}) {
    return this.#call({ type: "render", messages, thinking });
  }

  /**
   * Runs one forward pass and returns its named steps, for a tutorial:
   * {ids, pieces, config, steps: [{name, shape, data: Float32Array}]}
   * ("embed", "layers.0.input_norm", ".q", ".k", ".v", ".attn_scores",
   * ".attn_probs", ".attn_out", ".resid_mid", ".post_norm", ".ffn_out",
   * ".resid_out", …, "final_norm", "logits"). prompt is text (encoded as it
   * is, or as one user message with {chat: true}) or an array of token ids.
   */
  trace(prompt, { chat = false } = {}) {
    return this.#call({ type: "trace", input: prompt, chat });
  }

  /**
   * Traces a prompt in detail for a tutorial and keeps the trace in the
   * worker: resolves to {ids, pieces, next, nextPiece, decoded, steps:
   * [{name, shape}], rope: {theta, freqs, plain, attentionFactor, scaling,
   * example}, engine, traceMs}. The steps are those of model.Trace with
   * Detail (see model/trace.go), then the greedy next token's decode step
   * over the KV cache ("next.…"). Fetch a step's values with walkStep.
   * prompt is text (as it is, or one user message with {chat: true}) or ids;
   * at most 128 tokens.
   */
  walk(prompt, { chat = false } = {}) {
    return this.#call({ type: "walk", input: prompt, chat });
  }

  /** One step of the last walk: {name, shape, data: Float32Array}. */
  walkStep(name) {
    return this.#call({ type: "walkStep", name });
  }

  /**
   * The BPE merges of each word of text, applied one at a time:
   * [{text, added, start, startIds, merges: [{rank, at, left, right, merged,
   * id, after}], ids}].
   */
  explainMerges(text) {
    return this.#call({ type: "explain", text });
  }

  /** The text of each token id on its own. */
  pieces(ids) {
    return this.#call({ type: "pieces", ids: Array.from(ids) });
  }

  /** Stops the worker and frees the model's memory. */
  dispose() {
    this.#die(new MiniMindError("The model was disposed.", "disposed"));
  }

  #call(msg, handlers = {}) {
    if (this.#dead) return Promise.reject(this.#dead);
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, ...handlers });
      this.#worker.postMessage({ ...msg, id });
    });
  }

  #receive(msg) {
    if (msg.type === "exit") {
      this.#die(new MiniMindError(msg.message, msg.code || "crashed"));
      return;
    }
    const p = this.#pending.get(msg.id);
    if (!p) return;
    switch (msg.type) {
      case "progress":
        if (p.onProgress) p.onProgress(msg.progress);
        return;
      case "text":
        if (p.onText) p.onText(msg.text);
        return;
      case "result":
        this.#pending.delete(msg.id);
        p.resolve(msg.value);
        return;
      case "error":
        this.#pending.delete(msg.id);
        p.reject(new MiniMindError(msg.error.message, msg.error.code));
    }
  }

  #die(err) {
    if (this.#dead) return;
    this.#dead = err;
    this.#worker.terminate();
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
  }
}

// sourceOf turns the model option into a message the worker understands.
async function sourceOf(model) {
  if (model === undefined || model === null || model === "") return { type: "default" };
  if (typeof model === "string" || model instanceof URL) return { type: "url", url: new URL(model, location.href).href };
  if (typeof FileList !== "undefined" && model instanceof FileList) model = [...model];
  if (Array.isArray(model)) {
    if (!model.length) throw new MiniMindError("No files were given.", "not-minimind");
    return { type: "files", files: model };
  }
  if (Array.isArray(model.files)) {
    if (!model.files.length) throw new MiniMindError("No files were given.", "not-minimind");
    return { type: "files", files: model.files, name: model.name };
  }
  if (model.files) {
    const files = {};
    for (const [name, v] of Object.entries(model.files)) {
      files[name] = v instanceof Blob ? new Uint8Array(await v.arrayBuffer()) : v;
    }
    return { type: "buffers", files, name: model.name };
  }
  throw new MiniMindError("options.model must be a URL, a FileList or File[], or {files}", "internal");
}

function formatBytes(n) {
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(1)} GB`;
}
