// The MiniMind tutorial: runs the loaded model on a prompt with its detailed
// trace (minimind.js walk) and lays the forward pass out as steps. Every
// tensor drawn here is fetched from the runtime's trace, one step at a time;
// only the interactive labs (RoPE rotation, the scale toggle, sampling) derive
// values on the page, and they say so.
//
// window.minimindTutorial = {ready, goto(step, {layer, head, token}), state(), steps()}
import { MiniMind } from "../minimind.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const dark = () => matchMedia("(prefers-color-scheme: dark)").matches;

const EXAMPLES = [
  { prompt: "Who are you?", chat: true },
  { prompt: 'What does "water" mean?', chat: true },
  { prompt: "你好", chat: true },
  { prompt: "The light was", chat: false },
];

// ---- state -----------------------------------------------------------------

const S = {
  mm: null,
  info: null,
  walk: null, // the runtime's walk: ids, pieces, steps [{name, shape}], rope, next
  shapes: new Map(), // step name → shape
  cache: new Map(), // step name → Promise<Float32Array>
  list: [], // the flattened walk: [{def, layer}]
  idx: 0,
  layer: 0,
  head: 0,
  token: 0,
  prompt: "",
  chat: true,
  word: 0, // tokenization: the chosen word
  merge: -1, // tokenization: merges shown (-1: all)
  scale: true, // attention: divide by √hd
  ropeM: null, // RoPE lab: q position (null: the token's own)
  ropeN: null, // RoPE lab: k position
  ropeKey: 0, // RoPE lab: the key token
  sampling: { temperature: 0.85, topK: 0, topP: 0.85, rep: 1, u: 0.5 },
  current: null, // {entry, name, tensor, drawn, extra}
  renderSeq: 0,
  lastStepMs: 0,
  pieceCache: new Map(),
};

// ---- small helpers ---------------------------------------------------------

function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v;
    else if (k === "html") e.innerHTML = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (v !== false && v !== null && v !== undefined) e.setAttribute(k, v === true ? "" : v);
  }
  for (const k of kids.flat()) if (k !== null && k !== undefined) e.append(k instanceof Node ? k : String(k));
  return e;
}

function fmt(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return "—";
  if (v === -Infinity) return "−∞ (masked)";
  if (v === Infinity) return "∞";
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(3).replace("-", "−");
  return v.toFixed(a >= 100 ? 2 : 4).replace("-", "−");
}

function esc(s) {
  return String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
}

// tokLabel shows a token's text with its spaces and line breaks visible.
function tokLabel(p) {
  if (p === undefined || p === null) return "?";
  return p.replace(/\n/g, "↵").replace(/\t/g, "⇥").replace(/ /g, "·") || "∅";
}

function prod(a) {
  return a.reduce((x, y) => x * y, 1);
}

function norm(d, off, n) {
  let s = 0;
  for (let i = 0; i < n; i++) s += d[off + i] * d[off + i];
  return Math.sqrt(s);
}

