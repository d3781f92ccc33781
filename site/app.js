// The MiniMind chat page: loads a model through minimind.js and chats with it.
// Plain ES module, no framework.
import { MiniMind } from "./minimind.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);

// ---- settings -------------------------------------------------------------

const DEFAULTS = {
  system: "",
  temperature: 0.85,
  topP: 0.85,
  topK: 0,
  maxTokens: 512,
  repetitionPenalty: 1,
  seed: "",
  thinking: false,
  engine: "auto",
};
const NUMERIC = ["temperature", "topP", "topK", "maxTokens", "repetitionPenalty"];

function loadSettings() {
  let saved = {};
  try {
    saved = JSON.parse(localStorage.getItem("minimind.settings") || "{}");
  } catch {}
  const s = { ...DEFAULTS, ...saved };
  // URL parameters win (handy for links and tests): ?engine=cpu&temperature=0
  for (const k of Object.keys(DEFAULTS)) {
    if (params.has(k)) s[k] = k === "thinking" ? params.get(k) === "1" || params.get(k) === "true" : params.get(k);
  }
  for (const k of NUMERIC) s[k] = Number(s[k]);
  return s;
}

const settings = loadSettings();

function saveSettings() {
  try {
    localStorage.setItem("minimind.settings", JSON.stringify(settings));
  } catch {}
}

function bindSettings() {
  for (const k of ["system", "temperature", "topP", "topK", "maxTokens", "repetitionPenalty", "seed"]) {
    const el = $(k);
    el.value = settings[k];
    const out = $(`${k}-out`);
    const show = () => out && (out.textContent = Number(el.value).toFixed(2));
    show();
    el.addEventListener("input", () => {
      settings[k] = NUMERIC.includes(k) ? Number(el.value) : el.value;
      show();
      saveSettings();
    });
  }
  $("thinking").checked = settings.thinking;
  $("thinking").addEventListener("change", () => {
    settings.thinking = $("thinking").checked;
    saveSettings();
  });
  $("engine-select").value = settings.engine;
  $("engine-select").addEventListener("change", () => {
    settings.engine = $("engine-select").value;
    saveSettings();
    if (lastSource !== undefined) loadModel(lastSource);
  });
}

// ---- state ----------------------------------------------------------------

let mm = null; // the loaded MiniMind
let lastSource; // what loadModel was last given (undefined: nothing yet)
let busy = false; // a reply is being generated
let loadSeq = 0; // the latest load; older ones are discarded
const history = []; // [{role, content}] of the conversation (no system prompt)
let chatEpoch = 0; // bumped by clearChat, so a reply that finishes later is dropped

function setState(state) {
  document.body.dataset.state = state;
  const ready = state === "ready" || state === "generating";
  $("input").disabled = !ready && state !== "generating";
  $("send").disabled = !ready;
  $("send").classList.toggle("stop", state === "generating");
  $("send").setAttribute("aria-label", state === "generating" ? "Stop" : "Send");
  $("send").title = state === "generating" ? "Stop (Esc)" : "Send (Enter)";
}

// ---- banner (errors and notices) ----------------------------------------------

const HELP = {
  "not-minimind": ["This is not a MiniMind model", "A MiniMind folder holds config.json, model.safetensors (or a .pth), tokenizer.json and tokenizer_config.json."],
  "too-big": ["The model does not fit", ""],
  download: ["The download failed", ""],
  "no-webgpu": ["WebGPU is not available", ""],
  webgpu: ["WebGPU cannot run this model", ""],
  "context-full": ["The conversation is too long", "Clear the chat to start a new one."],
  crashed: ["The runtime stopped", ""],
  "no-default-model": ["Choose a model", ""],
  busy: ["Still answering", ""],
};

