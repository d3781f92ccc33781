// MiniMind's Web Worker: it runs the Go runtime (minimind.wasm), fetches
// and caches model files, checks that a model fits before reading its
// weights, and answers the messages of minimind.js. The page talks to it only
// through minimind.js.
//
// Messages in:  {id, type: "init"|"load"|"generate"|"abort"|"tokenize"|"render"|"trace"|"walk"|"walkStep"|"explain"|"pieces", ...}
// Messages out: {id, type: "result", value} | {id, type: "error", error: {message, code}}
//               | {id, type: "progress", progress} | {id, type: "text", text}
//               | {type: "exit", message}  (the Go runtime stopped; the worker is unusable)
"use strict";

const CACHE_NAME = "minimind-models-v1";
const WASM_LIMIT = 3 * 1024 ** 3; // WebAssembly memory is at most 4 GiB; leave room for the GC
let go = null; // the minimindGo API once ready
const ANSWERED = Symbol("answered"); // a handler that posted its own result
const logTail = []; // the last lines the Go runtime printed

// Keep what the Go runtime prints (wasm_exec.js writes through console.log),
// so that a crash (out of memory, ...) can be explained to the user.
for (const level of ["log", "error", "warn"]) {
  const orig = console[level].bind(console);
  console[level] = (...args) => {
    logTail.push(args.map(String).join(" "));
    if (logTail.length > 30) logTail.shift();
    orig(...args);
  };
}

class WorkerError extends Error {
  constructor(message, code) {
    super(message);
    this.code = code;
  }
}

self.onmessage = async (ev) => {
  const msg = ev.data;
  if (msg.type === "abort") {
    if (go) go.abort();
    return;
  }
  try {
    const value = await handle(msg);
    if (value === ANSWERED) return;
    self.postMessage({ id: msg.id, type: "result", value });
  } catch (err) {
    self.postMessage({
      id: msg.id,
      type: "error",
      error: { message: err && err.message ? err.message : String(err), code: (err && err.code) || "internal" },
    });
  }
};

async function handle(msg) {
  switch (msg.type) {
    case "init":
      return init(msg.wasm, msg.exec);
    case "load":
      return load(msg, (progress) => self.postMessage({ id: msg.id, type: "progress", progress }));
    case "generate": {
      const out = await need().generate(JSON.stringify(msg.request), (text) =>
        self.postMessage({ id: msg.id, type: "text", text }),
      );
      return JSON.parse(out);
    }
    case "tokenize":
      return JSON.parse(await need().tokenize(msg.text));
    case "render":
      return need().render(JSON.stringify(msg.messages), !!msg.thinking);
    case "walk":
      return JSON.parse(await need().walk(msg.input, !!msg.chat));
    case "walkStep": {
      const st = need().walkStep(msg.name);
      if (!st) throw new WorkerError(`the traced pass has no step ${msg.name}`, "internal");
      self.postMessage({ id: msg.id, type: "result", value: st }, [st.data.buffer]);
      return ANSWERED;
    }
    case "pieces": {
      const out = need().pieces(msg.ids);
      if (out === null) throw new WorkerError("no model is loaded", "no-model");
      return JSON.parse(out);
    }
    case "explain": {
      const out = need().explain(String(msg.text));
      if (out === null) throw new WorkerError("no model is loaded", "no-model");
      return JSON.parse(out);
    }
    case "trace": {
      const tr = await need().trace(msg.input, !!msg.chat);
      self.postMessage(
        { id: msg.id, type: "result", value: tr },
        tr.steps.map((s) => s.data.buffer),
      );
      return ANSWERED; // the typed arrays were transferred, not copied
    }
  }
  throw new WorkerError(`unknown request ${msg.type}`, "internal");
}

function need() {
  if (!go) throw new WorkerError("the runtime is not started", "internal");
  return go;
}