function bytesText(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 ** 2).toFixed(1)} MB`;
}

// ---- colours ---------------------------------------------------------------

function palette() {
  return dark()
    ? { mid: [26, 29, 36], neg: [96, 165, 250], pos: [248, 113, 113], seq: [190, 198, 255], mask: [48, 52, 62], hatch: "rgba(255,255,255,0.10)", text: "#e8e9ed", muted: "#9aa0ad", line: "#2b2f39", q: "#818cf8", k: "#fb923c", faint: "rgba(255,255,255,0.25)" }
    : { mid: [255, 255, 255], neg: [37, 99, 235], pos: [220, 38, 38], seq: [79, 70, 229], mask: [236, 237, 241], hatch: "rgba(0,0,0,0.10)", text: "#1d1f24", muted: "#6a6f7a", line: "#e3e5ea", q: "#4f46e5", k: "#ea580c", faint: "rgba(0,0,0,0.22)" };
}

function mix(a, b, t) {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}

// colour maps v to a colour: diverging around 0 scaled by lim, or
// sequential from 0 to lim.
function colour(v, lim, kind, pal) {
  if (kind === "seq") return mix(pal.mid, pal.seq, Math.min(1, Math.max(0, v / lim)) ** 0.7);
  const t = Math.max(-1, Math.min(1, v / lim));
  return t < 0 ? mix(pal.mid, pal.neg, Math.sqrt(-t)) : mix(pal.mid, pal.pos, Math.sqrt(t));
}

// ---- tooltip ---------------------------------------------------------------

function tipShow(ev, html) {
  const tip = $("tip");
  tip.innerHTML = html;
  tip.hidden = false;
  const w = tip.offsetWidth,
    h = tip.offsetHeight;
  let x = ev.clientX + 14,
    y = ev.clientY + 14;
  if (x + w > innerWidth - 8) x = ev.clientX - w - 14;
  if (y + h > innerHeight - 8) y = ev.clientY - h - 14;
  tip.style.left = `${Math.max(4, x)}px`;
  tip.style.top = `${Math.max(4, y)}px`;
}

function tipHide() {
  $("tip").hidden = true;
}

// ---- drawing ---------------------------------------------------------------

function canvas(w, h, cls = "") {
  const c = el("canvas", { class: cls });
  const r = devicePixelRatio || 1;
  c.width = Math.round(w * r);
  c.height = Math.round(h * r);
  c.style.width = `${w}px`;
  c.style.height = `${h}px`;
  const g = c.getContext("2d");
  g.scale(r, r);
  return [c, g];
}

function viewWidth() {
  return Math.max(260, $("view").clientWidth - 4);
}

// heatmap draws rows×cols values get(r, c) with token labels on the rows.
// Options: rowLabels, colLabels, kind ("div"|"seq"), lim, masked(r, c),
// hover(r, c, v) → html, click(r, c), mark (row to outline), width, rowH.
function heatmap(o) {
  const pal = palette();
  const labelW = o.rowLabels ? Math.min(130, 16 + 7 * Math.max(...o.rowLabels.map((s) => Math.min(16, s.length)))) : 0;
  const width = o.width || viewWidth();
  const plotW = Math.max(40, width - labelW);
  const rowH = o.rowH || Math.max(6, Math.min(22, Math.floor(520 / o.rows)));
  const colW = plotW / o.cols;
  const topH = o.colLabels && colW >= 9 ? 64 : 0;
  const H = topH + rowH * o.rows;
  const [c, g] = canvas(labelW + plotW, H, "heat");
  let lim = o.lim;
  if (!lim) {
    lim = 1e-12;
    for (let r = 0; r < o.rows; r++)
      for (let k = 0; k < o.cols; k++) {
        const v = o.get(r, k);
        if (Number.isFinite(v)) lim = Math.max(lim, Math.abs(v));
      }
  }
  // The cells, one pixel each, scaled up without smoothing.
  const off = new OffscreenCanvas(o.cols, o.rows);
  const og = off.getContext("2d");
  const img = og.createImageData(o.cols, o.rows);
  // A 256-colour table: the value's position in [-lim, lim] (or [0, lim]).
  const seq = (o.kind || "div") === "seq";
  const lut = new Uint8Array(256 * 3);
  for (let j = 0; j < 256; j++) {
    const col = colour(seq ? (j / 255) * lim : (j / 255 - 0.5) * 2 * lim, lim, seq ? "seq" : "div", pal);
    lut[3 * j] = col[0];
    lut[3 * j + 1] = col[1];
    lut[3 * j + 2] = col[2];
  }
  const px = img.data;
  const sc = seq ? 255 / lim : 127.5 / lim;
  const masked = o.masked;
  for (let r = 0, i = 0; r < o.rows; r++)
    for (let k = 0; k < o.cols; k++, i += 4) {
      const v = o.get(r, k);
      if ((masked && masked(r, k)) || !Number.isFinite(v)) {
        px[i] = pal.mask[0];
        px[i + 1] = pal.mask[1];
        px[i + 2] = pal.mask[2];
      } else {
        let j = Math.round(seq ? v * sc : v * sc + 127.5);
        j = j < 0 ? 0 : j > 255 ? 255 : j;
        px[i] = lut[3 * j];
        px[i + 1] = lut[3 * j + 1];
        px[i + 2] = lut[3 * j + 2];
      }
      px[i + 3] = 255;
    }
  og.putImageData(img, 0, 0);
  g.imageSmoothingEnabled = false;
  g.drawImage(off, labelW, topH, plotW, rowH * o.rows);
  // Hatch the masked cells: one path of all of them, filled with a pattern.
  if (o.masked) {
    const path = new Path2D();
    let any = false;
    for (let r = 0; r < o.rows; r++)
      for (let k = 0; k < o.cols; k++) {
        if (!o.masked(r, k)) continue;
        // Runs of masked cells in a row become one rectangle.
        let e = k;
        while (e + 1 < o.cols && o.masked(r, e + 1)) e++;
        path.rect(labelW + k * colW, topH + r * rowH, (e - k + 1) * colW, rowH);
        any = true;
        k = e;
      }
    if (any) {
      const pc = new OffscreenCanvas(6, 6);
      const pg = pc.getContext("2d");
      pg.strokeStyle = pal.hatch;
      pg.lineWidth = 1;
      pg.beginPath();
      pg.moveTo(0, 6);
      pg.lineTo(6, 0);
      pg.moveTo(-1, 1);
      pg.lineTo(1, -1);
      pg.moveTo(5, 7);
      pg.lineTo(7, 5);
      pg.stroke();
      g.fillStyle = g.createPattern(pc, "repeat");
      g.fill(path);
    }
  }
  g.font = `${Math.min(12, Math.max(8, rowH - 4))}px ui-monospace, SFMono-Regular, Menlo, monospace`;
  g.textBaseline = "middle";
  if (o.rowLabels && rowH >= 8) {
    for (let r = 0; r < o.rows; r++) {
      g.fillStyle = r === o.mark ? pal.text : pal.muted;
      let s = o.rowLabels[r];
      if (s.length > 16) s = s.slice(0, 15) + "…";
      g.fillText(s, 4, topH + r * rowH + rowH / 2);
    }
  }
  if (topH) {
    g.save();
    g.fillStyle = pal.muted;
    g.font = "10px ui-monospace, Menlo, monospace";
    for (let k = 0; k < o.cols; k++) {
      g.save();
      g.translate(labelW + k * colW + colW / 2 + 3, topH - 4);
      g.rotate(-Math.PI / 3);
      let s = o.colLabels[k];
      if (s.length > 9) s = s.slice(0, 8) + "…";
      g.fillText(s, 0, 0);
      g.restore();
    }
    g.restore();
  }
  if (o.mark !== undefined && o.mark !== null && o.mark >= 0) {
    g.strokeStyle = pal.text;
    g.lineWidth = 1.5;
    g.strokeRect(labelW + 0.75, topH + o.mark * rowH + 0.75, plotW - 1.5, rowH - 1.5);
  }
  const at = (ev) => {
    const b = c.getBoundingClientRect();
    const x = ev.clientX - b.left - labelW,
      y = ev.clientY - b.top - topH;
    if (x < 0 || y < 0) return null;
    const r = Math.floor(y / rowH),
      k = Math.floor(x / colW);
    return r < o.rows && k < o.cols ? [r, k] : null;
  };
  c.addEventListener("mousemove", (ev) => {
    const p = at(ev);
    if (!p) return tipHide();
    const v = o.get(p[0], p[1]);
    tipShow(ev, o.hover ? o.hover(p[0], p[1], v) : fmt(v));
    if (o.onrow) o.onrow(p[0]);
  });
  c.addEventListener("mouseleave", () => {
    tipHide();
    if (o.onrow) o.onrow(null);
  });
  if (o.click)
    c.addEventListener("click", (ev) => {
      const p = at(ev);
      if (p) o.click(p[0], p[1]);
    });
  const wrap = el("div", { class: "heat-wrap" }, c);
  wrap.append(legend(lim, o.kind || "div", o.legend));
  return wrap;
}

function legend(lim, kind, what) {
  const pal = palette();
  const [c, g] = canvas(120, 10, "legend-bar");
  for (let i = 0; i < 120; i++) {
    const v = kind === "seq" ? (i / 119) * lim : (i / 119 - 0.5) * 2 * lim;
    const col = colour(v, lim, kind, pal);
    g.fillStyle = `rgb(${col.map(Math.round).join(",")})`;
    g.fillRect(i, 0, 1, 10);
  }
  return el("div", { class: "legend" }, el("span", {}, kind === "seq" ? "0" : fmt(-lim)), c, el("span", {}, fmt(lim)), what ? el("span", { class: "muted" }, what) : null);
}

// bars draws labelled horizontal bars.
function bars(items, { lim, signed = false, cls = "" } = {}) {
  const m = lim || Math.max(1e-12, ...items.map((it) => Math.abs(it.value)));
  const box = el("div", { class: `bars ${cls}` });
  for (const it of items) {
    const w = (Math.abs(it.value) / m) * (signed ? 50 : 100);
    const bar = el("span", { class: `bar ${it.value < 0 ? "neg" : ""}` });
    bar.style.width = `${w}%`;
    if (signed) bar.style[it.value < 0 ? "right" : "left"] = "50%";
    const row = el(
      "div",
      { class: `bar-row ${it.cls || ""}`, title: it.title || "" },
      el("span", { class: "bar-label" }, it.label),
      el("span", { class: `bar-track ${signed ? "signed" : ""}` }, bar),
      el("span", { class: "bar-value" }, it.text ?? fmt(it.value)),
    );
    if (it.onclick) {
      row.classList.add("clickable");
      row.addEventListener("click", it.onclick);
    }
    box.append(row);
  }
  return box;
}

// ---- runtime access --------------------------------------------------------

// step fetches one traced tensor from the worker. The page keeps the last
// CACHE_STEPS fetched (least recently used out): the whole trace stays in
// the worker only.
const CACHE_STEPS = 64;
function step(name) {
  let p = S.cache.get(name);
  if (p) {
    S.cache.delete(name); // most recently used last
  } else {
    p = S.mm.walkStep(name).then((st) => st.data);
    p.catch(() => S.cache.delete(name));
  }
  S.cache.set(name, p);
  while (S.cache.size > CACHE_STEPS) S.cache.delete(S.cache.keys().next().value);
  return p;
}

async function pieces(ids) {
  const want = [...new Set(ids)].filter((id) => !S.pieceCache.has(id));
  if (want.length) {
    const ps = await S.mm.pieces(want);
    want.forEach((id, i) => S.pieceCache.set(id, ps[i]));
  }
  return ids.map((id) => S.pieceCache.get(id));
}

const has = (name) => S.shapes.has(name);
const shapeOf = (name) => S.shapes.get(name);
const L = (l, s) => `layers.${l}.${s}`;

// ---- the model's sizes -------------------------------------------------------

function dims() {
  const i = S.info;
  const T = S.walk.ids.length;
  const k = has(L(0, "router_experts")) ? shapeOf(L(0, "router_experts"))[1] : 0;
  return {
    T, D: i.hidden, H: i.heads, KVH: i.kvHeads, hd: i.headDim, F: i.ffn, V: i.vocab, NL: i.layers, E: i.experts || 0, k,
    qk: has(L(0, "q_norm")), moe: i.moe, shared: has(L(0, "shared_out")), eps: i.config.rms_norm_eps,
  };
}

const R = (...d) => `ℝ<sup>${d.join("×")}</sup>`;

// ---- the steps -------------------------------------------------------------
//
// Each step names the trace tensor it shows (tensor(layer)), says what it
// computes with this model's sizes, and draws it. Layer steps repeat for
// every layer. needs(layer) lists other tensors the view uses.

const GROUPS = {
  tok: "Tokens",
  emb: "Embedding",
  attn: "Attention",
  ffn: "Feed-forward",
  out: "Output",
  gen: "Generation",
  res: "Residual stream",
};

const STEPS = [
  {
    id: "tokens", group: "tok", title: "Text → tokens",
    tensor: () => "tokens",
    text: (d) => `The tokenizer cuts the ${S.chat ? "chat-formatted " : ""}text into words, spells each word as bytes, then applies byte-pair merges, lowest rank first, until no merge applies. The ${d.T} resulting ids index the model's ${d.V}-token vocabulary. Pick a word to replay its merges.`,
    formula: (d) => `text → bytes → BPE merges → ids ∈ {0…${d.V - 1}}<sup>${d.T}</sup>`,
    view: viewTokens,
  },
  {
    id: "embed", group: "emb", title: "Embedding lookup",
    tensor: () => "embed",
    text: (d) => `Each id selects one row of the embedding matrix E: a ${d.D}-number vector per token. This is the start of the residual stream that every layer reads from and adds to.`,
    formula: (d) => `x<sub>t</sub> = E[id<sub>t</sub>], E ∈ ${R(d.V, d.D)} → x ∈ ${R(d.T, d.D)}`,
    view: (c) => viewRows(c, "D"),
  },
  {
    id: "input_rms", group: "attn", layer: true, title: "RMSNorm: the scale",
    tensor: (l) => L(l, "input_rms"),
    needs: (l) => [l === 0 ? "embed" : L(l - 1, "resid_out")],
    text: (d) => `RMSNorm first measures each token's vector: the mean of its squares over the ${d.D} numbers, plus ε = ${d.eps}, then the reciprocal square root. Tokens with large vectors get a small factor.`,
    formula: (d) => `r<sub>t</sub> = 1 / √( (1/${d.D}) Σ<sub>j</sub> x<sub>t,j</sub>² + ${d.eps} ) → r ∈ ${R(d.T)}`,
    view: viewRMS,
  },
  {
    id: "input_norm", group: "attn", layer: true, title: "RMSNorm: scaled by the weight",
    tensor: (l) => L(l, "input_norm"),
    text: (d) => `Each vector is multiplied by its factor r<sub>t</sub> and then, number by number, by the learned weight g (${d.D} numbers). No mean is subtracted and there is no bias: that is what makes it RMSNorm rather than LayerNorm.`,
    formula: (d) => `h<sub>t</sub> = x<sub>t</sub> · r<sub>t</sub> ⊙ g, g ∈ ${R(d.D)} → h ∈ ${R(d.T, d.D)}`,
    needs: (l) => [L(l, "input_norm_weight")],
    view: viewNorm,
  },
  {
    id: "q_proj", group: "attn", layer: true, title: "Query projection",
    tensor: (l) => L(l, "q_proj"),
    text: (d) => `A matrix multiply turns each normalised vector into ${d.H} query vectors of ${d.hd} numbers, one per attention head: what each token is looking for.`,
    formula: (d) => `q = h · W<sub>q</sub>, W<sub>q</sub> ∈ ${R(d.D, d.H * d.hd)} → q ∈ ${R(d.T, d.H, d.hd)}`,
    controls: ["head"],
    view: (c) => viewHeads(c, "H"),
  },
  {
    id: "k_proj", group: "attn", layer: true, title: "Key projection",
    tensor: (l) => L(l, "k_proj"),
    text: (d) => `Keys say what each token offers. Grouped-query attention: only ${d.KVH} key head${d.KVH > 1 ? "s" : ""} for ${d.H} query heads, so the KV cache is ${d.H / d.KVH}× smaller.`,
    formula: (d) => `k = h · W<sub>k</sub>, W<sub>k</sub> ∈ ${R(d.D, d.KVH * d.hd)} → k ∈ ${R(d.T, d.KVH, d.hd)}`,
    controls: ["kvhead"],
    view: (c) => viewHeads(c, "KVH"),
  },
  {
    id: "v", group: "attn", layer: true, title: "Value projection",
    tensor: (l) => L(l, "v"),
    text: (d) => `Values are what a token hands over when it is attended to; like keys, ${d.KVH} head${d.KVH > 1 ? "s" : ""}.`,
    formula: (d) => `v = h · W<sub>v</sub>, W<sub>v</sub> ∈ ${R(d.D, d.KVH * d.hd)} → v ∈ ${R(d.T, d.KVH, d.hd)}`,
    controls: ["kvhead"],
    view: (c) => viewHeads(c, "KVH"),
  },
  {
    id: "q_norm", group: "attn", layer: true, title: "q-norm and k-norm", when: (d) => d.qk,
    tensor: (l) => L(l, "q_norm"),
    text: (d) => `MiniMind-3 normalises every head's query and key with its own RMSNorm (over the ${d.hd} numbers of the head) before RoPE, which keeps the attention logits in range.`,
    formula: (d) => `q̂<sub>t,h</sub> = RMSNorm(q<sub>t,h</sub>) ⊙ g<sub>q</sub>, g<sub>q</sub> ∈ ${R(d.hd)} (and k̂ likewise)`,
    controls: ["head"],
    needs: (l) => [L(l, "k_norm")],
    view: (c) => {
      c.box.append(el("h3", {}, `q after q-norm, head ${S.head}`));
      const drawn = viewHeads(c, "H");
      const k = { ...c, name: L(c.entry.layer, "k_norm"), data: c.extra[L(c.entry.layer, "k_norm")], shape: shapeOf(L(c.entry.layer, "k_norm")) };
      c.box.append(el("h3", {}, `k after k-norm, kv head ${Math.floor(S.head / (c.d.H / c.d.KVH))}`));
      viewHeads(k, "KVH");
      numbersFor(Array.from(drawn.data.subarray(S.token * c.d.hd, (S.token + 1) * c.d.hd)), `q of token ${S.token}, head ${S.head}`);
      return drawn;
    },
  },
  {
    id: "rope", group: "attn", layer: true, title: "RoPE: rotating q and k by position",
    tensor: (l) => L(l, "q"),
    needs: (l) => [L(l, has(L(l, "q_norm")) ? "q_norm" : "q_proj"), L(l, has(L(l, "k_norm")) ? "k_norm" : "k_proj"), L(l, "k")],
    text: (d) => `Rotary position embedding turns each pair of numbers (i, i + ${d.hd / 2}) of a query or key by the angle pos·θ<sub>i</sub>. A dot product of two rotated vectors depends only on the difference of their positions, so attention sees relative positions. Drag the sliders.`,
    formula: (d) => `θ<sub>i</sub> = ${S.walk.rope.theta}<sup>−2i/${d.hd}</sup>, i = 0…${d.hd / 2 - 1}; [q<sub>i</sub>, q<sub>i+${d.hd / 2}</sub>] ← R(pos·θ<sub>i</sub>)·[q<sub>i</sub>, q<sub>i+${d.hd / 2}</sub>]`,
    controls: ["head", "token"],
    view: viewRope,
  },
  {
    id: "attn_scores", group: "attn", layer: true, title: "Attention scores and the causal mask",
    tensor: (l) => L(l, "attn_scores"),
    text: (d) => `Every query is compared with every key by a dot product, divided by √${d.hd}. The causal mask (hatched) sets the scores of later tokens to −∞: a token may only look back.`,
    formula: (d) => `s<sub>h,t,u</sub> = q<sub>t,h</sub> · k<sub>u,⌊h/${d.H / d.KVH}⌋</sub> / √${d.hd}, s = −∞ for u > t → s ∈ ${R(d.H, d.T, d.T)}`,
    controls: ["head", "token"],
    view: (c) => viewAttention(c, false),
  },
  {
    id: "attn_probs", group: "attn", layer: true, title: "Softmax: attention weights",
    tensor: (l) => L(l, "attn_probs"),
    needs: (l) => [L(l, "attn_scores")],
    text: (d) => `Softmax turns each row of scores into weights that sum to 1. Point at a row to see, in the prompt, which earlier tokens that query reads from.`,
    formula: (d) => `p<sub>h,t,u</sub> = exp(s<sub>h,t,u</sub>) / Σ<sub>u′≤t</sub> exp(s<sub>h,t,u′</sub>) → p ∈ ${R(d.H, d.T, d.T)}`,
    controls: ["head", "token"],
    view: (c) => viewAttention(c, true),
  },
  {
    id: "attn_ctx", group: "attn", layer: true, title: "Weighted sum of values",
    tensor: (l) => L(l, "attn_ctx"),
    text: (d) => `Each head mixes the value vectors of the tokens it attends to, with the weights of the softmax. Query heads of one group share the same values.`,
    formula: (d) => `o<sub>t,h</sub> = Σ<sub>u≤t</sub> p<sub>h,t,u</sub> · v<sub>u,⌊h/${d.H / d.KVH}⌋</sub> → o ∈ ${R(d.T, d.H, d.hd)}`,
    controls: ["head"],
    view: (c) => viewHeads(c, "H"),
  },
  {
    id: "attn_out", group: "attn", layer: true, title: "Output projection",
    tensor: (l) => L(l, "attn_out"),
    text: (d) => `The ${d.H} heads are laid side by side (${d.H * d.hd} numbers) and projected back to the model's width.`,
    formula: (d) => `a = o · W<sub>o</sub>, W<sub>o</sub> ∈ ${R(d.H * d.hd, d.D)} → a ∈ ${R(d.T, d.D)}`,
    view: (c) => viewRows(c, "D"),
  },
  {
    id: "resid_mid", group: "attn", layer: true, title: "Residual add",
    tensor: (l) => L(l, "resid_mid"),
    text: () => `Attention's output is added to the residual stream, not substituted for it: the layer only writes a correction.`,
    formula: (d) => `x′ = x + a → x′ ∈ ${R(d.T, d.D)}`,
    view: (c) => viewRows(c, "D"),
  },
  {
    id: "post_rms", group: "ffn", layer: true, title: "Post-attention RMSNorm: the scale",
    tensor: (l) => L(l, "post_rms"),
    needs: (l) => [L(l, "resid_mid")],
    text: (d) => `The feed-forward block normalises its input the same way, with its own weight.`,
    formula: (d) => `r′<sub>t</sub> = 1 / √( (1/${d.D}) Σ<sub>j</sub> x′<sub>t,j</sub>² + ${d.eps} )`,
    view: viewRMS,
  },
  {
    id: "post_norm", group: "ffn", layer: true, title: "Post-attention RMSNorm",
    tensor: (l) => L(l, "post_norm"),
    text: () => `The normalised input of the feed-forward block.`,
    formula: (d) => `h′<sub>t</sub> = x′<sub>t</sub> · r′<sub>t</sub> ⊙ g′, g′ ∈ ${R(d.D)} → h′ ∈ ${R(d.T, d.D)}`,
    needs: (l) => [L(l, "post_norm_weight")],
    view: viewNorm,
  },
  {
    id: "gate", group: "ffn", layer: true, title: "SwiGLU: gate projection", when: (d) => !d.moe,
    tensor: (l) => L(l, "gate"),
    text: (d) => `SwiGLU widens each token to ${d.F} numbers twice: a gate and an up projection.`,
    formula: (d) => `g = h′ · W<sub>gate</sub>, W<sub>gate</sub> ∈ ${R(d.D, d.F)} → g ∈ ${R(d.T, d.F)}`,
    view: (c) => viewRows(c, "F"),
  },
  {
    id: "silu", group: "ffn", layer: true, title: "SwiGLU: SiLU of the gate", when: (d) => !d.moe,
    tensor: (l) => L(l, "silu"),
    text: () => `SiLU (x·sigmoid(x)) lets positive gate values through and squashes negative ones toward 0.`,
    formula: (d) => `silu(g) = g · σ(g) = g / (1 + e<sup>−g</sup>) → ${R(d.T, d.F)}`,
    view: (c) => viewRows(c, "F"),
  },
  {
    id: "up", group: "ffn", layer: true, title: "SwiGLU: up projection", when: (d) => !d.moe,
    tensor: (l) => L(l, "up"),
    text: () => `The second widening, with no activation.`,
    formula: (d) => `u = h′ · W<sub>up</sub>, W<sub>up</sub> ∈ ${R(d.D, d.F)} → u ∈ ${R(d.T, d.F)}`,
    view: (c) => viewRows(c, "F"),
  },
  {
    id: "act", group: "ffn", layer: true, title: "SwiGLU: the product", when: (d) => !d.moe,
    tensor: (l) => L(l, "act"),
    text: () => `The gate decides, number by number, how much of the up projection passes.`,
    formula: (d) => `m = silu(g) ⊙ u → m ∈ ${R(d.T, d.F)}`,
    view: (c) => viewRows(c, "F"),
  },
  {
    id: "router", group: "ffn", layer: true, title: "MoE: the router's probabilities", when: (d) => d.moe,
    tensor: (l) => L(l, "router"),
    text: (d) => `A mixture of experts replaces the one SwiGLU block by ${d.E} smaller ones. A router scores every expert for every token; softmax turns the scores into probabilities.`,
    formula: (d) => `π<sub>t</sub> = softmax(h′<sub>t</sub> · W<sub>router</sub>), W<sub>router</sub> ∈ ${R(d.D, d.E)} → π ∈ ${R(d.T, d.E)}`,
    view: (c) => viewRows(c, "E", "seq"),
  },
  {
    id: "router_experts", group: "ffn", layer: true, title: "MoE: top-k choice and each expert's tokens", when: (d) => d.moe,
    tensor: (l) => L(l, "router_experts"),
    needs: (l) => [L(l, "router_weights")],
    text: (d) => `Each token keeps its ${d.k} most likely expert${d.k > 1 ? "s" : ""}${S.info.family === "minimind3" || d.k > 1 ? ", with the weights renormalised to sum to 1" : ""}. An expert only runs on the tokens routed to it.`,
    formula: (d) => `top-${d.k}(π<sub>t</sub>) → experts ∈ {0…${d.E - 1}}<sup>${d.T}×${d.k}</sup>, weights w<sub>t</sub>`,
    view: viewRouting,
  },
  {
    id: "moe_routed", group: "ffn", layer: true, title: "MoE: weighted sum of the experts", when: (d) => d.moe,
    tensor: (l) => L(l, "moe_routed"),
    text: () => `Each chosen expert (a SwiGLU block of its own) processes its tokens; the outputs are added with the router's weights.`,
    formula: (d) => `y<sub>t</sub> = Σ<sub>e ∈ top-${d.k}</sub> w<sub>t,e</sub> · SwiGLU<sub>e</sub>(h′<sub>t</sub>) → ${R(d.T, d.D)}`,
    view: (c) => viewRows(c, "D"),
  },
  {
    id: "shared_out", group: "ffn", layer: true, title: "MoE: the shared expert", when: (d) => d.moe && d.shared,
    tensor: (l) => L(l, "shared_out"),
    text: () => `A shared expert runs on every token, whatever the router chose, and is added unweighted.`,
    formula: (d) => `y<sub>t</sub> += SwiGLU<sub>shared</sub>(h′<sub>t</sub>)`,
    view: (c) => viewRows(c, "D"),
  },
  {
    id: "ffn_out", group: "ffn", layer: true, title: "Feed-forward output",
    tensor: (l) => L(l, "ffn_out"),
    text: (d) => (d.moe ? `The mixture's output: routed experts plus ${d.shared ? "the shared expert" : "nothing else"}.` : `The down projection brings the ${d.F} numbers back to ${d.D}.`),
    formula: (d) => (d.moe ? `f = y → ${R(d.T, d.D)}` : `f = m · W<sub>down</sub>, W<sub>down</sub> ∈ ${R(d.F, d.D)} → f ∈ ${R(d.T, d.D)}`),
    view: (c) => viewRows(c, "D"),
  },
  {
    id: "resid_out", group: "ffn", layer: true, title: "Residual add: the layer's output",
    tensor: (l) => L(l, "resid_out"),
    text: (d) => `The feed-forward output joins the residual stream. This is the input of ${S.layer + 1 < d.NL ? `layer ${S.layer + 1}` : "the final norm"}.`,
    formula: (d) => `x″ = x′ + f → ${R(d.T, d.D)}`,
    view: (c) => viewRows(c, "D"),
  },
  {
    id: "final_norm", group: "out", title: "Final RMSNorm",
    tensor: () => "final_norm",
    text: () => `After the last layer, one more RMSNorm.`,
    formula: (d) => `z = RMSNorm(x) → ${R(d.T, d.D)}`,
    view: (c) => viewRows(c, "D"),
  },
  {
    id: "logits", group: "out", title: "Output head: logits",
    tensor: () => "logits",
    text: (d) => `The output head scores every token of the vocabulary for the next position${S.info.config.tie_word_embeddings !== false ? " (its matrix is the embedding matrix, transposed: tied weights)" : ""}. Shown: the highest logits after the chosen token.`,
    formula: (d) => `logits = z · Eᵀ, Eᵀ ∈ ${R(d.D, d.V)} → ${R(d.T, d.V)}`,
    controls: ["token"],
    view: (c) => viewTop(c, false),
  },
  {
    id: "probs", group: "out", title: "Probabilities",
    tensor: () => "probs",
    text: () => `Softmax over the vocabulary turns logits into a distribution over the next token. Each position predicts the token after it; the last one predicts the continuation.`,
    formula: (d) => `P(next = j) = exp(logit<sub>j</sub>) / Σ<sub>j′</sub> exp(logit<sub>j′</sub>) → ${R(d.T, d.V)}`,
    controls: ["token"],
    view: (c) => viewTop(c, true),
  },
  {
    id: "sample", group: "out", title: "Sampling the next token",
    tensor: () => "probs",
    needs: () => ["logits"],
    text: () => `The next token is drawn from the last position's distribution, reshaped by the sampling settings. Move the controls: the cached logits are reshaped instantly, nothing is rerun.`,
    formula: () => `logits → repetition penalty → ÷ temperature → top-k → softmax → top-p → draw`,
    view: viewSampling,
  },
  {
    id: "kv_cache", group: "gen", title: "Generation: the KV cache grows by one row",
    tensor: () => `next.${L(S.layer, "k_cache")}`,
    needs: () => [`next.${L(S.layer, "v_cache")}`],
    text: (d) => `To generate, the greedy token “${esc(tokLabel(S.walk.nextPiece))}” is fed back. Only its own q, k and v are computed: the keys and values of the ${d.T} prompt tokens are read from the cache, and one new row is appended (outlined).`,
    formula: (d) => `K<sub>cache</sub> ∈ ${R(d.T + 1, d.KVH, d.hd)} per layer; ${bytesText(2 * d.NL * d.KVH * d.hd * 4)} of cache per token (float32, ${d.NL} layers, K and V)`,
    controls: ["layer", "kvhead"],
    view: viewCache,
  },
  {
    id: "decode_attn", group: "gen", title: "Generation: the new token attends over the cache",
    tensor: () => `next.${L(S.layer, "attn_probs")}`,
    text: (d) => `The new token's single query row attends over all ${d.T + 1} cached positions, itself included: no mask is needed, every cached token is in the past.`,
    formula: (d) => `p ∈ ${R(d.H, 1, d.T + 1)}`,
    controls: ["layer"],
    view: viewDecodeAttn,
  },
  {
    id: "next_probs", group: "gen", title: "Generation: the prediction after that",
    tensor: () => "next.probs",
    text: () => `The decode step ends like the prefill: final norm, logits, probabilities, for one position. Feeding the winner back and repeating is all there is to generation.`,
    formula: (d) => `P(next after “${esc(tokLabel(S.walk.nextPiece))}”) ∈ ${R(1, d.V)}`,
    view: (c) => viewTop(c, true, 0),
  },
  {
    id: "residual", group: "res", title: "The residual stream through the layers",
    tensor: () => "resid_norms",
    needs: () => {
      const n = ["embed"];
      for (let l = 0; l < S.info.layers; l++) n.push(L(l, "attn_out"), L(l, "resid_mid"), L(l, "ffn_out"), L(l, "resid_out"));
      return n;
    },
    text: () => `Every layer adds to one running vector per token. The lines show each token's norm after the embedding and after each attention and feed-forward add; the bars how much each block wrote (the norm of what it added) for the chosen token.`,
    formula: (d) => `‖x‖ after embed, then after +attn<sub>ℓ</sub> and +ffn<sub>ℓ</sub>, ℓ = 0…${d.NL - 1}`,
    controls: ["token"],
    view: viewResidual,
  },
];

