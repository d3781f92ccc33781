// gen-chat-golden.mjs renders conversations through the chat templates of
// MiniMind's two tokenizers with @huggingface/jinja, and a list of small
// templates that exercise the Jinja language, for the Go tests:
//
//   tokenizer/testdata/chat.jsonl.gz          {"f": "m2"|"m3", "vars": {...}, "text": rendered}
//   tokenizer/testdata/jinja_cases.jsonl.gz   {"tpl": template, "vars": {...}, "text": rendered} or {"tpl", "vars", "error": true}
//
// vars holds what transformers passes to a chat template: messages, tools
// (when given), add_generation_prompt, the special tokens, and the extra
// switches enable_thinking / open_thinking when set.
//
// Usage: node gen-chat-golden.mjs
import { readFileSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { Template } from "@huggingface/jinja";
import { rng } from "./gen-strings.mjs";

const fixtures = new URL("../../testdata/minimind/", import.meta.url);
const configs = {
  m2: JSON.parse(readFileSync(new URL("minimind2/tokenizer_config.json", fixtures), "utf8")),
  m3: JSON.parse(readFileSync(new URL("minimind3/tokenizer_config.json", fixtures), "utf8")),
};
const r = rng(424242);
const pick = (a) => a[Math.floor(r() * a.length)];
const chance = (p) => r() < p;

const TEXTS = [
  "你好", "Hello!", "What's the weather in Beijing today?", "请用三句话介绍一下你自己。", "1+1=?",
  "  leading and trailing spaces  ", "\n\nnewlines around\n\n", "line one\nline two\n", "emoji 😀 and \"quotes\" and \\backslash",
  "<tool_response>\n{\"temp\": 20}\n</tool_response>", "<tool_response>not closed", "tabs\tinside\t", "", " ",
  "中文，English, 123 mixed", "A long answer. ".repeat(8), "<think>inline reasoning</think>the answer",
  "<think>\nstep 1\nstep 2\n</think>\n\nfinal", "prefix </think> only closing", "\u00a0nbsp\u3000ideographic space\u00a0",
];
const REASONING = ["Let me think.", "\n首先，分析问题。\n然后，给出答案。\n", "  padded  ", "", "multi\nline\nreasoning"];
const TOOL_NAMES = ["get_weather", "search", "calculator", "翻译"];

function toolSchema(name) {
  return {
    type: "function",
    function: {
      name,
      description: pick(["Get the current weather", "Search the web", "计算表达式", "Translate text"]),
      parameters: {
        type: "object",
        properties: { city: { type: "string", description: "城市名" }, unit: { type: "string", enum: ["c", "f"] }, n: { type: "integer" } },
        required: ["city"],
      },
    },
  };
}

function toolCall() {
  const name = pick(TOOL_NAMES);
  const args = pick([
    { city: "北京", unit: "c" },
    { query: "MiniMind \"tokenizer\"", top_k: 5, exact: false, score: 0.75, ratio: 3.0, none: null },
    { expression: "2**10", nested: { a: [1, 2, { b: "c" }], e: {} } },
    {},
  ]);
  const argForm = pick(["object", "string"]);
  const fn = { name, arguments: argForm === "object" ? args : JSON.stringify(args) };
  return chance(0.7) ? { id: `call_${Math.floor(r() * 1000)}`, type: "function", function: fn } : fn;
}

function conversation() {
  const msgs = [];
  if (chance(0.5)) msgs.push({ role: "system", content: pick(["You are a helpful assistant.", "你是MiniMind，一个小而强大的模型。", "", "  System with spaces  "]) });
  const turns = 1 + Math.floor(r() * 4);
  for (let t = 0; t < turns; t++) {
    msgs.push({ role: "user", content: pick(TEXTS) });
    if (t === turns - 1 && chance(0.4)) break; // end on a user turn
    const a = { role: "assistant", content: pick(TEXTS) };
    const x = r();
    if (x < 0.25) a.reasoning_content = pick(REASONING);
    else if (x < 0.3) a.reasoning_content = null;
    if (chance(0.3)) {
      a.tool_calls = Array.from({ length: 1 + Math.floor(r() * 2) }, toolCall);
      if (chance(0.3)) a.content = "";
      const results = a.tool_calls.length;
      msgs.push(a);
      for (let k = 0; k < results; k++) msgs.push({ role: "tool", content: pick(["{\"temp\": 20}", "结果：42", "", "multi\nline"]) });
      if (chance(0.6)) msgs.push({ role: "assistant", content: pick(TEXTS) });
      continue;
    }
    if (chance(0.05)) a.content = null;
    msgs.push(a);
  }
  if (chance(0.1)) msgs.splice(1 + Math.floor(r() * (msgs.length - 1)), 0, { role: "system", content: "A later system message." });
  return msgs;
}

const lines = [];
for (const f of ["m2", "m3"]) {
  const cfg = configs[f];
  const tpl = new Template(cfg.chat_template);
  for (let i = 0; i < 120; i++) {
    const vars = { messages: conversation(), add_generation_prompt: chance(0.5), bos_token: cfg.bos_token, eos_token: cfg.eos_token, pad_token: cfg.pad_token, unk_token: cfg.unk_token };
    if (chance(0.3)) vars.tools = Array.from({ length: 1 + Math.floor(r() * 2) }, () => toolSchema(pick(TOOL_NAMES)));
    const x = r();
    if (x < 0.2) vars.enable_thinking = false;
    else if (x < 0.3) vars.enable_thinking = true;
    const y = r();
    if (y < 0.2) vars.open_thinking = true;
    else if (y < 0.3) vars.open_thinking = false;
    lines.push(JSON.stringify({ f, vars, text: tpl.render(vars) }));
  }
}
const out = new URL("../../tokenizer/testdata/", import.meta.url);
writeFileSync(new URL("chat.jsonl.gz", out), gzipSync(lines.join("\n") + "\n", { level: 9 }));
console.log(`chat.jsonl.gz: ${lines.length} conversations`);

// Small templates over the language's features.
const V = { s: "Hello World", n: 7, f: 2.5, g: 3.0, neg: -3, t: true, no: false, z: null, e: "", l: [3, 1, 2], ls: ["b", "A", "c"], o: { b: 1, a: [1, 2], c: { d: "x" } }, objs: [{ name: "x", v: 2, ok: true }, { name: "y", v: 1, ok: false }, { name: "z", v: 3 }], u: "  pad\n ", cn: "中文😀字" };
const CASES = [
  "{{ s }}|{{ n }}|{{ f }}|{{ g }}|{{ t }}|{{ z }}|{{ undefined_var }}|{{ l }}|{{ o }}",
  "{{ s | upper }} {{ s | lower }} {{ s | length }} {{ cn | length }} {{ s | title }} {{ 'hello there' | title }} {{ 'hELLO' | capitalize }}",
  "{{ u | trim }}|{{ u.strip() }}|{{ u.lstrip() }}|{{ u.rstrip('\\n') }}|{{ u.strip('x') }}",
  "{{ s.split(' ') }} {{ s.split() }} {{ 'a,b,,c'.split(',', 1) }} {{ '  a  b '.split() }} {{ 'a b c'.split(none, 1) }}",
  "{{ s.startswith('Hell') }} {{ s.endswith(('x', 'ld')) }} {{ s.replace('l', 'L') }} {{ s.replace('l', 'L', 2) }}",
  "{{ s[0] }}{{ s[-1] }}{{ s[1:4] }}{{ s[::-1] }}{{ s[::2] }}{{ cn[1] }}{{ cn[::-1] }}{{ l[::-1] }}{{ l[1:] }}{{ l[-2:] }}",
  "{{ n + 1 }} {{ n - 10 }} {{ n * 2 }} {{ n / 2 }} {{ n // 2 }} {{ neg // 2 }} {{ n % 3 }} {{ neg % 3 }} {{ n ** 2 }} {{ 2 ** -1 }} {{ f * 2 }} {{ f + 1 }} {{ 1.5 + 1.5 }}",
  "{{ n > 5 }} {{ n < 5 }} {{ n >= 7 }} {{ n <= 6 }} {{ n == 7.0 }} {{ n != 7 }} {{ z == undefined_var }} {{ '7' == n }} {{ t == 1 }} {{ l == l }} {{ l == [3, 1, 2] }}",
  "{{ 'a' ~ n ~ f ~ g ~ t }} {{ 'a' + 'b' }} {{ 'x' + n }} {{ l + [4] }} {{ 'ell' in s }} {{ 2 in l }} {{ 5 not in l }} {{ 'a' in o }} {{ 'q' in o }} {{ 'x' in undefined_var }}",
  "{% if n > 5 and not no %}big{% elif n > 2 %}mid{% else %}small{% endif %}|{{ 'yes' if t else 'no' }}|{{ 'y' if no }}|{{ e or 'empty' }}|{{ s and n }}",
  "{% for x in l %}{{ loop.index }}/{{ loop.index0 }}/{{ loop.revindex }}/{{ loop.first }}/{{ loop.last }}/{{ loop.length }}:{{ x }} {% endfor %}",
  "{% for x in l if x > 1 %}{{ x }}{% else %}none{% endfor %}|{% for x in [] %}{{ x }}{% else %}empty{% endfor %}",
  "{% for k, v in o.items() %}{{ k }}={{ v }};{% endfor %}|{% for k in o %}{{ k }}{% endfor %}|{{ o.keys() }}|{{ o.values() }}",
  "{% for x in l %}{% if x == 1 %}{% continue %}{% endif %}{% if x == 2 %}{% break %}{% endif %}{{ x }}{% endfor %}",
  "{% set ns = namespace(a=1, b='x') %}{% for x in l %}{% set ns.a = ns.a + x %}{% endfor %}{{ ns.a }}{{ ns.b }}",
  "{% set a, b = [1, 2] %}{{ a }}{{ b }}{% set c %}block {{ n }}{% endset %}[{{ c }}]",
  "{% macro greet(name, greeting='Hi') %}{{ greeting }}, {{ name }}!{% endmacro %}{{ greet('Bob') }} {{ greet('Ann', greeting='Yo') }} {{ greet('Z', 'Hey') }}",
  "{{ l | sort }} {{ l | sort(reverse=true) }} {{ ls | sort }} {{ ls | sort(case_sensitive=true) }} {{ objs | sort(attribute='v') | map(attribute='name') | join(',') }}",
  "{{ l | first }} {{ l | last }} {{ l | length }} {{ l | reverse }} {{ l | join('-') }} {{ [1, 1, 2] | unique }} {{ ls | join }} {{ l | string }}",
  "{{ objs | selectattr('ok') | map(attribute='name') | list }} {{ objs | rejectattr('ok') | map(attribute='name') | list }} {{ objs | map(attribute='v') | list }}",
  "{{ o | tojson }} {{ l | tojson }} {{ s | tojson }} {{ cn | tojson }} {{ cn | tojson(ensure_ascii=true) }} {{ f | tojson }} {{ g | tojson }} {{ z | tojson }} {{ t | tojson }}",
  "{{ o | tojson(indent=2) }}|{{ objs | tojson(indent=4) }}|{{ o | tojson(separators=(',', ':')) }}|{{ o | tojson(sort_keys=true) }}",
  "{{ undefined_var | default('d') }} {{ e | default('d') }} {{ e | default('d', true) }} {{ z | default('d') }} {{ n | default(1) }}",
  "{{ '42' | int }} {{ '4.7' | float }} {{ 'x' | int }} {{ 4.7 | int }} {{ n | float }} {{ 'x' | int(5) }} {{ t | int }} {{ neg | abs }} {{ n | string }} {{ f | string }}",
  "{{ 'a\\nb\\n\\nc' | indent }}|{{ 'a\\nb' | indent(2, true) }}|{{ 'a\\n\\nb' | indent(2, blank=true) }}",
  "{{ n is integer }} {{ f is number }} {{ f is integer }} {{ s is string }} {{ l is iterable }} {{ o is mapping }} {{ z is none }} {{ t is true }} {{ no is false }} {{ undefined_var is defined }} {{ s is defined }} {{ n is odd }} {{ n is even }} {{ s is upper }} {{ 'abc' is lower }} {{ l is sequence }} {{ t is boolean }}",
  "{{ range(3) }} {{ range(1, 4) }} {{ range(10, 0, -3) }} {% for i in range(2) %}[{{ i }}]{% endfor %}",
  "{{ o.b }} {{ o['a'][1] }} {{ o.c.d }} {{ o.missing }} {{ o.get('b') }} {{ o.get('q', 'def') }} {{ o.get('q') }} {{ l[5] }} {{ l.length }} {{ s.length }} {{ n.foo }} {{ z.foo }}",
  "{{ {'x': 1, 'y': [1, 2]} }} {{ (1, 2) }} {{ [1, 'a', none, true] }} {{ -n }} {{ - f }} {{ +n }} {{ not t }} {{ 'con' 'cat' }}",
  "  {% if t %}\n    indented\n  {% endif %}\n{%- if t -%}   trimmed   {%- endif -%}\n  end  {# comment #}  {#- trimmed comment -#}  x",
  "{{- '  a  ' -}}  |  {{ 'b' }}\n{% for x in l %}\n{{ x }}\n{% endfor %}\nafter",
  "{% filter upper %}shout {{ s }}{% endfilter %}|{{ o | items }}|{{ o | length }}|{{ o | dictsort }}",
  "{{ raise_exception('boom') }}",
  "{{ n + undefined_var }}",
  "{{ z + 1 }}",
  "{% for x in n %}{% endfor %}",
  "{{ s | nosuchfilter }}",
  "{{ 1 < 'a' }}",
  "{% set x = 1 %}{% if true %}{% set x = 2 %}{% endif %}{{ x }}{% for i in [1] %}{% set x = 3 %}{{ x }}{% endfor %}{{ x }}",
  "{{ \"double \\\"quoted\\\" \\t tab\" }} {{ 'uni \\u00e9 \\x41' }}",
  "{{ messages[0].content if messages is defined else 'no messages' }}",
  "{{ 10 / 4 }} {{ 10 / 5 }} {{ 0.1 + 0.2 }} {{ 1 / 3 }} {{ 100000000000000000000.0 }} {{ 0.000001 }} {{ 0.0000001 }} {{ 123456789012345680000 * 10 }}",
];
const cases = [];
for (const tpl of CASES) {
  try {
    cases.push(JSON.stringify({ tpl, vars: V, text: new Template(tpl).render(V) }));
  } catch (e) {
    cases.push(JSON.stringify({ tpl, vars: V, error: true }));
  }
}
writeFileSync(new URL("jinja_cases.jsonl.gz", out), gzipSync(cases.join("\n") + "\n", { level: 9 }));
console.log(`jinja_cases.jsonl.gz: ${cases.length} templates`);