// init starts the Go runtime.
async function init(wasmURL, execURL) {
  try {
    importScripts(execURL);
  } catch (e) {
    throw new WorkerError(`downloading the runtime's ${execURL} failed: ${e.message}`, "download");
  }
  const runtime = new Go();
  const ready = new Promise((resolve) => (self.minimindGoReady = resolve));
  let instance;
  try {
    let res;
    try {
      res = await WebAssembly.instantiateStreaming(fetch(wasmURL), runtime.importObject);
    } catch (e) {
      // A server that sends no application/wasm type: compile from bytes.
      const r = await fetch(wasmURL);
      if (!r.ok) throw new WorkerError(`downloading the runtime ${wasmURL}: HTTP ${r.status}`, "download");
      res = await WebAssembly.instantiate(await r.arrayBuffer(), runtime.importObject);
    }
    instance = res.instance;
  } catch (e) {
    if (e.code) throw e;
    throw new WorkerError(`starting the WebAssembly runtime failed: ${e.message}`, "download");
  }
  runtime.run(instance).then(() => {
    go = null;
    const tail = logTail.slice(-6).join("\n");
    const oom = /out of memory|memory access out of bounds|Out of memory/i.test(tail);
    self.postMessage({
      type: "exit",
      message: oom
        ? "The model ran out of memory in the browser. Reload the page and choose a smaller model."
        : `The MiniMind runtime stopped unexpectedly. Reload the page. ${tail}`,
      code: oom ? "too-big" : "crashed",
    });
  });
  await ready;
  go = self.minimindGo;
  return { goVersion: go.goVersion, version: go.version };
}

// ---- model sources ----------------------------------------------------------

// A source is resolved into a name and a list of entries {name, size, get},
// where get(onBytes) returns a Uint8Array.

const TOKENIZER_FILES = ["tokenizer.json", "tokenizer_config.json"];

async function resolveSource(source, defaultBase) {
  switch (source.type) {
    case "default": {
      const manifest = await fetchManifest(defaultBase, true);
      return fromManifest(defaultBase, manifest, manifest.name || "default model", true);
    }
    case "url":
      return resolveURL(source.url);
    case "files":
      return resolveFiles(source.files, source.name);
    case "buffers": {
      const entries = Object.entries(source.files).map(([name, buf]) => {
        const bytes = buf instanceof Uint8Array ? buf : new Uint8Array(buf);
        return { name, size: bytes.byteLength, get: async () => bytes };
      });
      return { name: source.name || "model", entries, cached: false };
    }
  }
  throw new WorkerError(`unknown model source ${source.type}`, "internal");
}

async function fetchManifest(base, required) {
  let r;
  try {
    r = await fetch(new URL("manifest.json", base), { cache: "no-cache" });
  } catch (e) {
    if (!required) return null;
    throw new WorkerError(`The default model could not be reached (${e.message}). Check the connection and reload.`, "download");
  }
  if (r.status === 404 && required) {
    throw new WorkerError(
      "This site has no default model. Open a MiniMind folder (config.json, model.safetensors or a .pth, tokenizer.json, tokenizer_config.json), drop one on the page, or load one from a URL.",
      "no-default-model",
    );
  }
  if (!r.ok) {
    if (!required) return null;
    throw new WorkerError(`The default model's manifest failed to download: HTTP ${r.status}.`, "download");
  }
  try {
    return await r.json();
  } catch (e) {
    if (!required) return null;
    throw new WorkerError(`The default model's manifest is not valid JSON: ${e.message}`, "download");
  }
}

function fromManifest(base, manifest, name, cached) {
  const entries = (manifest.files || []).map((f) => {
    const url = new URL(f.name, base).href;
    const key = f.sha256 ? `${url}?sha256=${f.sha256}` : url;
    return { name: f.name, size: f.size, get: (onBytes) => fetchCached(url, key, f.size, onBytes) };
  });
  return { name, entries, cacheable: cached };
}

async function resolveURL(raw) {
  let url;
  try {
    url = new URL(raw, self.location.href);
  } catch (e) {
    throw new WorkerError(`"${raw}" is not a URL.`, "download");
  }
  let base = url.href;
  let weights = null;
  if (/\.(safetensors|pth)$/.test(url.pathname)) {
    weights = url.pathname.split("/").pop();
    base = new URL("./", url).href;
  } else if (!base.endsWith("/")) {
    base += "/";
  }
  const manifest = await fetchManifest(base, false);
  if (manifest && manifest.files) return fromManifest(base, manifest, manifest.name || raw, true);
  const names = [weights || "model.safetensors", "config.json", ...TOKENIZER_FILES];
  const entries = [];
  for (const name of names) {
    const u = new URL(name, base).href;
    let size = null;
    try {
      const cachedResp = await cacheMatch(u);
      if (cachedResp) {
        size = Number(cachedResp.headers.get("content-length")) || null;
      } else {
        const h = await fetch(u, { method: "HEAD" });
        if (!h.ok) {
          if (name === names[0]) {
            throw new WorkerError(`The weights ${u} could not be downloaded: HTTP ${h.status}.`, "download");
          }
          continue; // optional here: config.json (for a .pth) and the tokenizer
        }
        size = Number(h.headers.get("content-length")) || null;
      }
    } catch (e) {
      if (e.code) throw e;
      throw new WorkerError(`${u} could not be reached (${e.message}). Check the URL, the connection, and that the server allows cross-origin requests (CORS).`, "download");
    }
    entries.push({ name, size, get: (onBytes) => fetchCached(u, u, size, onBytes) });
  }
  return { name: raw, entries, cacheable: true };
}