function buildList() {
  const d = dims();
  const ok = (s) => !s.when || s.when(d);
  const list = [];
  for (const s of STEPS.filter((s) => !s.layer && (s.group === "tok" || s.group === "emb"))) list.push({ def: s, layer: null });
  for (let l = 0; l < d.NL; l++) for (const s of STEPS.filter((s) => s.layer && ok(s))) list.push({ def: s, layer: l });
  for (const s of STEPS.filter((s) => !s.layer && !(s.group === "tok" || s.group === "emb") && ok(s))) {
    if (s.group === "gen" && !S.walk.decoded) continue;
    list.push({ def: s, layer: null });
  }
  return list;
}

const tensorName = (e) => e.def.tensor(e.layer ?? S.layer);

// ---- controls --------------------------------------------------------------

function select(label, value, n, onchange, name = (i) => i) {
  const s = el("select", { "aria-label": label, id: `ctl-${label.toLowerCase().replace(/\W+/g, "-")}` });
  for (let i = 0; i < n; i++) s.append(el("option", { value: i, selected: i === value }, name(i)));
  s.addEventListener("change", () => onchange(Number(s.value)));
  return el("label", { class: "ctl" }, el("span", {}, label), s);
}

function renderControls(entry) {
  const box = $("controls");
  box.replaceChildren();
  const d = dims();
  const want = entry.def.controls || [];
  if (entry.layer !== null || want.includes("layer"))
    box.append(select("Layer", S.layer, d.NL, (v) => goto(entry.layer !== null ? entry.def.id : S.idx, { layer: v })));
  if (want.includes("head"))
    box.append(select("Head", S.head, d.H, (v) => goto(S.idx, { head: v }), (i) => `${i} (kv ${Math.floor(i / (d.H / d.KVH))})`));
  if (want.includes("kvhead"))
    box.append(select("KV head", Math.floor(S.head / (d.H / d.KVH)), d.KVH, (v) => goto(S.idx, { head: v * (d.H / d.KVH) })));
  if (want.includes("token"))
    box.append(select("Token", S.token, d.T, (v) => goto(S.idx, { token: v }), (i) => `${i} ${tokLabel(S.walk.pieces[i])}`));
}

