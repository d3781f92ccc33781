#!/usr/bin/env bash
# The CUDA engine's check on a GPU machine (which needs no Go toolchain):
# every kernel against the CPU engine, training steps against the CPU
# engine, determinism, then the benchmark next to PyTorch (eager and
# torch.compile) — about 10 minutes at most, a table printed last.
#
# Build the binary first, on a development machine:
#     go build -tags cuda -o tools/gpucheck/gpucheck ./tools/gpucheck
# then, on the GPU machine, from the repository root:
#     tools/gpucheck/run.sh [extra gpucheck flags]
# Logs and JSON results go to $OUT (default tools/gpucheck/out).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${OUT:-$here/out}
mkdir -p "$out"
bin=$here/gpucheck
py=${PYTHON:-python3}
if [ ! -x "$bin" ]; then
  echo "run.sh: $bin is missing: build it with go build -tags cuda -o tools/gpucheck/gpucheck ./tools/gpucheck" >&2
  exit 2
fi

# cuBLASLt: the engine dlopens libcublasLt.so.13/.12/.11; PyTorch's wheels
# carry one in nvidia/cublas/lib (or torch/lib).
ltdir=$("$py" - <<'PY' 2>/dev/null
import glob, os
dirs = []
try:
    import nvidia.cublas
    dirs += [os.path.join(p, "lib") for p in nvidia.cublas.__path__]
except Exception:
    pass
try:
    import torch
    dirs.append(os.path.join(os.path.dirname(torch.__file__), "lib"))
except Exception:
    pass
for d in dirs:
    if glob.glob(os.path.join(d, "libcublasLt.so.*")):
        print(d)
        break
PY
)
if [ -n "$ltdir" ]; then
  export LD_LIBRARY_PATH="$ltdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
echo "run.sh: cuBLASLt from ${ltdir:-the library search path}; logs in $out"
nvidia-smi > "$out/nvidia-smi.txt" 2>&1 || true

# PyTorch first (its JSON goes into gpucheck's table), each within a budget.
timeout 120 "$py" "$here/torch_bench.py" --mode eager --out "$out/torch_eager.json" 2>&1 | tee "$out/torch_eager.log"
timeout 240 "$py" "$here/torch_bench.py" --mode compile --out "$out/torch_compile.json" 2>&1 | tee "$out/torch_compile.log"

timeout 230 "$bin" -out "$out" -torch "$out/torch_eager.json,$out/torch_compile.json" "$@"
rc=$?
if [ $rc -eq 124 ]; then
  echo "run.sh: gpucheck ran out of time (230 s); partial log in $out/gpucheck.log" >&2
fi
exit $rc
