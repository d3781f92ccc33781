# workerd configuration of the MiniMind Worker (see main.go for the build):
# the API Worker answers /v1/*, the exported site (mmserve --export
# worker/site) is served from disk for everything else, as Cloudflare's
# static assets serve it when deployed with wrangler.jsonc.
#   workerd serve worker/workerd.capnp      # http://127.0.0.1:8787/ and /v1/chat/completions
#   workerd serve worker/workerd.capnp --directory-path site=OTHER_DIR
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "front", worker = .frontWorker),
    (name = "minimind", worker = .minimindWorker),
    (name = "site", disk = (path = "site", writable = false)),
  ],
  sockets = [(name = "http", address = "127.0.0.1:8787", http = (), service = "front")],
);

const frontWorker :Workerd.Worker = (
  modules = [(name = "assets.mjs", esModule = embed "assets.mjs")],
  bindings = [
    (name = "API", service = "minimind"),
    (name = "ASSETS", service = "site"),
  ],
  compatibilityDate = "2025-01-01",
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