// ---- views -----------------------------------------------------------------
// A view gets c = {entry, name, data, shape, d, extra: {name: data}, box} and
// returns what it drew: {shape, data}.

const rowLabels = () => S.walk.pieces.map((p, i) => `${i} ${tokLabel(p)}`);

// numbersFor fills the numeric view; the grid of values is built when the
// view is opened (or is open), so that stepping stays fast.
function numbersFor(values, what, offset = 0) {
  const body = $("numbers-body");
  $("numbers-what").textContent = what;
  const n = values.length;
  let mn = Infinity,
    mx = -Infinity,
    sum = 0,
    sq = 0,
    fin = 0;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    fin++;
    mn = Math.min(mn, v);
    mx = Math.max(mx, v);
    sum += v;
    sq += v * v;
  }
  const stats = el("p", { class: "stats" }, `${n} values · min ${fmt(mn)} · max ${fmt(mx)} · mean ${fmt(sum / Math.max(1, fin))} · ‖·‖ ${fmt(Math.sqrt(sq))}`);
  body.replaceChildren(stats);
  S.numbersFill = () => {
    const grid = el("div", { class: "num-grid" });
    const show = Math.min(n, 512);
    const parts = [];
    for (let i = 0; i < show; i++) parts.push(`<span class="num"><i>${i + offset}</i>${fmt(values[i])}</span>`);
    grid.innerHTML = parts.join("");
    body.append(grid);
    if (n > show) body.append(el("p", { class: "muted" }, `… and ${n - show} more (state().tensor has them all)`));
    S.numbersFill = null;
  };
  if ($("numbers").open) S.numbersFill();
}

function viewRows(c, what, kind = "div") {
  const [T, N] = c.shape;
  const data = c.data;
  c.box.append(
    heatmap({
      rows: T, cols: N, get: (r, k) => data[r * N + k], rowLabels: rowLabels(), kind, mark: S.token,
      hover: (r, k, v) => `<b>${esc(tokLabel(S.walk.pieces[r]))}</b> (token ${r}) · ${what === "E" ? "expert" : "dim"} ${k}<br>${fmt(v)}`,
      click: (r) => goto(S.idx, { token: r }),
      legend: `${T} tokens × ${N}`,
    }),
  );
  const row = Array.from(data.subarray(S.token * N, (S.token + 1) * N));
  numbersFor(row, `of token ${S.token} “${tokLabel(S.walk.pieces[S.token])}”`);
  return { shape: [T, N], data };
}

// viewNorm shows the norm's learned weight above the normalised rows.
function viewNorm(c) {
  const g = c.extra[c.entry.def.needs(c.entry.layer)[0]];
  const D = g.length;
  c.box.append(
    el("h3", {}, `The weight g (${D} numbers, learned)`),
    heatmap({ rows: 1, cols: D, get: (_, k) => g[k], rowLabels: ["g"], rowH: 18, hover: (_, k, v) => `g[${k}] = ${fmt(v)}`, legend: "one factor per dimension" }),
    el("h3", {}, "The normalised vectors"),
  );
  return viewRows(c, "D");
}

function viewHeads(c, which) {
  const [T, Hn, hd] = c.shape;
  const d = c.d;
  const h = which === "H" ? S.head : Math.floor(S.head / (d.H / d.KVH));
  const get = (r, k) => c.data[(r * Hn + h) * hd + k];
  c.box.append(
    heatmap({
      rows: T, cols: hd, get, rowLabels: rowLabels(), mark: S.token,
      hover: (r, k, v) => `<b>${esc(tokLabel(S.walk.pieces[r]))}</b> (token ${r}) · ${which === "H" ? "head" : "kv head"} ${h} · dim ${k}<br>${fmt(v)}`,
      click: (r) => goto(S.idx, { token: r }),
      legend: `${which === "H" ? "head" : "kv head"} ${h}: ${T} tokens × ${hd}`,
    }),
  );
  const drawn = new Float32Array(T * hd);
  for (let r = 0; r < T; r++) for (let k = 0; k < hd; k++) drawn[r * hd + k] = get(r, k);
  numbersFor(Array.from(drawn.subarray(S.token * hd, (S.token + 1) * hd)), `of token ${S.token}, ${which === "H" ? "head" : "kv head"} ${h}`);
  return { shape: [T, hd], data: drawn };
}

function viewRMS(c) {
  const T = c.shape[0];
  const x = c.extra[c.entry.def.needs(c.entry.layer)[0]];
  const D = c.d.D;
  const items = [];
  for (let t = 0; t < T; t++) {
    const ms = norm(x, t * D, D) ** 2 / D;
    items.push({
      label: `${t} ${tokLabel(S.walk.pieces[t])}`, value: c.data[t], cls: t === S.token ? "sel" : "",
      text: `${fmt(c.data[t])}`, title: `mean square ${fmt(ms)} → 1/√(${fmt(ms)} + ${c.d.eps}) = ${fmt(c.data[t])}`,
      onclick: () => goto(S.idx, { token: t }),
    });
  }
  const t = S.token,
    ms = norm(x, t * D, D) ** 2 / D;
  c.box.append(
    el("p", { class: "rms-line" }, `Token ${t} “${tokLabel(S.walk.pieces[t])}”: mean square ${fmt(ms)}, plus ε = ${c.d.eps}, rsqrt → r = `, el("b", {}, fmt(c.data[t])), ` (1/√${fmt(ms + c.d.eps)} = ${fmt(1 / Math.sqrt(ms + c.d.eps))}, from the traced input).`),
    el("p", { class: "muted small" }, "Bars: the factor r of each token (point at one for its mean square; click to choose it)."),
    bars(items),
  );
  numbersFor(Array.from(c.data), "r for every token");
  return { shape: [T], data: c.data };
}

function viewTokens(c) {
  const box = c.box;
  const ids = S.walk.ids;
  const chips = el("div", { class: "tokens" });
  ids.forEach((id, i) => {
    chips.append(
      el("span", { class: `tok ${i === S.token ? "sel" : ""}`, title: `token ${i}: id ${id}`, onclick: () => goto(S.idx, { token: i }) }, el("span", { class: "tok-text" }, tokLabel(S.walk.pieces[i])), el("span", { class: "tok-id" }, id)),
    );
  });
  box.append(el("h3", {}, `${ids.length} tokens`), chips);
  const merges = el("div", { class: "merges" }, el("p", { class: "muted" }, "Loading the merges…"));
  box.append(el("h3", {}, "BPE, one merge at a time"), merges);
  S.mm.explainMerges(S.walk.text).then((words) => {
    merges.replaceChildren();
    const pick = el("div", { class: "words" });
    const real = words.map((w, i) => [w, i]).filter(([w]) => !w.added && w.merges.length);
    if (!real.some(([, i]) => i === S.word) && real.length) S.word = real.reduce((a, b) => (b[0].merges.length > a[0].merges.length ? b : a))[1];
    words.forEach((w, i) => {
      pick.append(el("button", { type: "button", class: `chip word ${i === S.word ? "sel" : ""} ${w.added ? "added" : ""}`, title: w.added ? "a special token: no merges" : `${w.merges.length} merges`, onclick: () => { S.word = i; S.merge = -1; rerender(); } }, tokLabel(w.text)));
    });
    merges.append(pick);
    const w = words[S.word];
    if (!w) return;
    const n = w.merges.length;
    const at = S.merge < 0 ? n : Math.min(S.merge, n);
    const slider = el("input", { type: "range", min: 0, max: n, value: at, "aria-label": "Merges applied", id: "merge-slider" });
    slider.addEventListener("input", () => { S.merge = Number(slider.value); rerender(); });
    merges.append(el("label", { class: "ctl wide" }, el("span", {}, `merges applied: ${at} of ${n}`), slider));
    const rows = el("div", { class: "merge-rows" });
    const symRow = (syms, hi) => el("div", { class: "syms" }, syms.map((s, k) => el("span", { class: `sym ${k === hi ? "hi" : ""}` }, tokLabel(s))));
    rows.append(el("div", { class: "merge-row" }, el("span", { class: "merge-what" }, "bytes"), symRow(w.start, -1)));
    for (let k = 0; k < at; k++) {
      const m = w.merges[k];
      rows.append(el("div", { class: "merge-row" }, el("span", { class: "merge-what" }, `#${m.rank}: ${tokLabel(m.left)} + ${tokLabel(m.right)}`), symRow(m.after, m.at)));
    }
    merges.append(rows, el("p", { class: "muted small" }, `Final ids of “${tokLabel(w.text)}”: ${w.ids.join(", ")}. The number after # is the merge's rank: earlier merges were more frequent in the tokenizer's training text.`));
  });
  numbersFor(Array.from(c.data), "token ids");
  return { shape: c.shape, data: c.data };
}

