# workerd configuration of the MiniMind API Worker (see main.go for the build).
#   workerd serve worker/workerd.capnp      # http://127.0.0.1:8787/v1/chat/completions
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [(name = "minimind", worker = .minimindWorker)],
  sockets = [(name = "http", address = "127.0.0.1:8787", http = (), service = "minimind")],
);

const minimindWorker :Workerd.Worker = (
  modules = [
    (name = "worker.mjs", esModule = embed "build/worker.mjs"),
    (name = "wasm_exec.js", esModule = embed "build/wasm_exec.js"),
    (name = "runtime.mjs", esModule = embed "build/runtime.mjs"),
    (name = "app.wasm", wasm = embed "build/app.wasm"),
  ],
  compatibilityDate = "2025-01-01",
);
