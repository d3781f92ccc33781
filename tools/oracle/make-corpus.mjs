// make-corpus.mjs builds a deterministic ~10 MB training corpus from the
// text of Debian packages, for comparing the Go BPE trainer and encoder with
// Hugging Face's. Install the packages first:
//
//   apt-get install -y fortunes fortunes-zh wordnet-base
//   node make-corpus.mjs OUT_DIR
//
// It writes OUT_DIR/corpus.jsonl ({"text": ...} per document: Chinese and
// English fortunes and poems, and WordNet glosses in groups of 20) and
// OUT_DIR/corpus.txt (the same documents, each followed by a newline), which
// is what Hugging Face's Node binding trains on: it reads files line by line.
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const out = process.argv[2];
if (!out) {
  console.error("usage: node make-corpus.mjs OUT_DIR");
  process.exit(2);
}
const docs = [];
const ansi = /\x1b\[[0-9;]*m/g;

function fortunes(path) {
  const text = readFileSync(path, "utf8").replace(ansi, "");
  for (const e of text.split(/\n%\n/)) {
    const s = e.replace(/^%\n/, "").trim();
    if (s) docs.push(s);
  }
}

const fdir = "/usr/share/games/fortunes";
for (const f of ["chinese", "tang300", "song100"]) fortunes(join(fdir, f));
for (const f of readdirSync(fdir).sort()) {
  const p = join(fdir, f);
  if (f.includes(".") || ["chinese", "tang300", "song100"].includes(f) || !statSync(p).isFile()) continue;
  fortunes(p);
}
for (const pos of ["noun", "verb", "adj", "adv"]) {
  const lines = readFileSync(`/usr/share/wordnet/data.${pos}`, "utf8").split("\n");
  let group = [];
  for (const line of lines) {
    if (line.startsWith(" ") || !line.includes(" | ")) continue;
    const fields = line.split(" ");
    const word = fields[4].replace(/_/g, " ");
    group.push(`${word}: ${line.slice(line.indexOf(" | ") + 3).trim()}`);
    if (group.length === 20) {
      docs.push(group.join("\n"));
      group = [];
    }
  }
  if (group.length) docs.push(group.join("\n"));
}

// Interleave the sources deterministically so that any prefix is mixed.
const order = docs.map((_, i) => i).sort((a, b) => ((a * 2654435761) % 1000003) - ((b * 2654435761) % 1000003) || a - b);
// Keep the first 10 MB.
const mixed = [];
let size = 0;
for (const i of order) {
  size += Buffer.byteLength(docs[i]) + 1;
  if (size > 10e6) break;
  mixed.push(docs[i]);
}
mkdirSync(out, { recursive: true });
writeFileSync(join(out, "corpus.jsonl"), mixed.map((t) => JSON.stringify({ text: t })).join("\n") + "\n");
writeFileSync(join(out, "corpus.txt"), mixed.map((t) => t + "\n").join(""));
const bytes = mixed.reduce((n, t) => n + Buffer.byteLength(t) + 1, 0);
console.log(`${mixed.length} documents, ${(bytes / 1e6).toFixed(1)} MB of text`);
