#!/usr/bin/env bash
# compare.sh measures the Go tokenizer against Hugging Face tokenizers on the
# same ~10 MB corpus in one run: encode speed (one thread, and all cores),
# training time, whether the merges agree, and whether Hugging Face encodes
# with the Go-trained tokenizer exactly as Go does.
#
# Needs: Node with `npm ci` done here, Go, and the Debian packages of
# make-corpus.mjs (apt-get install -y fortunes fortunes-zh wordnet-base).
#
#   tools/oracle/compare.sh [WORK_DIR]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="${1:-$(mktemp -d)}"
fixture="$root/testdata/minimind/minimind2/tokenizer.json"
mkdir -p "$work"
cd "$here"
[ -f "$work/corpus.jsonl" ] || node make-corpus.mjs "$work"
(cd "$root" && go build -o "$work/mmtok" ./cmd/mmtok && go test -c -o "$work/tokenizer.test" ./tokenizer)

echo "== machine"
nproc; grep -m1 'model name' /proc/cpuinfo || true

echo "== encode (minimind2 tokenizer, $(du -h "$work/corpus.jsonl" | cut -f1) corpus), alternating HF and Go, twice"
gobench() { # $1: benchmark name, $2: GOMAXPROCS
  (cd "$root/tokenizer" && MINIMIND_CORPUS="$work/corpus.jsonl" GOMAXPROCS=$2 "$work/tokenizer.test" \
    -test.run XXX -test.bench "^$1\$" -test.benchtime 3x | awk '/^Benchmark/ {print "{\"go\": \"'"$1"'\", \"mb_per_s\": " $(NF-1) "}"}')
}
for round in 1 2; do
  taskset -c 0 node bench.mjs "$fixture" "$work/corpus.jsonl" single
  taskset -c 0 bash -c "$(declare -f gobench); root=$root work=$work gobench BenchmarkEncode 1"
  node bench.mjs "$fixture" "$work/corpus.jsonl" batch
  gobench BenchmarkEncodeBatch "$(nproc)"
done

echo "== train (vocabulary 6400, MiniMind's settings for Go; HF's Node binding only trains with defaults)"
/usr/bin/time -f "hf train wall %es" node train.mjs "$work/corpus.txt" "$work/hf.json"
/usr/bin/time -f "go train wall %es" "$work/mmtok" train --data "$work/corpus.txt" --lines --out "$work/go-minimind" --quiet
/usr/bin/time -f "go train (HF defaults) wall %es" "$work/mmtok" train --data "$work/corpus.txt" --lines --out "$work/go-defaults" \
  --vocab_size 30000 --special_tokens "" --seen_alphabet --quiet
echo "-- merges, MiniMind settings vs the first merges of HF:"
node compare-merges.mjs "$work/hf.json" "$work/go-minimind/tokenizer.json"
echo "-- merges, HF default settings:"
node compare-merges.mjs "$work/hf.json" "$work/go-defaults/tokenizer.json"
echo "-- jsonl training (the product path):"
/usr/bin/time -f "go train jsonl wall %es" "$work/mmtok" train --data "$work/corpus.jsonl" --out "$work/go-jsonl" --quiet
echo "-- HF encoding with the Go-trained tokenizer vs Go:"
"$work/mmtok" encode --tokenizer "$work/go-jsonl" --jsonl < "$work/corpus.jsonl" > "$work/go-ids.jsonl"
node check-encode.mjs "$work/go-jsonl/tokenizer.json" "$work/corpus.jsonl" "$work/go-ids.jsonl"