function resolveFiles(files, name) {
  // Files of a picked or dropped folder: keep the shallowest file of each name.
  const byName = new Map();
  for (const f of files) {
    const depth = (f.webkitRelativePath || f.name).split("/").length;
    const old = byName.get(f.name);
    if (!old || depth < old.depth) byName.set(f.name, { file: f, depth });
  }
  const entries = [...byName.values()].map(({ file }) => ({
    name: file.name,
    size: file.size,
    get: async (onBytes) => {
      const buf = new Uint8Array(await file.arrayBuffer());
      onBytes(buf.byteLength, buf.byteLength);
      return buf;
    },
  }));
  const first = files[0];
  const folder = first && first.webkitRelativePath ? first.webkitRelativePath.split("/")[0] : "";
  const weights = pickWeights([...byName.keys()]);
  return { name: name || folder || weights || (first ? first.name : "files"), entries, cacheable: false };
}

// ---- downloads and Cache Storage ---------------------------------------------

async function openCache() {
  try {
    return self.caches ? await self.caches.open(CACHE_NAME) : null;
  } catch (e) {
    return null; // an opaque origin or storage disabled: no caching
  }
}

async function cacheMatch(key) {
  const c = await openCache();
  return c ? c.match(key) : null;
}

// fetchCached returns the bytes of url from Cache Storage (key) or the
// network, reporting onBytes(loaded, total, fromCache), and stores a download.
async function fetchCached(url, key, size, onBytes) {
  const cache = await openCache();
  if (cache) {
    const hit = await cache.match(key);
    if (hit) {
      const buf = new Uint8Array(await hit.arrayBuffer());
      onBytes(buf.byteLength, buf.byteLength, true);
      return buf;
    }
  }
  let r;
  try {
    r = await fetch(url);
  } catch (e) {
    throw new WorkerError(`Downloading ${url} failed (${e.message}). Check the connection and that the server allows cross-origin requests (CORS), then try again.`, "download");
  }
  if (!r.ok) throw new WorkerError(`Downloading ${url} failed: HTTP ${r.status} ${r.statusText}.`, "download");
  const total = Number(r.headers.get("content-length")) || size || 0;
  const buf = await readBody(r, total, onBytes, url);
  if (cache) {
    try {
      await cache.put(key, new Response(buf, { headers: { "content-type": "application/octet-stream", "content-length": String(buf.byteLength) } }));
    } catch (e) {
      console.warn(`minimind: could not cache ${url}: ${e.message}`);
    }
  }
  return buf;
}

async function readBody(r, total, onBytes, url) {
  if (!r.body) {
    const buf = new Uint8Array(await r.arrayBuffer());
    onBytes(buf.byteLength, buf.byteLength);
    return buf;
  }
  const reader = r.body.getReader();
  let buf = new Uint8Array(total || 1 << 20);
  let n = 0;
  let last = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (n + value.byteLength > buf.byteLength) {
        const grown = new Uint8Array(Math.max(buf.byteLength * 2, n + value.byteLength));
        grown.set(buf.subarray(0, n));
        buf = grown;
      }
      buf.set(value, n);
      n += value.byteLength;
      const now = performance.now();
      if (now - last > 100) {
        onBytes(n, Math.max(total, n));
        last = now;
      }
    }
  } catch (e) {
    throw new WorkerError(`Downloading ${url} was interrupted after ${n} bytes (${e.message}). Try again.`, "download");
  }
  if (total && n < total) {
    throw new WorkerError(`Downloading ${url} stopped after ${n} of ${total} bytes. Try again.`, "download");
  }
  onBytes(n, n);
  return n === buf.byteLength ? buf : buf.slice(0, n);
}

// ---- load -------------------------------------------------------------------

// LoRA adapters served beside the model (PEFT's file names), applied
// without merging by the runtime.
const ADAPTER_FILE = "adapter_model.safetensors";