function showBanner({ title, text, kind = "error", actions = [] }) {
  const b = $("banner");
  b.className = `banner ${kind}`;
  $("banner-title").textContent = title;
  $("banner-text").textContent = text;
  const box = $("banner-actions");
  box.replaceChildren(
    ...actions.map(([label, fn]) => {
      const btn = document.createElement("button");
      btn.type = "button";
      btn.className = "chip";
      btn.textContent = label;
      btn.addEventListener("click", () => {
        hideBanner();
        fn();
      });
      return btn;
    }),
  );
  b.hidden = false;
}

function hideBanner() {
  $("banner").hidden = true;
}

function showError(err) {
  const code = err && err.code ? err.code : "internal";
  const [title, help] = HELP[code] || ["Something went wrong", ""];
  const actions = [];
  if (code === "no-webgpu" || code === "webgpu") {
    actions.push(["Use the CPU", () => { settings.engine = "cpu"; $("engine-select").value = "cpu"; saveSettings(); loadModel(lastSource); }]);
  }
  if (code === "download" || code === "crashed") actions.push(["Try again", () => loadModel(lastSource)]);
  if (code === "context-full") actions.push(["Clear chat", clearChat]);
  if (code === "not-minimind" || code === "too-big" || code === "no-default-model") actions.push(["Open a folder…", () => $("pick-folder").click()]);
  showBanner({
    title,
    text: [err && err.message ? err.message : String(err), help].filter(Boolean).join("\n\n"),
    kind: code === "no-default-model" ? "info" : "error",
    actions,
  });
}

// ---- loading ----------------------------------------------------------------

function formatBytes(n) {
  if (!n) return "0 B";
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(0)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}