function attnHeadGet(c, h, probs, scale) {
  const [, T, S2] = c.shape;
  if (probs && !scale) {
    // Softmax of the unscaled scores (scores · √hd), computed here.
    const sc = c.extra[L(c.entry.layer, "attn_scores")];
    const f = Math.sqrt(c.d.hd);
    const out = new Float32Array(T * S2);
    for (let t = 0; t < T; t++) {
      let mx = -Infinity;
      for (let u = 0; u < S2; u++) mx = Math.max(mx, sc[(h * T + t) * S2 + u] * f);
      let sum = 0;
      for (let u = 0; u < S2; u++) {
        const v = sc[(h * T + t) * S2 + u];
        const e = Number.isFinite(v) ? Math.exp(v * f - mx) : 0;
        out[t * S2 + u] = e;
        sum += e;
      }
      for (let u = 0; u < S2; u++) out[t * S2 + u] /= sum;
    }
    return out;
  }
  return c.data.subarray(h * T * S2, (h + 1) * T * S2);
}

function peak(m, T, S2) {
  let s = 0;
  for (let t = 0; t < T; t++) {
    let mx = 0;
    for (let u = 0; u < S2; u++) mx = Math.max(mx, m[t * S2 + u]);
    s += mx;
  }
  return s / T;
}

function viewAttention(c, probs) {
  const [Hn, T, S2] = c.shape;
  const d = c.d;
  const box = c.box;
  const h = S.head;
  const m = attnHeadGet(c, h, probs, S.scale);
  const pieces = S.walk.pieces;
  // The prompt, shaded by the attention of the query row under the pointer.
  const text = el("div", { class: "attn-text", "aria-label": "The prompt shaded by attention" });
  const spans = pieces.map((p, i) => el("span", { class: "tt" }, tokLabel(p)));
  text.append(...spans);
  const shade = (row) => {
    const q = row ?? S.token;
    spans.forEach((s, u) => {
      const v = probs ? m[q * S2 + u] : u <= q ? 1 : 0;
      s.style.background = u > q ? "transparent" : `rgba(${palette().seq.join(",")},${probs ? Math.min(1, v * 1.2) : 0.12})`;
      s.classList.toggle("future", u > q);
      s.classList.toggle("query", u === q);
      s.title = u > q ? "masked: after the query" : probs ? `weight ${fmt(v)}` : "";
    });
  };
  if (probs) {
    const sw = el("input", { type: "checkbox", id: "scale-toggle", checked: S.scale });
    sw.addEventListener("change", () => { S.scale = sw.checked; rerender(); });
    const a = peak(attnHeadGet(c, h, true, true), T, S2),
      b = peak(attnHeadGet(c, h, true, false), T, S2);
    box.append(
      el("div", { class: "toggle-row" },
        el("label", { class: "check" }, sw, ` divide the scores by √${d.hd} = ${fmt(Math.sqrt(d.hd))}`),
        el("span", { class: "muted small" }, `average largest weight per row: ${fmt(a)} with the scale, ${fmt(b)} without (computed here from the traced scores). Without it dot products grow with the head size, softmax saturates on one token and its gradients vanish.`),
      ),
    );
  }
  box.append(el("p", { class: "muted small" }, `Query token ${S.token} “${tokLabel(pieces[S.token])}”, head ${h}: the prompt shaded by ${probs ? "its attention weights" : "what it may see"}.`), text);
  shade(null);
  box.append(
    heatmap({
      rows: T, cols: S2, get: (r, k) => m[r * S2 + k], rowLabels: rowLabels(), colLabels: pieces.map(tokLabel), kind: probs ? "seq" : "div", lim: probs ? 1 : undefined,
      masked: (r, k) => k > r, mark: S.token, width: Math.min(viewWidth(), 150 + Math.max(300, T * 22)),
      hover: (r, k, v) => `query <b>${esc(tokLabel(pieces[r]))}</b> (${r}) → key <b>${esc(tokLabel(pieces[k]))}</b> (${k})<br>${k > r ? "masked (−∞ before softmax)" : `${probs ? "weight" : "score"} ${fmt(v)}`}`,
      click: (r) => goto(S.idx, { token: r }), onrow: (r) => shade(r),
      legend: `head ${h}, rows: queries, columns: keys; hatched: masked`,
    }),
  );
  // All heads side by side, coloured by their KV group.
  const per = d.H / d.KVH;
  const multi = el("div", { class: "heads" });
  const small = Math.max(60, Math.min(140, Math.floor((viewWidth() - 20) / Math.min(Hn, 6)) - 12));
  for (let hh = 0; hh < Hn; hh++) {
    const mm = attnHeadGet(c, hh, probs, S.scale);
    const hm = heatmap({ rows: T, cols: S2, get: (r, k) => mm[r * S2 + k], kind: probs ? "seq" : "div", lim: probs ? 1 : undefined, masked: (r, k) => k > r, width: small, rowH: Math.max(2, Math.floor(small / T)), hover: (r, k, v) => `head ${hh}: ${esc(tokLabel(pieces[r]))} → ${esc(tokLabel(pieces[k]))}: ${k > r ? "masked" : fmt(v)}`, click: () => goto(S.idx, { head: hh }) });
    hm.querySelector(".legend").remove();
    multi.append(el("figure", { class: `head g${Math.floor(hh / per) % 6} ${hh === h ? "sel" : ""}` }, hm, el("figcaption", {}, `head ${hh} · kv ${Math.floor(hh / per)}`)));
  }
  box.append(el("h3", {}, `All ${Hn} heads of layer ${c.entry.layer}`), multi);
  // Grouped-query attention.
  const gqa = el("div", { class: "gqa" });
  for (let g = 0; g < d.KVH; g++) {
    const qs = [];
    for (let hh = g * per; hh < (g + 1) * per; hh++) qs.push(el("span", { class: `qh g${g % 6}` }, `q${hh}`));
    gqa.append(el("div", { class: `kvgroup g${g % 6}` }, el("div", { class: "qs" }, qs), el("div", { class: "kvh" }, `k${g} v${g}`)));
  }
  const perTok = 2 * d.NL * d.KVH * d.hd * 4,
    mha = 2 * d.NL * d.H * d.hd * 4;
  box.append(
    el("h3", {}, "Grouped-query attention"),
    gqa,
    el("p", { class: "muted small" }, `${d.H} query heads share ${d.KVH} key/value head${d.KVH > 1 ? "s" : ""} (${per} per group). The KV cache holds ${bytesText(perTok)} per token instead of ${bytesText(mha)} with one KV head per query head: ${per}× less.`),
  );
  const row = Array.from(m.subarray(S.token * S2, (S.token + 1) * S2));
  numbersFor(row.map((v, k) => (k > S.token && !probs ? -Infinity : v)), `head ${h}, query token ${S.token}`);
  return { shape: [T, S2], data: m };
}

// RoPE in this page: rotate (a, b) pairs (i, i + hd/2) of v by pos·freq[i],
// scaled by the attention factor, as the model's tables do.
function rope(v, off, hd, pos, freqs, af) {
  const half = hd / 2;
  const out = new Float64Array(hd);
  for (let i = 0; i < half; i++) {
    const a = v[off + i],
      b = v[off + i + half];
    const c = Math.cos(pos * freqs[i]) * af,
      s = Math.sin(pos * freqs[i]) * af;
    out[i] = a * c - b * s;
    out[i + half] = b * c + a * s;
  }
  return out;
}

