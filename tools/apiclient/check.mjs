// Talks to mmserve's OpenAI-compatible API with the official openai npm
// package. The Go test TestNodeOpenAISDK (package serve) starts the servers
// and passes what each one answers in MINIMIND_API_CHECK (JSON):
//   {"model": id, "plain": {"url", "reply"}, "think": {"url", "reasoning", "content"},
//    "tools": {"url", "name", "arguments"}}
// Exits non-zero on the first mismatch.
import assert from "node:assert/strict";
import OpenAI from "openai";

const cfg = JSON.parse(process.env.MINIMIND_API_CHECK ?? "null");
if (!cfg) {
  console.error("set MINIMIND_API_CHECK (see the top of this file)");
  process.exit(2);
}
const client = (url) => new OpenAI({ baseURL: url, apiKey: "unused", maxRetries: 0 });
const messages = [{ role: "system", content: "Be brief." }, { role: "user", content: "hi" }];
let checks = 0;
const check = async (name, fn) => {
  await fn();
  checks++;
  console.log(`ok ${name}`);
};

// Streams a request; returns the joined content and reasoning, the finish
// reason, the usage chunk and the tool calls assembled from their deltas.
async function stream(c, body) {
  const s = await c.chat.completions.create({ ...body, stream: true });
  let content = "", reasoning = "", finish = null, usage = null, chunks = 0;
  const calls = [];
  for await (const chunk of s) {
    chunks++;
    if (chunk.usage) usage = chunk.usage;
    for (const ch of chunk.choices) {
      const d = ch.delta;
      content += d.content ?? "";
      reasoning += d.reasoning_content ?? "";
      for (const tc of d.tool_calls ?? []) {
        calls[tc.index] ??= { id: "", name: "", arguments: "" };
        if (tc.id) calls[tc.index].id = tc.id;
        if (tc.function?.name) calls[tc.index].name += tc.function.name;
        calls[tc.index].arguments += tc.function?.arguments ?? "";
      }
      if (ch.finish_reason) finish = ch.finish_reason;
    }
  }
  return { content, reasoning, finish, usage, calls, chunks };
}

const plain = client(cfg.plain.url);
await check("models", async () => {
  const list = await plain.models.list();
  assert.deepEqual(list.data.map((m) => m.id), [cfg.model]);
});
await check("non-streaming", async () => {
  const r = await plain.chat.completions.create({ model: cfg.model, messages, temperature: 0, seed: 1 });
  assert.equal(r.object, "chat.completion");
  assert.equal(r.choices[0].message.role, "assistant");
  assert.equal(r.choices[0].message.content, cfg.plain.reply);
  assert.equal(r.choices[0].finish_reason, "stop");
  assert.ok(r.usage.prompt_tokens > 0 && r.usage.completion_tokens > 0);
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
});
await check("streaming", async () => {
  const r = await stream(plain, { model: cfg.model, messages, stream_options: { include_usage: true } });
  assert.equal(r.content, cfg.plain.reply);
  assert.equal(r.finish, "stop");
  assert.ok(r.chunks > 3, `only ${r.chunks} chunks`);
  assert.ok(r.usage && r.usage.completion_tokens > 0, "usage chunk");
});
await check("max_tokens", async () => {
  const r = await plain.chat.completions.create({ model: cfg.model, messages, max_tokens: 2 });
  assert.equal(r.choices[0].finish_reason, "length");
  assert.equal(r.usage.completion_tokens, 2);
});

const think = client(cfg.think.url);
await check("thinking", async () => {
  const body = { model: cfg.model, messages, chat_template_kwargs: { enable_thinking: true } };
  const r = await think.chat.completions.create(body);
  assert.equal(r.choices[0].message.reasoning_content, cfg.think.reasoning);
  assert.equal(r.choices[0].message.content, cfg.think.content);
  const s = await stream(think, body);
  assert.equal(s.reasoning, cfg.think.reasoning);
  assert.equal(s.content, cfg.think.content);
});

const tools = client(cfg.tools.url);
await check("tool calls", async () => {
  const body = {
    model: cfg.model,
    messages,
    tools: [{ type: "function", function: { name: cfg.tools.name, description: "d", parameters: { type: "object", properties: {} } } }],
  };
  const r = await tools.chat.completions.create(body);
  const msg = r.choices[0].message;
  assert.equal(r.choices[0].finish_reason, "tool_calls");
  assert.equal(msg.tool_calls.length, 1);
  assert.match(msg.tool_calls[0].id, /^call_/);
  assert.equal(msg.tool_calls[0].type, "function");
  assert.equal(msg.tool_calls[0].function.name, cfg.tools.name);
  assert.deepEqual(JSON.parse(msg.tool_calls[0].function.arguments), cfg.tools.arguments);
  const s = await stream(tools, body);
  assert.equal(s.finish, "tool_calls");
  assert.equal(s.calls.length, 1);
  assert.equal(s.calls[0].name, cfg.tools.name);
  assert.deepEqual(JSON.parse(s.calls[0].arguments), cfg.tools.arguments);
  // The tool's result goes back as a tool message.
  const again = await tools.chat.completions.create({
    ...body,
    messages: [...messages, msg, { role: "tool", tool_call_id: msg.tool_calls[0].id, content: "{\"ok\": true}" }],
  });
  assert.equal(again.choices[0].finish_reason, "tool_calls");
});

await check("errors", async () => {
  await assert.rejects(plain.chat.completions.create({ model: "gpt-4", messages }), (e) => {
    assert.ok(e instanceof OpenAI.NotFoundError, String(e));
    assert.equal(e.status, 404);
    assert.equal(e.code, "model_not_found");
    assert.equal(e.param, "model");
    return true;
  });
  await assert.rejects(plain.chat.completions.create({ model: cfg.model, messages, temperature: 5 }), (e) => {
    assert.ok(e instanceof OpenAI.BadRequestError, String(e));
    assert.equal(e.param, "temperature");
    return true;
  });
  await assert.rejects(plain.chat.completions.create({ model: cfg.model, messages: [] }), (e) => {
    assert.equal(e.status, 400);
    assert.equal(e.param, "messages");
    return true;
  });
});
console.log(`all ${checks} checks passed`);