function formatCount(n) {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}K`;
  return String(n);
}

function progress(p) {
  const text = $("loading-text");
  const bar = $("loading-bar");
  const detail = $("loading-detail");
  switch (p.phase) {
    case "start":
      text.textContent = "Starting the runtime…";
      bar.style.width = "2%";
      break;
    case "download": {
      const frac = p.overallTotal ? p.overallLoaded / p.overallTotal : 0;
      bar.style.width = `${Math.max(2, Math.min(100, frac * 100)).toFixed(1)}%`;
      text.textContent = p.cached ? `Reading ${p.file} from the cache…` : `Downloading ${p.file}…`;
      detail.textContent = `${formatBytes(p.overallLoaded)} of ${formatBytes(p.overallTotal)}`;
      break;
    }
    case "check":
      detail.textContent = p.estimate && p.estimate.params ? `${formatCount(p.estimate.params)} parameters · needs about ${formatBytes(p.estimate.peakBytes)} to load` : "";
      break;
    case "load":
      text.textContent = "Loading the weights…";
      bar.style.width = "100%";
      break;
  }
}

async function loadModel(source) {
  const seq = ++loadSeq;
  lastSource = source;
  if (busy && mm) mm.abort();
  if (mm) {
    mm.dispose();
    mm = null;
  }
  hideBanner();
  setState("loading");
  $("loading").hidden = false;
  $("loading-detail").textContent = "";
  $("model-name").textContent = "loading…";
  $("lora").hidden = true;
  $("engine").hidden = true;
  const memoryLimit = Number(params.get("memlimit")) || undefined;
  try {
    const m = await MiniMind.load({ model: source, engine: settings.engine, onProgress: (p) => seq === loadSeq && progress(p), memoryLimit });
    if (seq !== loadSeq) {
      m.dispose();
      return;
    }
    mm = m;
    showModel(mm.info());
    setState("ready");
    $("input").focus();
  } catch (err) {
    if (seq !== loadSeq) return;
    console.error(err);
    setState(err.code === "no-default-model" ? "choose" : "error");
    $("model-name").textContent = err.code === "no-default-model" ? "no model loaded" : "failed to load";
    showError(err);
  } finally {
    if (seq === loadSeq) $("loading").hidden = true;
  }
}

function showModel(info) {
  const name = info.source && info.source.name ? info.source.name : info.name;
  $("model-name").textContent = `${name} · ${formatCount(info.params)} params`;
  const eng = $("engine");
  eng.hidden = false;
  eng.textContent = info.engineInfo.name === "webgpu" ? "WebGPU" : "CPU · wasm";
  eng.className = `badge ${info.engineInfo.name}`;
  eng.title = info.engineInfo.adapter ? `WebGPU adapter: ${info.engineInfo.adapter}` : "The model runs on the CPU in WebAssembly (one thread).";
  $("thinking-row").hidden = !info.thinking;
  const t = info.timings || {};
  $("model-details").textContent =
    `${info.family}, ${info.layers} layers, hidden ${info.hidden}, ${info.heads}/${info.kvHeads} heads, vocab ${info.vocab}` +
    `${info.moe ? `, ${info.experts} experts` : ""}. ${info.weightsFile} ` +
    `${info.source && info.source.cached ? "from the cache" : info.source && info.source.type === "files" ? "from your files" : "downloaded"}; ` +
    `loaded in ${((t.totalMs || 0) / 1000).toFixed(1)} s.` +
    (info.source && info.source.tokenizerFrom === "the default model" ? " Tokenizer from the default model." : "") +
    (info.lora ? ` LoRA adapters applied (not merged): ${info.lora.layers} layers, rank ${info.lora.rank}${info.lora.alpha ? `, alpha ${info.lora.alpha}` : ""}, ${formatCount(info.lora.params)} params.` : "");
  const lora = $("lora");
  lora.hidden = !info.lora;
  if (info.lora) lora.title = `${info.lora.file}: LoRA adapters on ${info.lora.layers} layers (rank ${info.lora.rank}), applied in the forward pass without merging.`;
  if (info.engineInfo.fallback && settings.engine === "auto") {
    showBanner({
      kind: "notice",
      title: "Running on the CPU",
      text: `${info.engineInfo.fallback}. The model runs on the CPU with WebAssembly instead: slower, but it works everywhere.`,
      actions: [],
    });
  }
}

// ---- chat -------------------------------------------------------------------

function splitThink(raw) {
  const t = raw.replace(/^[\s]+/, "");
  if (t.startsWith("<think>")) {
    const rest = t.slice("<think>".length);
    const i = rest.indexOf("</think>");
    if (i < 0) return { reasoning: rest.trim(), answer: "", open: true };
    return { reasoning: rest.slice(0, i).trim(), answer: rest.slice(i + "</think>".length).replace(/^\n+/, ""), open: false };
  }
  const i = raw.indexOf("</think>");
  if (i >= 0) return { reasoning: raw.slice(0, i).trim(), answer: raw.slice(i + "</think>".length).replace(/^\n+/, ""), open: false };
  return { reasoning: "", answer: raw, open: false };
}

function addMessage(role, text) {
  $("welcome").hidden = true;
  const li = document.createElement("li");
  li.className = `msg ${role}`;
  const bubble = document.createElement("div");
  bubble.className = "bubble";
  if (role === "user") {
    bubble.textContent = text;
  } else {
    const think = document.createElement("details");
    think.className = "think";
    think.hidden = true;
    const sum = document.createElement("summary");
    const body = document.createElement("div");
    body.className = "think-body";
    think.append(sum, body);
    const answer = document.createElement("div");
    answer.className = "answer";
    bubble.append(think, answer);
  }
  li.append(bubble);
  $("messages").append(li);
  scrollDown(true);
  return li;
}

function renderAssistant(li, raw, streaming) {
  const { reasoning, answer, open } = splitThink(raw);
  const think = li.querySelector(".think");
  think.hidden = !reasoning && !open;
  think.querySelector("summary").textContent = open && streaming ? "Thinking…" : `Reasoning (${reasoning.length} characters)`;
  think.querySelector(".think-body").textContent = reasoning;
  const a = li.querySelector(".answer");
  a.textContent = answer;
  a.classList.toggle("cursor", streaming && !open);
  li.querySelector(".think-body").classList.toggle("cursor", streaming && open);
}

// The chat follows new text while the reader is at the bottom; scrolling up
// to read stops that until they scroll back down.
let stickToBottom = true;
$("chat").addEventListener("scroll", () => {
  const c = $("chat");
  stickToBottom = c.scrollHeight - c.scrollTop - c.clientHeight < 40;
});

function scrollDown(force) {
  const c = $("chat");
  if (force) stickToBottom = true;
  if (stickToBottom) c.scrollTop = c.scrollHeight;
}

async function send(text) {
  text = (text ?? $("input").value).trim();
  if (!text || busy || !mm) return;
  hideBanner();
  $("input").value = "";
  autosize();
  history.push({ role: "user", content: text });
  addMessage("user", text);
  const li = addMessage("assistant", "");
  li.classList.add("streaming");
  const thinking = settings.thinking && mm.info().thinking;
  const prefix = thinking ? "<think>\n" : "";
  renderAssistant(li, prefix, true);
  const convo = settings.system.trim() ? [{ role: "system", content: settings.system.trim() }, ...history] : [...history];
  busy = true;
  setState("generating");
  const epoch = chatEpoch;
  try {
    const res = await mm.generate(convo, {
      maxTokens: settings.maxTokens,
      temperature: settings.temperature,
      topP: settings.topP,
      topK: settings.topK,
      repetitionPenalty: settings.repetitionPenalty,
      seed: settings.seed === "" ? undefined : Number(settings.seed),
      thinking,
      onToken: (_, all) => {
        renderAssistant(li, prefix + all, true);
        scrollDown();
      },
    });
    if (epoch !== chatEpoch) return; // the chat was cleared meanwhile
    renderAssistant(li, res.prefix + res.text, false);
    history.push({ role: "assistant", content: res.prefix + res.text });
    li.dataset.tokens = JSON.stringify(res.tokens);
    li.dataset.text = res.text;
    li.dataset.stop = res.stats.stop;
    const s = res.stats;
    const meta = document.createElement("div");
    meta.className = "meta";
    meta.textContent =
      `${s.tokens} tokens · ${s.tokensPerSecond.toFixed(1)} tok/s · first token ${Math.round(s.ttftMs)} ms · ` +
      `${s.engine === "webgpu" ? "WebGPU" : "CPU"}${res.aborted ? " · stopped" : s.stop === "length" ? " · max tokens reached" : ""}`;
    li.append(meta);
    $("speed").hidden = false;
    $("speed").textContent = `${s.tokensPerSecond.toFixed(1)} tok/s`;
  } catch (err) {
    if (epoch !== chatEpoch) return;
    history.pop();
    li.classList.add("failed");
    if (err.code === "disposed") {
      // Another model is being loaded: this reply just ends.
      li.querySelector(".answer").textContent = "(stopped: the model was replaced)";
      return;
    }
    console.error(err);
    li.querySelector(".answer").textContent = "(no reply)";
    showError(err);
    if (err.code === "crashed" || err.code === "too-big") {
      mm = null;
      setState("error");
      return;
    }
  } finally {
    li.classList.remove("streaming");
    busy = false;
    if (mm && document.body.dataset.state === "generating") setState("ready");
  }
  scrollDown();
}

function clearChat() {
  if (busy && mm) mm.abort();
  chatEpoch++;
  history.length = 0;
  $("messages").replaceChildren();
  $("welcome").hidden = false;
  $("speed").hidden = true;
  hideBanner();
  $("input").focus();
}

// ---- composer ---------------------------------------------------------------

function autosize() {
  const el = $("input");
  el.style.height = "auto";
  el.style.height = `${Math.min(el.scrollHeight, 200)}px`;
}

$("input").addEventListener("input", autosize);
$("input").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
    e.preventDefault();
    if (!busy) send();
  }
});
$("composer").addEventListener("submit", (e) => {
  e.preventDefault();
  if (busy) mm && mm.abort();
  else send();
});
document.addEventListener("keydown", (e) => {
  if (e.key === "Escape") {
    if (busy && mm) mm.abort();
    else if (!$("settings").hidden) closeSettings();
  }
});
for (const b of document.querySelectorAll(".example")) b.addEventListener("click", () => send(b.textContent));

// ---- settings drawer ---------------------------------------------------------------

function openSettings() {
  $("settings").hidden = false;
  $("scrim").hidden = false;
  $("settings-open").setAttribute("aria-expanded", "true");
  $("settings-close").focus();
}
function closeSettings() {
  $("settings").hidden = true;
  $("scrim").hidden = true;
  $("settings-open").setAttribute("aria-expanded", "false");
}
$("settings-open").addEventListener("click", () => ($("settings").hidden ? openSettings() : closeSettings()));
$("settings-close").addEventListener("click", closeSettings);
$("scrim").addEventListener("click", closeSettings);
$("banner-close").addEventListener("click", hideBanner);
$("clear-chat").addEventListener("click", () => {
  clearChat();
  closeSettings();
});
$("clear-cache").addEventListener("click", async () => {
  const n = (await caches.keys().catch(() => [])).length;
  await caches.delete("minimind-models-v1").catch(() => {});
  showBanner({ kind: "notice", title: "Model cache cleared", text: n ? "Models will be downloaded again next time." : "There was nothing cached." });
});

// ---- model sources ------------------------------------------------------------------

for (const id of ["src-default", "src-default2"]) {
  $(id).addEventListener("click", () => {
    closeSettings();
    loadModel(undefined);
  });
}
for (const id of ["pick-folder", "pick-files", "pick-folder2", "pick-files2"]) {
  $(id).addEventListener("change", (e) => {
    const files = [...e.target.files];
    e.target.value = "";
    if (files.length) {
      closeSettings();
      loadModel(files);
    }
  });
}
$("url-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const url = $("model-url").value.trim();
  if (url) {
    closeSettings();
    loadModel(url);
  }
});

// Drag and drop of a folder or files anywhere on the page.
let dragDepth = 0;
window.addEventListener("dragenter", (e) => {
  if (![...(e.dataTransfer?.types || [])].includes("Files")) return;
  e.preventDefault();
  dragDepth++;
  $("drop").hidden = false;
});
window.addEventListener("dragover", (e) => e.preventDefault());
window.addEventListener("dragleave", () => {
  if (--dragDepth <= 0) {
    dragDepth = 0;
    $("drop").hidden = true;
  }
});
window.addEventListener("drop", async (e) => {
  e.preventDefault();
  dragDepth = 0;
  $("drop").hidden = true;
  const { files, name } = await droppedFiles(e.dataTransfer);
  if (files.length) loadModel({ files, name });
});

// droppedFiles returns the files of a drop, reading dropped folders (two
// levels deep), and the folder's name when one folder was dropped.
async function droppedFiles(dt) {
  const entries = [...dt.items].map((it) => it.webkitGetAsEntry && it.webkitGetAsEntry()).filter(Boolean);
  if (!entries.length) return { files: [...dt.files] };
  const out = [];
  const walk = async (entry, depth) => {
    if (entry.isFile) {
      out.push(await new Promise((res, rej) => entry.file(res, rej)));
    } else if (entry.isDirectory && depth < 2) {
      const reader = entry.createReader();
      for (;;) {
        const batch = await new Promise((res, rej) => reader.readEntries(res, rej));
        if (!batch.length) break;
        for (const child of batch) await walk(child, depth + 1);
      }
    }
  };
  for (const entry of entries) await walk(entry, 0);
  const name = entries.length === 1 && entries[0].isDirectory ? entries[0].name : undefined;
  return { files: out, name };
}

// ---- start ----------------------------------------------------------------

bindSettings();
setState("starting");
loadModel(params.get("model") || undefined);