function dot(a, b) {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function lineChart(series, { w, h = 160, logY = false, xLabel = "", yLabel = "", xTicks = null }) {
  const pal = palette();
  const [cv, g] = canvas(w, h, "chart");
  const pad = { l: 44, r: 8, t: 8, b: 26 };
  const ys = series.flatMap((s) => s.y.map((v) => (logY ? Math.log10(v) : v))).filter(Number.isFinite);
  const xs = series.flatMap((s) => s.x);
  const [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const X = (x) => pad.l + ((x - x0) / (x1 - x0 || 1)) * (w - pad.l - pad.r);
  const Y = (y) => h - pad.b - ((y - y0) / (y1 - y0 || 1)) * (h - pad.t - pad.b);
  g.strokeStyle = pal.line;
  g.strokeRect(pad.l, pad.t, w - pad.l - pad.r, h - pad.t - pad.b);
  g.fillStyle = pal.muted;
  g.font = "10px system-ui, sans-serif";
  g.fillText(logY ? `1e${y1.toFixed(1)}` : fmt(y1), 2, pad.t + 8);
  g.fillText(logY ? `1e${y0.toFixed(1)}` : fmt(y0), 2, h - pad.b);
  if (xTicks) {
    const every = Math.max(1, Math.ceil((xTicks.length * 46) / (w - pad.l - pad.r)));
    g.textAlign = "center";
    xTicks.forEach((tk, i) => i % every === 0 && g.fillText(tk, X(i), h - 10));
    g.textAlign = "start";
  } else g.fillText(xLabel, pad.l, h - 8);
  g.fillText(yLabel, pad.l + 4, pad.t + 12);
  for (const s of series) {
    g.strokeStyle = s.color;
    g.lineWidth = s.width || 1.5;
    g.setLineDash(s.dash || []);
    g.beginPath();
    s.x.forEach((x, i) => {
      const y = logY ? Math.log10(s.y[i]) : s.y[i];
      i ? g.lineTo(X(x), Y(y)) : g.moveTo(X(x), Y(y));
    });
    g.stroke();
    if (s.dots) {
      g.fillStyle = s.color;
      s.x.forEach((x, i) => {
        g.beginPath();
        g.arc(X(x), Y(logY ? Math.log10(s.y[i]) : s.y[i]), 2.5, 0, 7);
        g.fill();
      });
    }
  }
  g.setLineDash([]);
  const key = el("div", { class: "chart-key" }, series.filter((s) => s.name).map((s) => el("span", {}, el("i", { style: `background:${s.color}` }), s.name)));
  return el("div", { class: "chart" }, cv, key);
}

function viewRope(c) {
  const d = c.d;
  const l = c.entry.layer;
  const [qPreName, kPreName] = c.entry.def.needs(l);
  const qPre = c.extra[qPreName],
    kPre = c.extra[kPreName];
  const { freqs, attentionFactor: af } = S.walk.rope;
  const hd = d.hd,
    half = hd / 2,
    h = S.head,
    g = Math.floor(h / (d.H / d.KVH));
  const t = S.token;
  const s = Math.min(S.ropeKey, d.T - 1);
  const qOff = (t * d.H + h) * hd,
    kOff = (s * d.KVH + g) * hd;
  const m = S.ropeM ?? t,
    n = S.ropeN ?? s;
  const box = c.box;
  // The check: this page's rotation of the traced q_proj equals the model's q.
  const mine = rope(qPre, qOff, hd, t, freqs, af);
  let err = 0,
    mag = 0;
  for (let i = 0; i < hd; i++) {
    err = Math.max(err, Math.abs(mine[i] - c.data[qOff + i]));
    mag = Math.max(mag, Math.abs(c.data[qOff + i]));
  }
  S.ropeCheck = { maxAbsDiff: err, maxAbs: mag };
  box.append(el("p", { class: "check-line" }, `Check: rotating ${qPreName.split(".").pop()} of token ${t} by its position here gives the model's q to within ${err.toExponential(1)} (values up to ${fmt(mag)}).`));

  // Sliders.
  const slider = (label, v, set) => {
    const inp = el("input", { type: "range", min: 0, max: 256, value: v, "aria-label": label });
    inp.addEventListener("input", () => { set(Number(inp.value)); rerender(); });
    return el("label", { class: "ctl wide" }, el("span", {}, `${label}: ${v}`), inp);
  };
  const keySel = select("Key token", s, d.T, (v) => { S.ropeKey = v; S.ropeN = null; rerender(); }, (i) => `${i} ${tokLabel(S.walk.pieces[i])}`);
  const qm = rope(qPre, qOff, hd, m, freqs, af),
    kn = rope(kPre, kOff, hd, n, freqs, af);
  const score = dot(qm, kn) / Math.sqrt(hd);
  box.append(
    el("div", { class: "rope-controls" }, keySel, slider("q position m", m, (v) => (S.ropeM = v)), slider("k position n", n, (v) => (S.ropeN = v)),
      el("button", { type: "button", class: "chip", onclick: () => { S.ropeM = m + 1; S.ropeN = n + 1; rerender(); } }, "move both +1"),
      el("button", { type: "button", class: "chip", onclick: () => { S.ropeM = null; S.ropeN = null; rerender(); } }, "reset")),
    el("p", { class: "score-line" }, `score(q at m = ${m}, k at n = ${n}) = q·k/√${hd} = `, el("b", { id: "rope-score" }, fmt(score)), `   (m − n = ${m - n}: move both and it stays the same)`),
  );
  // The pairs as turning 2-D vectors.
  const per = Math.max(4, Math.min(16, Math.floor(viewWidth() / 64)));
  const cell = Math.floor(Math.min(72, viewWidth() / per));
  const rows = Math.ceil(half / per);
  const [cv, gx] = canvas(per * cell, rows * (cell + 14), "dials");
  const pal = palette();
  for (let i = 0; i < half; i++) {
    const cx = (i % per) * cell + cell / 2,
      cy = Math.floor(i / per) * (cell + 14) + cell / 2;
    const r = cell / 2 - 4;
    const len = Math.max(1e-9, Math.hypot(qPre[qOff + i], qPre[qOff + i + half]), Math.hypot(kPre[kOff + i], kPre[kOff + i + half]));
    gx.strokeStyle = pal.line;
    gx.beginPath();
    gx.arc(cx, cy, r, 0, 7);
    gx.stroke();
    const arrow = (a, b, col, wdt) => {
      gx.strokeStyle = col;
      gx.lineWidth = wdt;
      gx.beginPath();
      gx.moveTo(cx, cy);
      gx.lineTo(cx + (a / len) * r, cy - (b / len) * r);
      gx.stroke();
    };
    arrow(qPre[qOff + i], qPre[qOff + i + half], pal.faint, 1);
    arrow(kn[i] / af, kn[i + half] / af, pal.k, 2);
    arrow(qm[i] / af, qm[i + half] / af, pal.q, 2);
    gx.fillStyle = pal.muted;
    gx.font = "9px system-ui, sans-serif";
    gx.fillText(`${i}`, cx - r, cy + r + 11);
  }
  cv.title = "pair i: q (blue) at position m, k (orange) at position n, q unrotated (grey)";
  box.append(el("h3", {}, `The ${half} pairs of head ${h}: q of “${tokLabel(S.walk.pieces[t])}” (blue) and k of “${tokLabel(S.walk.pieces[s])}” (orange)`), cv);

  // Frequencies.
  const W = Math.min(viewWidth(), 640);
  const idx = freqs.map((_, i) => i);
  box.append(
    el("h3", {}, "The frequency of every pair"),
    lineChart([{ x: idx, y: freqs, color: pal.q, dots: true, name: "θᵢ (radians per position)" }], { w: W, h: 140, logY: true, xLabel: "pair i" }),
    el("p", { class: "muted small" }, `Pair 0 turns ${fmt(freqs[0])} rad per position (a full turn every ${fmt((2 * Math.PI) / freqs[0])} positions); pair ${half - 1} turns ${fmt(freqs[half - 1])} (a turn every ${fmt((2 * Math.PI) / freqs[half - 1])} positions). Fast pairs tell neighbours apart, slow pairs keep long-range order.`),
  );

  // Relative position: the score over a grid of (m, n).
  const G = 24;
  const qs = [],
    ks = [];
  for (let p = 0; p < G; p++) {
    qs.push(rope(qPre, qOff, hd, p, freqs, af));
    ks.push(rope(kPre, kOff, hd, p, freqs, af));
  }
  const grid = new Float64Array(G * G);
  for (let a = 0; a < G; a++) for (let b = 0; b < G; b++) grid[a * G + b] = dot(qs[a], ks[b]) / Math.sqrt(hd);
  let spread = 0,
    gmax = 0,
    across = 0;
  for (let dd = -(G - 1); dd < G; dd++) {
    let lo = Infinity,
      hi = -Infinity;
    for (let a = 0; a < G; a++) {
      const b = a - dd;
      if (b < 0 || b >= G) continue;
      lo = Math.min(lo, grid[a * G + b]);
      hi = Math.max(hi, grid[a * G + b]);
    }
    spread = Math.max(spread, hi - lo);
  }
  for (const v of grid) gmax = Math.max(gmax, Math.abs(v));
  for (let b = 1; b < G; b++) across = Math.max(across, Math.abs(grid[b] - grid[0]));
  S.ropeGrid = { size: G, grid: Array.from(grid), maxDiagSpread: spread, maxAbs: gmax, acrossDiagonals: across };
  box.append(
    el("h3", {}, "Relative position, computed"),
    el("p", { class: "muted small" }, `score(m, n) for m, n = 0…${G - 1} with this q and k. Every diagonal (same m − n) holds one value: the largest spread along any diagonal is ${spread.toExponential(1)}, while values differ by up to ${fmt(across)} across diagonals.`),
    heatmap({ rows: G, cols: G, get: (a, b) => grid[a * G + b], rowLabels: Array.from({ length: G }, (_, i) => `m=${i}`), width: Math.min(viewWidth(), 420), rowH: 14, hover: (a, b, v) => `m = ${a}, n = ${b}, m − n = ${a - b}<br>${fmt(v)}`, legend: "rows m (q), columns n (k)" }),
  );

  // YaRN.
  const yarn = S.walk.rope.scaling ? { f: S.walk.rope.freqs, sc: S.walk.rope.scaling, own: true } : { f: S.walk.rope.example.freqs, sc: S.walk.rope.example.scaling, own: false };
  const far = yarn.sc.original_max_position_embeddings * yarn.sc.factor;
  box.append(
    el("h3", {}, "YaRN: stretching the slow pairs for long contexts"),
    lineChart([{ x: idx, y: S.walk.rope.plain, color: pal.q, name: "plain RoPE" }, { x: idx, y: yarn.f, color: pal.k, dash: [5, 3], name: `YaRN ×${yarn.sc.factor}` }], { w: W, h: 140, logY: true, xLabel: "pair i" }),
    el("p", { class: "muted small" }, `${yarn.own ? "This model uses YaRN" : `This model uses plain RoPE; shown: MiniMind's YaRN setting (factor ${yarn.sc.factor} over ${yarn.sc.original_max_position_embeddings} positions) on its head size`}. Pairs that turn fast (more than β_fast = ${yarn.sc.beta_fast} turns over the original context) keep their frequency; pairs that turn less than β_slow = ${yarn.sc.beta_slow} times are slowed by the factor; a ramp blends between. At position ${far}, pair ${half - 1} has turned ${fmt(far * S.walk.rope.plain[half - 1])} rad with plain RoPE and ${fmt(far * yarn.f[half - 1])} rad with YaRN — within the range it saw in training (${fmt(yarn.sc.original_max_position_embeddings * S.walk.rope.plain[half - 1])} rad).`),
  );

  // Layouts.
  const lay = (pairOf) => el("div", { class: "layout-row" }, Array.from({ length: Math.min(hd, 64) }, (_, j) => el("span", { class: "lc", style: `background:hsl(${(pairOf(j) * 360) / half} 70% ${dark() ? 40 : 72}%)`, title: `dimension ${j}: pair ${pairOf(j)}` }, pairOf(j))));
  box.append(
    el("h3", {}, "rotate_half versus interleaved"),
    el("p", { class: "muted small" }, `MiniMind (like Hugging Face's Llama) pairs dimension i with i + ${half} (“rotate_half”): the first and second halves of a head are the two coordinates. The original RoFormer and Meta's Llama code pair neighbours (2i, 2i + 1). Both rotate the same way; the weights of q and k are permuted between the two.${hd > 64 ? " (first 64 dimensions shown)" : ""} Colour and number: the pair of each dimension.`),
    el("div", { class: "layout-label" }, "rotate_half (this model)"), lay((j) => j % half),
    el("div", { class: "layout-label" }, "interleaved"), lay((j) => Math.floor(j / 2)),
  );
  numbersFor(Array.from(c.data.subarray(qOff, qOff + hd)), `q of token ${t}, head ${h}, after RoPE`);
  return { shape: [hd], data: c.data.subarray(qOff, qOff + hd) };
}

function viewRouting(c) {
  const d = c.d;
  const [T, k] = c.shape;
  const w = c.extra[L(c.entry.layer, "router_weights")];
  const box = c.box;
  const table = el("table", { class: "routing" });
  table.append(el("tr", {}, el("th", {}, "token"), Array.from({ length: k }, (_, j) => el("th", {}, `choice ${j + 1}`))));
  const perExpert = Array.from({ length: d.E }, () => []);
  for (let t = 0; t < T; t++) {
    const tr = el("tr", { class: t === S.token ? "sel" : "" }, el("td", { class: "mono" }, `${t} ${tokLabel(S.walk.pieces[t])}`));
    for (let j = 0; j < k; j++) {
      const e = c.data[t * k + j];
      perExpert[e].push([t, w[t * k + j]]);
      tr.append(el("td", {}, el("span", { class: `expert e${e % 8}` }, `expert ${e}`), ` ${fmt(w[t * k + j])}`));
    }
    table.append(tr);
  }
  box.append(table, el("h3", {}, "Which tokens each expert got"));
  const ex = el("div", { class: "experts" });
  perExpert.forEach((list, e) => {
    ex.append(el("div", { class: "expert-col" }, el("div", { class: `expert e${e % 8}` }, `expert ${e} · ${list.length} token${list.length === 1 ? "" : "s"}`), el("div", { class: "expert-toks" }, list.map(([t, wt]) => el("span", { class: "tok small", title: `weight ${fmt(wt)}` }, tokLabel(S.walk.pieces[t]))))));
  });
  box.append(ex);
  numbersFor(Array.from(c.data), "chosen experts, token by token");
  return { shape: c.shape, data: c.data };
}

async function viewTop(c, isProb, fixedRow) {
  const [rows, V] = c.shape;
  const r = fixedRow ?? S.token;
  const row = c.data.subarray(r * V, (r + 1) * V);
  const order = topIds(row, 15);
  const ps = await pieces(order);
  const items = order.map((id, i) => ({ label: `${tokLabel(ps[i])}`, value: row[id], text: isProb ? `${(100 * row[id]).toFixed(2)}%` : fmt(row[id]), title: `id ${id}`, cls: i === 0 ? "best" : "" }));
  const where = fixedRow === undefined ? `after token ${r} “${tokLabel(S.walk.pieces[r])}”` : `after “${tokLabel(S.walk.nextPiece)}”`;
  c.box.append(el("h3", {}, `The 15 ${isProb ? "most likely" : "highest-scoring"} next tokens ${where}`), bars(items, isProb ? { lim: 1 } : {}));
  if (fixedRow === undefined && r === rows - 1) c.box.append(el("p", { class: "muted small" }, `The greedy choice here is “${tokLabel(S.walk.nextPiece)}” (id ${S.walk.next}).`));
  numbersFor(Array.from(row.subarray(0, 512)), `${isProb ? "probabilities" : "logits"} ${where}, ids 0…`);
  return { shape: [V], data: row };
}

// topIds returns the ids of the n largest values, best first (ties: lower id).
function topIds(row, n) {
  const best = [];
  for (let i = 0; i < row.length; i++) {
    const v = row[i];
    if (best.length === n && v <= row[best[n - 1]]) continue;
    let j = best.length < n ? best.length : n - 1;
    while (j > 0 && row[best[j - 1]] < v) {
      if (j < n) best[j] = best[j - 1];
      j--;
    }
    best[j] = i;
    if (best.length > n) best.length = n;
  }
  return best;
}

// shapeDist reshapes logits [V] as model.Sampler does: repetition penalty,
// temperature, top-k, softmax, top-p. Returns the kept ids (best first) with
// their probabilities.
function shapeDist(logits, context, o) {
  const l = Float32Array.from(logits);
  if (o.rep > 0 && o.rep !== 1) {
    for (const id of new Set(context)) l[id] = l[id] > 0 ? l[id] / o.rep : l[id] * o.rep;
  }
  const idx = Array.from(l.keys()).sort((a, b) => l[b] - l[a] || a - b);
  if (o.temperature <= 0) return { ids: [idx[0]], p: [1], greedy: idx[0], kept: 1, order: idx, before: () => 0 };
  let n = o.topK > 0 && o.topK < idx.length ? o.topK : idx.length;
  const mx = l[idx[0]] / o.temperature;
  // The distribution before top-k and top-p cut it (shown for the cut tokens).
  let all = 0;
  for (let i = 0; i < idx.length; i++) all += Math.exp(l[idx[i]] / o.temperature - mx);
  const before = (id) => Math.exp(l[id] / o.temperature - mx) / all;
  let p = [],
    sum = 0;
  for (let i = 0; i < n; i++) {
    const e = Math.exp(l[idx[i]] / o.temperature - mx);
    p.push(e);
    sum += e;
  }
  if (o.topP > 0 && o.topP < 1) {
    let cum = 0;
    for (let i = 0; i < n; i++) {
      cum += p[i] / sum;
      if (cum >= o.topP) {
        n = i + 1;
        break;
      }
    }
    p = p.slice(0, n);
    sum = p.reduce((a, b) => a + b, 0);
  }
  return { ids: idx.slice(0, n), p: p.map((v) => v / sum), greedy: idx[0], kept: n, order: idx, before };
}

async function viewSampling(c) {
  const d = c.d;
  const logits = c.extra.logits.subarray((d.T - 1) * d.V, d.T * d.V);
  const o = S.sampling;
  const dist = shapeDist(logits, S.walk.ids, o);
  // The draw: the first kept token whose cumulative probability passes u.
  let drawn = dist.ids[dist.ids.length - 1],
    cum = 0;
  for (let i = 0; i < dist.ids.length; i++) {
    cum += dist.p[i];
    if (o.u < cum) {
      drawn = dist.ids[i];
      break;
    }
  }
  // The 15 best tokens after the penalty; those the settings cut show 0.
  const show = dist.order.slice(0, 15);
  const pOf = new Map(dist.ids.map((id, i) => [id, dist.p[i]]));
  const ps = await pieces([...show, drawn, dist.greedy]);
  S.samplingView = { kept: dist.kept, drawn, greedy: dist.greedy, top: show.map((id) => ({ id, p: pOf.get(id) || 0 })) };
  const box = c.box;
  const ctl = (key, label, min, max, stepv) => {
    const inp = el("input", { type: "range", min, max, step: stepv, value: o[key], id: `s-${key}`, "aria-label": label });
    const out = el("output", {}, key === "topK" && !o[key] ? "off" : o[key]);
    inp.addEventListener("input", () => { o[key] = Number(inp.value); rerender(); });
    return el("label", { class: "ctl wide" }, el("span", {}, label, " ", out), inp);
  };
  box.append(
    el("div", { class: "sampling-controls" }, ctl("temperature", "temperature", 0, 2, 0.05), ctl("topK", "top-k", 0, 50, 1), ctl("topP", "top-p", 0, 1, 0.01), ctl("rep", "repetition penalty", 1, 2, 0.05)),
    el("div", { class: "draw-row" },
      el("button", { type: "button", class: "chip", id: "draw", onclick: () => { o.u = Math.random(); rerender(); } }, "Draw"),
      el("span", {}, `u = ${o.u.toFixed(3)} → `, el("b", { class: "drawn" }, `“${tokLabel(ps[show.length])}”`), ` (id ${drawn}) · greedy: “${tokLabel(ps[show.length + 1])}” · ${dist.kept} token${dist.kept === 1 ? "" : "s"} can be drawn`)),
  );
  const items = show.map((id, i) => {
    const p = pOf.get(id);
    const why = p !== undefined ? "" : o.temperature <= 0 ? "greedy" : o.topK > 0 && i >= o.topK ? "top-k" : "top-p";
    const was = dist.before(id);
    return { label: tokLabel(ps[i]), value: p ?? was, text: p !== undefined ? `${(100 * p).toFixed(2)}%` : why === "greedy" ? "—" : `✂ ${(100 * was).toPrecision(2)}%`, title: p !== undefined ? `id ${id}, logit ${fmt(logits[id])}` : `id ${id}, logit ${fmt(logits[id])}: ${(100 * was).toFixed(2)}% before ${why} cut it`, cls: id === drawn ? "best" : p === undefined ? "cut" : "" };
  });
  box.append(el("h3", {}, `The 15 best tokens and the distribution the draw uses (${o.temperature <= 0 ? "temperature 0: greedy" : "after the settings"})`), bars(items, { lim: 1 }), el("p", { class: "muted small" }, "Faded (✂): tokens top-k or top-p cut, with the probability they had before the cut; point at one for why."));
  numbersFor(show.map((id) => pOf.get(id) || 0), "probabilities of the 15 best tokens after the settings");
  const probs = c.data.subarray((d.T - 1) * d.V, d.T * d.V);
  return { shape: [d.V], data: probs };
}

function viewCache(c) {
  const d = c.d;
  const [S2, KVH, hd] = c.shape;
  const g = Math.floor(S.head / (d.H / d.KVH));
  const labels = [...rowLabels(), `${d.T} ${tokLabel(S.walk.nextPiece)} (new)`];
  const vname = c.entry.def.needs()[0];
  const V = c.extra[vname];
  for (const [what, data] of [["K", c.data], ["V", V]]) {
    c.box.append(
      el("h3", {}, `${what} cache of layer ${S.layer}, kv head ${g}: ${S2} rows`),
      heatmap({ rows: S2, cols: hd, get: (r, k) => data[(r * KVH + g) * hd + k], rowLabels: labels, mark: S2 - 1, hover: (r, k, v) => `position ${r} “${esc(tokLabel(r < d.T ? S.walk.pieces[r] : S.walk.nextPiece))}” · dim ${k}<br>${fmt(v)}${r === S2 - 1 ? "<br><b>new this step</b>" : "<br>reused from the cache"}`, legend: `${S2} positions × ${hd}` }),
    );
  }
  const drawn = new Float32Array(S2 * hd);
  for (let r = 0; r < S2; r++) for (let k = 0; k < hd; k++) drawn[r * hd + k] = c.data[(r * KVH + g) * hd + k];
  numbersFor(Array.from(drawn.subarray((S2 - 1) * hd)), "the new key row");
  return { shape: [S2, hd], data: drawn };
}

function viewDecodeAttn(c) {
  const [Hn, , S2] = c.shape;
  const labels = [...S.walk.pieces, S.walk.nextPiece].map(tokLabel);
  c.box.append(
    heatmap({ rows: Hn, cols: S2, get: (r, k) => c.data[r * S2 + k], rowLabels: Array.from({ length: Hn }, (_, i) => `head ${i}`), colLabels: labels, kind: "seq", lim: 1, mark: S.head, width: Math.min(viewWidth(), 150 + Math.max(300, S2 * 22)), hover: (r, k, v) => `head ${r} → “${esc(labels[k])}” (${k})<br>weight ${fmt(v)}`, click: (r) => goto(S.idx, { head: r }), legend: "rows: heads of the new token; columns: cached positions" }),
  );
  numbersFor(Array.from(c.data.subarray(S.head * S2, (S.head + 1) * S2)), `head ${S.head}`);
  return { shape: [Hn, S2], data: c.data };
}

function viewResidual(c) {
  const d = c.d;
  const T = d.T,
    D = d.D;
  const pts = [c.extra.embed];
  const labels = ["embed"];
  for (let l = 0; l < d.NL; l++) {
    pts.push(c.extra[L(l, "resid_mid")], c.extra[L(l, "resid_out")]);
    labels.push(`${l}+attn`, `${l}+ffn`);
  }
  const P = pts.length;
  const norms = new Float32Array(P * T); // [2L+1, T]
  for (let p = 0; p < P; p++) for (let t = 0; t < T; t++) norms[p * T + t] = norm(pts[p], t * D, D);
  const pal = palette();
  const xs = labels.map((_, i) => i);
  const series = [];
  for (let t = 0; t < T; t++) series.push({ x: xs, y: xs.map((p) => norms[p * T + t]), color: t === S.token ? pal.q : pal.faint, width: t === S.token ? 2.5 : 1 });
  series.push(series.splice(S.token, 1)[0]); // the chosen token on top
  series[series.length - 1].name = `token ${S.token} “${tokLabel(S.walk.pieces[S.token])}”`;
  series[0].name = series.length > 1 ? "other tokens" : series[0].name;
  c.box.append(el("h3", {}, "‖x‖ of every token after each add"), lineChart(series, { w: Math.min(viewWidth(), 720), h: 200, xTicks: labels }));
  const items = [];
  for (let l = 0; l < d.NL; l++) {
    const a = norm(c.extra[L(l, "attn_out")], S.token * D, D),
      f = norm(c.extra[L(l, "ffn_out")], S.token * D, D);
    items.push({ label: `layer ${l} attention`, value: a, cls: "attn" }, { label: `layer ${l} ${d.moe ? "experts" : "SwiGLU"}`, value: f, cls: "ffn" });
  }
  c.box.append(el("h3", {}, `What each block added to token ${S.token} “${tokLabel(S.walk.pieces[S.token])}” (norm)`), bars(items));
  numbersFor(Array.from(norms.subarray(0, P * T)), `‖x‖: ${P} points × ${T} tokens`);
  return { shape: [P, T], data: norms, name: "resid_norms" };
}

// ---- outline and timeline ----------------------------------------------------

function buildOutline() {
  const nav = $("outline");
  nav.replaceChildren();
  let group = null,
    layer = undefined,
    ol = null;
  S.list.forEach((e, i) => {
    const gkey = e.layer !== null ? `layer ${e.layer}` : GROUPS[e.def.group];
    if (gkey !== group) {
      group = gkey;
      const sec = el("section", { class: "ol-group", "data-layer": e.layer ?? "" }, el("h4", {}, e.layer !== null ? `Layer ${e.layer}` : GROUPS[e.def.group]));
      ol = el("ol", {});
      sec.append(ol);
      nav.append(sec);
    }
    const a = el("a", { href: "#", "data-i": i, class: `ol-step g-${e.def.group}` }, e.def.title);
    a.addEventListener("click", (ev) => {
      ev.preventDefault();
      goto(i);
      if (matchMedia("(max-width: 760px)").matches) toggleOutline(false);
    });
    ol.append(el("li", {}, a));
  });
}

const GROUP_COLOURS = { tok: "#0ea5e9", emb: "#14b8a6", attn: "#6366f1", ffn: "#f59e0b", out: "#ef4444", gen: "#10b981", res: "#a855f7" };

function drawStrip() {
  const c = $("strip");
  const w = c.clientWidth || 300,
    h = 10;
  const r = devicePixelRatio || 1;
  c.width = w * r;
  c.height = h * r;
  const g = c.getContext("2d");
  g.scale(r, r);
  const n = S.list.length;
  S.list.forEach((e, i) => {
    g.fillStyle = GROUP_COLOURS[e.def.group];
    g.globalAlpha = e.layer !== null && e.layer % 2 ? 0.55 : 0.9;
    g.fillRect((i / n) * w, 0, Math.ceil(w / n), h);
  });
  g.globalAlpha = 1;
}

function toggleOutline(open) {
  const o = $("outline");
  const show = open ?? !o.classList.contains("open");
  o.classList.toggle("open", show);
  $("outline-toggle").setAttribute("aria-expanded", String(show));
}

// ---- navigation --------------------------------------------------------------

function resolve(stepArg, opts) {
  if (typeof stepArg === "number") return Math.max(0, Math.min(S.list.length - 1, stepArg));
  const layer = opts.layer ?? S.layer;
  let i = S.list.findIndex((e) => e.def.id === stepArg && (e.layer === null || e.layer === layer));
  if (i < 0) i = S.list.findIndex((e) => e.def.id === stepArg);
  return i < 0 ? S.idx : i;
}

async function goto(stepArg, opts = {}) {
  if (!S.walk) return;
  const d = dims();
  const i = resolve(stepArg, opts);
  const e = S.list[i];
  if (opts.layer !== undefined) S.layer = Math.max(0, Math.min(d.NL - 1, opts.layer));
  if (e.layer !== null) S.layer = e.layer;
  if (opts.head !== undefined) S.head = Math.max(0, Math.min(d.H - 1, opts.head));
  if (opts.token !== undefined) S.token = Math.max(0, Math.min(d.T - 1, opts.token));
  if (i !== S.idx) {
    S.ropeM = S.ropeN = null;
    S.merge = -1;
  }
  S.idx = i;
  await render();
}

const rerender = () => render();

async function render() {
  const t0 = performance.now();
  const seq = ++S.renderSeq;
  const e = S.list[S.idx];
  const d = dims();
  const name = tensorName(e);
  const needs = e.def.needs ? e.def.needs(e.layer ?? S.layer) : [];
  const [data, ...extras] = await Promise.all([name === "resid_norms" ? Promise.resolve(null) : step(name), ...needs.map(step)]);
  if (seq !== S.renderSeq) return;
  const tFetch = performance.now();
  const extra = Object.fromEntries(needs.map((n, i) => [n, extras[i]]));
  const shape = name === "resid_norms" ? [2 * d.NL + 1, d.T] : shapeOf(name);
  $("step-crumb").textContent = e.layer !== null ? `Layer ${e.layer} · ${GROUPS[e.def.group]}` : GROUPS[e.def.group];
  $("step-title").textContent = e.def.title;
  $("step-shape").textContent = `${name} [${shape.join(", ")}]`;
  $("step-text").innerHTML = e.def.text(d);
  $("step-formula").innerHTML = e.def.formula(d);
  renderControls(e);
  const box = el("div", { class: "view-inner" });
  const c = { entry: { ...e, layer: e.layer ?? S.layer }, name, data, shape, d, extra, box };
  const view = $("view");
  const stage = $("stage");
  const scroll = stage.scrollTop; // kept across the redraw (the view is empty while it is drawn)
  view.style.minHeight = `${view.offsetHeight}px`;
  view.replaceChildren(box);
  const drawn = await e.def.view(c);
  if (seq !== S.renderSeq) return;
  view.style.minHeight = "";
  stage.scrollTop = scroll;
  const tView = performance.now();
  const tensor = name === "resid_norms" ? { name, shape: drawn.shape, data: drawn.data } : { name, shape, data };
  S.current = { entry: e, name, tensor, drawn };
  // Outline, timeline, URL.
  for (const a of document.querySelectorAll(".ol-step.active")) a.classList.remove("active");
  const a = document.querySelector(`.ol-step[data-i="${S.idx}"]`);
  if (a) {
    a.classList.add("active");
    a.scrollIntoView({ block: "nearest" });
  }
  $("scrub").value = S.idx;
  $("pos").textContent = `${S.idx + 1} / ${S.list.length}`;
  $("prev").disabled = S.idx === 0;
  $("next").disabled = S.idx === S.list.length - 1;
  writeURL();
  S.lastStepMs = performance.now() - t0;
  S.lastPhases = { fetchMs: tFetch - t0, viewMs: tView - tFetch, restMs: performance.now() - tView };
  document.body.dataset.step = e.def.id;
  // Prefetch the neighbours so that the next step change is instant.
  for (const j of [S.idx + 1, S.idx - 1]) {
    const n = S.list[j];
    if (!n) continue;
    const nm = tensorName(n);
    if (nm !== "resid_norms") step(nm).catch(() => {});
    if (n.def.needs) for (const x of n.def.needs(n.layer ?? S.layer)) step(x).catch(() => {});
  }
}

// viewURL is the deep link of what is on screen.
function viewURL() {
  const p = new URLSearchParams(location.search);
  p.set("prompt", S.prompt);
  p.set("chat", S.chat ? "1" : "0");
  p.set("step", S.list[S.idx].def.id);
  p.set("layer", S.layer);
  p.set("head", S.head);
  p.set("token", S.token);
  return `${location.origin}${location.pathname}?${p}`;
}

// writeURL puts the deep link in the address bar, at most every 200 ms (the
// browser limits how often a page may change its URL).
let urlTimer = 0;
function writeURL() {
  clearTimeout(urlTimer);
  urlTimer = setTimeout(() => history.replaceState(null, "", viewURL()), 200);
}

// ---- running a prompt ----------------------------------------------------------

async function run(prompt, chat, view = {}) {
  $("run").disabled = true;
  document.body.dataset.state = "tracing";
  try {
    const t0 = performance.now();
    const w = await S.mm.walk(prompt, { chat });
    w.text = chat ? await S.mm.applyChatTemplate([{ role: "user", content: prompt }]) : prompt;
    S.walk = w;
    S.walkMs = performance.now() - t0;
    S.prompt = prompt;
    S.chat = chat;
    S.shapes = new Map(w.steps.map((s) => [s.name, s.shape]));
    S.cache = new Map();
    S.list = buildList();
    S.idx = 0;
    const d = dims();
    S.token = d.T - 1;
    S.layer = 0;
    S.head = 0;
    S.word = -1;
    buildOutline();
    $("scrub").max = S.list.length - 1;
    drawStrip();
    hideBanner();
    await goto(view.step ?? 0, { layer: view.layer, head: view.head, token: view.token ?? d.T - 1 });
    document.body.dataset.state = "ready";
  } catch (e) {
    showBanner("The trace failed", e.message || String(e));
    document.body.dataset.state = S.walk ? "ready" : "error";
  } finally {
    $("run").disabled = false;
  }
}

function showBanner(title, text) {
  $("banner-title").textContent = title;
  $("banner-text").textContent = text;
  $("banner").hidden = false;
}

function hideBanner() {
  $("banner").hidden = true;
}

// ---- start -------------------------------------------------------------------

function numParam(k) {
  return params.has(k) && params.get(k) !== "" && !Number.isNaN(Number(params.get(k))) ? Number(params.get(k)) : undefined;
}

// loadModel loads a model (undefined: the site's default) and shows it.
async function loadModel(model) {
  $("loading").hidden = false;
  $("loading-text").textContent = "Starting…";
  if (S.mm) S.mm.dispose();
  S.mm = null;
  try {
    S.mm = await MiniMind.load({
      engine: params.get("engine") || "auto",
      model,
      onProgress: (p) => {
        if (p.message) $("loading-text").textContent = p.message;
        if (p.phase === "download" && p.overallTotal) $("loading-bar").style.width = `${(100 * p.overallLoaded) / p.overallTotal}%`;
      },
    });
  } catch (e) {
    $("loading").hidden = true;
    document.body.dataset.state = "error";
    showBanner("The model could not be loaded", e.message || String(e));
    throw e;
  }
  $("loading").hidden = true;
  S.info = S.mm.info();
  S.pieceCache = new Map();
  $("model-name").textContent = `${S.info.name} · ${S.info.family} · ${(S.info.params / 1e6).toFixed(2)}M params · ${S.info.layers} layers${S.info.moe ? ` · MoE ${S.info.experts} experts` : ""}`;
  const badge = $("engine");
  badge.textContent = S.mm.engine === "webgpu" ? "WebGPU" : "CPU · wasm";
  badge.hidden = false;
}

async function start() {
  const prompt = params.get("prompt") ?? EXAMPLES[0].prompt;
  const chat = params.has("chat") ? params.get("chat") !== "0" : prompt === EXAMPLES[0].prompt || !params.has("prompt");
  $("prompt").value = prompt;
  $("chat-template").checked = chat;
  for (const ex of EXAMPLES) {
    $("examples").append(el("button", { type: "button", class: "chip", onclick: () => { $("prompt").value = ex.prompt; $("chat-template").checked = ex.chat; run(ex.prompt, ex.chat); } }, ex.prompt, ex.chat ? el("small", {}, " chat") : ""));
  }
  await loadModel(params.get("model") || undefined);
  S.loadMs = performance.now();
  await run(prompt, chat, { step: params.get("step") || 0, layer: numParam("layer"), head: numParam("head"), token: numParam("token") });
  S.firstViewMs = performance.now();
}

function wire() {
  $("prompt-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const p = $("prompt").value.trim();
    if (p) run(p, $("chat-template").checked);
  });
  $("prev").addEventListener("click", () => goto(S.idx - 1));
  $("next").addEventListener("click", () => goto(S.idx + 1));
  $("scrub").addEventListener("input", () => goto(Number($("scrub").value)));
  $("outline-toggle").addEventListener("click", () => toggleOutline());
  $("pick-folder").addEventListener("change", async () => {
    const files = [...$("pick-folder").files];
    $("pick-folder").value = "";
    if (!files.length) return;
    const name = (files[0].webkitRelativePath || files[0].name).split("/")[0];
    try {
      await loadModel({ files, name });
      await run(S.prompt || $("prompt").value, S.chat);
    } catch {}
  });
  $("numbers").addEventListener("toggle", () => $("numbers").open && S.numbersFill && S.numbersFill());
  document.addEventListener("keydown", (ev) => {
    if (ev.target.closest && ev.target.closest("input[type=text], textarea, select") || ev.altKey || ev.ctrlKey || ev.metaKey) return;
    if (!S.walk) return;
    if (ev.key === "ArrowRight" || ev.key === "j") {
      ev.preventDefault();
      goto(S.idx + 1);
    } else if (ev.key === "ArrowLeft" || ev.key === "k") {
      ev.preventDefault();
      goto(S.idx - 1);
    }
  });
  let rt = 0;
  addEventListener("resize", () => {
    clearTimeout(rt);
    rt = setTimeout(() => {
      if (S.walk) {
        drawStrip();
        render();
      }
    }, 150);
  });
  matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => S.walk && (drawStrip(), render()));
}

// ---- the testable surface ------------------------------------------------------

const finite = (a) => Array.from(a, (v) => (Number.isFinite(v) ? v : null));

wire();
const ready = start();
ready.catch(() => {});
window.minimindTutorial = {
  ready,
  goto: (stepArg, opts = {}) => goto(stepArg, opts).then(() => window.minimindTutorial.state()),
  steps: () => S.list.map((e, i) => ({ index: i, id: e.def.id, layer: e.layer, name: tensorName({ ...e, layer: e.layer ?? S.layer }) })),
  state: () => {
    const cur = S.current;
    return {
      model: S.info && S.info.name,
      family: S.info && S.info.family,
      engine: S.mm && S.mm.engine,
      prompt: S.prompt,
      chat: S.chat,
      tokens: S.walk ? { ids: S.walk.ids, pieces: S.walk.pieces } : null,
      next: S.walk ? { id: S.walk.next, piece: S.walk.nextPiece } : null,
      step: cur ? cur.entry.def.id : null,
      stepIndex: S.idx,
      steps: S.list.length,
      layer: S.layer,
      head: S.head,
      token: S.token,
      tensor: cur ? { name: cur.tensor.name, shape: cur.tensor.shape, data: finite(cur.tensor.data) } : null,
      drawn: cur ? { shape: cur.drawn.shape, size: cur.drawn.data.length } : null,
      rope: cur && cur.entry.def.id === "rope" ? { grid: S.ropeGrid, check: S.ropeCheck } : null,
      sampling: cur && cur.entry.def.id === "sample" ? { ...S.sampling, ...S.samplingView } : null,
      timings: { phases: S.lastPhases, traceMs: S.walk && S.walk.traceMs, walkMs: S.walkMs, lastStepMs: S.lastStepMs, firstViewMs: S.firstViewMs, loadMs: S.info && S.info.timings.totalMs },
      url: S.walk ? viewURL() : location.href,
    };
  },
};