function pickWeights(names) {
  if (names.includes("model.safetensors")) return "model.safetensors";
  const st = names.filter((n) => n.endsWith(".safetensors") && n !== ADAPTER_FILE);
  if (st.length) return st[0];
  const pth = names.filter((n) => n.endsWith(".pth"));
  return pth.find((n) => n.startsWith("full_sft")) || pth[0] || null;
}

async function load(msg, progress) {
  const t0 = performance.now();
  const src = await resolveSource(msg.source, msg.defaultBase);
  const byName = new Map(src.entries.map((e) => [e.name, e]));
  const weightsName = pickWeights([...byName.keys()]);
  if (!weightsName) {
    throw new WorkerError(
      `${src.name} is not a MiniMind model: no weights found (a MiniMind folder holds config.json, model.safetensors or a .pth file, tokenizer.json and tokenizer_config.json).`,
      "not-minimind",
    );
  }

  // The tokenizer: the model's own, else (a bare .pth) the default model's.
  let tokenizerFrom = src.name;
  if (!byName.has("tokenizer.json") && msg.source.type !== "default") {
    const manifest = await fetchManifest(msg.defaultBase, false);
    const def = manifest ? fromManifest(msg.defaultBase, manifest, "default", true) : null;
    const tok = def && def.entries.filter((e) => TOKENIZER_FILES.includes(e.name));
    if (!tok || !tok.length) {
      throw new WorkerError(
        `${src.name} is not a complete MiniMind model: tokenizer.json is missing. Add tokenizer.json and tokenizer_config.json from the model's release.`,
        "not-minimind",
      );
    }
    for (const e of tok) byName.set(e.name, e);
    tokenizerFrom = "the default model";
  }

  // Small files first: config and tokenizer, so the size check can run
  // before the weights are read.
  const files = {};
  const weights = byName.get(weightsName);
  const small = [...byName.values()].filter((e) => e !== weights && (e.name.endsWith(".json") || e.name === ADAPTER_FILE));
  const totalBytes = [weights, ...small].reduce((s, e) => s + (e.size || 0), 0);
  let doneBytes = 0;
  let fromCache = true;
  const fetchEntry = async (e) => {
    const base = doneBytes;
    const buf = await e.get((loaded, total, cached) => {
      if (!cached) fromCache = false;
      progress({ phase: "download", file: e.name, loaded, total, overallLoaded: base + loaded, overallTotal: totalBytes, cached: !!cached });
    });
    doneBytes = base + buf.byteLength;
    return buf;
  };
  for (const e of small) files[e.name] = await fetchEntry(e);

  const limit = msg.memoryLimit || memoryLimit();
  const est = JSON.parse(go.estimate(files["config.json"] || null, weightsName, weights.size || 0, limit.bytes, limit.text));
  progress({ phase: "check", estimate: est });
  if (est.error) throw new WorkerError(est.error, est.code);

  const tDownload = performance.now();
  files[weightsName] = await fetchEntry(weights);
  if (!weights.size) {
    // The size was unknown before the download: check now.
    const again = JSON.parse(go.estimate(files["config.json"] || null, weightsName, files[weightsName].byteLength, limit.bytes, limit.text));
    if (again.error) throw new WorkerError(again.error, again.code);
  }
  const downloadMs = performance.now() - tDownload;

  progress({ phase: "load", message: `Loading ${weightsName} (${formatBytes(files[weightsName].byteLength)})…` });
  const tLoad = performance.now();
  const info = JSON.parse(await go.load(files, { engine: msg.engine || "auto", name: src.name }));
  for (const k of Object.keys(files)) delete files[k];
  info.source = {
    type: msg.source.type,
    name: src.name,
    cached: src.cacheable ? fromCache : false,
    tokenizerFrom,
    weightsBytes: weights.size || 0,
  };
  info.timings = { downloadMs, loadMs: performance.now() - tLoad, totalMs: performance.now() - t0 };
  info.estimate = est;
  progress({ phase: "ready" });
  return info;
}

// memoryLimit is what the model may take while loading: WebAssembly's
// address space, and less on a device that reports little memory.
function memoryLimit() {
  let bytes = WASM_LIMIT;
  let text = `the browser's WebAssembly memory (${formatBytes(WASM_LIMIT)} usable)`;
  const dm = self.navigator && self.navigator.deviceMemory;
  if (dm && dm * 0.75 * 1024 ** 3 < bytes) {
    bytes = dm * 0.75 * 1024 ** 3;
    text = `what this device can spare (it reports ${dm} GB of memory)`;
  }
  return { bytes, text };
}

function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(1)} GB`;
}
