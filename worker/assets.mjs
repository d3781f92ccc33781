// assets.mjs stands in, under workerd, for what Cloudflare's static assets do
// in front of the Worker when it is deployed with wrangler.jsonc's "assets":
// /v1/* goes to the API Worker (package serve, in app.wasm); every other GET
// is a file of the exported site (mmserve --export), "/" and "dir/" meaning
// index.html, with its content type.
const types = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".wasm": "application/wasm",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".txt": "text/plain; charset=utf-8",
};

export default {
  async fetch(req, env) {
    const url = new URL(req.url);
    if (url.pathname === "/v1" || url.pathname.startsWith("/v1/")) {
      return env.API.fetch(req);
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      return new Response("method not allowed\n", {status: 405, headers: {"Allow": "GET, HEAD"}});
    }
    let path = url.pathname;
    if (path.endsWith("/")) {
      path += "index.html";
    } else if (!path.slice(path.lastIndexOf("/") + 1).includes(".")) {
      return Response.redirect(new URL(path + "/" + url.search, url).toString(), 307);
    }
    const res = await env.ASSETS.fetch(new URL(path, url), {method: req.method});
    if (!res.ok) {
      return new Response("not found\n", {status: 404, headers: {"Content-Type": "text/plain; charset=utf-8"}});
    }
    const headers = new Headers(res.headers);
    const dot = path.lastIndexOf(".");
    headers.set("Content-Type", types[path.slice(dot)] ?? "application/octet-stream");
    headers.set("Cache-Control", "no-cache");
    return new Response(res.body, {status: res.status, headers});
  },
};
