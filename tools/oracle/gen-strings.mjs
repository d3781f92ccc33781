// gen-strings.mjs makes the varied, deterministic test strings that the
// golden files are built from. Each generator draws from a seeded PRNG, so
// the same strings come out on every run.

// mulberry32 is a small seeded PRNG returning floats in [0, 1).
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = `the of and to in is was for that with as on by at from his her they it this be are
not or have had an which one you were all we she there their been has would more when if will no
who out so said what up its about into than them can only other new some could time these two may
then do first any my now such like our over man me even most made after also did many before must
through back years where much your way well down should because each just those people Mr how too
little state good very make world still own see men work long get here between both life being under
never day same another know while last might us great old year off come since against go came right
used take three states himself few house use during without again place American around however home
small found Mrs thought went say part once general high upon school every don't does got united left
number course war until always away something fact though water less public put think almost hand
enough far took head yet government system better set told nothing night end why called didn't eyes
find going look asked later knew it's I'm we're they've you'll he'd can't won't isn't Hello World
OpenAI GPT tokenizer BPE MiniMind transformer attention embedding RMSNorm SwiGLU RoPE softmax`.split(/\s+/);

const CJK_COMMON = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处队南给色光门即保治北造百规热领七海口东导器压志世金增争济阶油思术极交受联什认六共权收证改清己美再采转更单风切打白教速花带安场身车例真务具万每目至达走积示议声报斗完类八离华名确才科张信马节话米整空元况今集温传土许步群广石记需段研界拉林律叫且究观越织装影算低持音众书布复容儿须际商非验连断深难近矿千周委素技备半办青省列习响约支般史感劳便团往酸历市克何除消构府称太准精值号率族维划选标写存候毛亲快效斯院查江型眼王按格养易置派层片始却专状育厂京识适属圆包火住调满县局照参红细引听该铁价严龙飞";
const CN_PUNCT = "，。！？；：、“”‘’（）《》【】…—·";

function pick(r, a) {
  return a[Math.floor(r() * a.length)];
}
function int(r, lo, hi) {
  return lo + Math.floor(r() * (hi - lo + 1));
}

function english(r) {
  const n = int(r, 1, 16);
  let s = "";
  for (let i = 0; i < n; i++) {
    let w = pick(r, WORDS);
    const x = r();
    if (x < 0.1) w = w[0].toUpperCase() + w.slice(1);
    else if (x < 0.13) w = w.toUpperCase();
    else if (x < 0.17) w += pick(r, ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T", "'Re", "'x", "''"]);
    s += (i ? " " : "") + w;
    if (r() < 0.12) s += pick(r, [",", ".", ";", ":", "!", "?", " -", " —", "...", "\"", ")", "?!"]);
  }
  if (r() < 0.3) s = pick(r, ["\"", "(", "'", " ", "  ", "\n"]) + s;
  return s;
}

function chinese(r) {
  const n = int(r, 1, 36);
  let s = "";
  for (let i = 0; i < n; i++) {
    const x = r();
    if (x < 0.1) s += pick(r, [...CN_PUNCT]);
    else if (x < 0.13) s += String.fromCodePoint(int(r, 0x4e00, 0x9fff));
    else if (x < 0.15) s += " ";
    else if (x < 0.17) s += String(int(r, 0, 3000));
    else s += pick(r, [...CJK_COMMON]);
  }
  return s;
}

const SCRIPTS = [
  [0x0400, 0x04ff], // Cyrillic
  [0x0370, 0x03ff], // Greek
  [0x0600, 0x06ff], // Arabic
  [0x0900, 0x097f], // Devanagari
  [0x3040, 0x30ff], // Kana
  [0xac00, 0xd7a3], // Hangul
  [0x0e00, 0x0e7f], // Thai
  [0x0590, 0x05ff], // Hebrew
  [0x00c0, 0x024f], // Latin extended
  [0x1e00, 0x1eff], // Latin extended additional
  [0xff00, 0xffef], // fullwidth forms
  [0x2000, 0x206f], // general punctuation (spaces, dashes, marks)
  [0x0300, 0x036f], // combining marks
];

function mixed(r) {
  const n = int(r, 1, 8);
  let s = "";
  for (let i = 0; i < n; i++) {
    const x = r();
    if (x < 0.3) s += english(r).slice(0, 30);
    else if (x < 0.5) s += chinese(r).slice(0, 15);
    else {
      const [lo, hi] = pick(r, SCRIPTS);
      const m = int(r, 1, 8);
      for (let k = 0; k < m; k++) s += String.fromCodePoint(int(r, lo, hi));
    }
    s += pick(r, [" ", "", "", "\n", ", ", "。", " - "]);
  }
  return s;
}

const EMOJI = ["😀", "🎉", "👍", "👍🏽", "❤️", "🇨🇳", "🇺🇸", "👨‍👩‍👧‍👦", "🧑‍💻", "🤖", "✨", "🔥", "☕", "🏳️‍🌈", "😂", "🙏🏻", "©️", "1️⃣", "🫠", "🦀"];

function emoji(r) {
  const n = int(r, 1, 15);
  let s = "";
  for (let i = 0; i < n; i++) {
    const x = r();
    if (x < 0.5) s += pick(r, EMOJI);
    else if (x < 0.6) s += String.fromCodePoint(int(r, 0x1f300, 0x1faff));
    else if (x < 0.8) s += pick(r, WORDS);
    else s += pick(r, CJK_COMMON);
    s += pick(r, ["", "", " ", "  ", "\n"]);
  }
  return s;
}

const CODE = [
  "def f(x):\n    return x ** 2\n",
  "for (int i = 0; i < n; i++) {\n\tsum += a[i];\n}\n",
  "func main() {\n\tfmt.Println(\"hello, 世界\")\n}\n",
  "const x = {a: 1, 'b': [2, 3]}; // comment\n",
  "SELECT id, name FROM users WHERE age >= 18 ORDER BY name;",
  "<div class=\"x\">&nbsp;<a href='/y?q=1&r=2'>link</a></div>",
  "if __name__ == '__main__':\n        main()\n\n\n",
  "x=[i*i for i in range(10) if i%2==0]  # squares",
  "#include <stdio.h>\nint main(void){printf(\"%d\\n\", 42);}",
  "    \t  \n  indented\r\n\tline\r\n",
  "$ ls -la /usr/bin | grep -E '^-rwx' | wc -l",
  "{\"key\": \"value\", \"list\": [1, 2.5, -3e10, null, true]}",
  "fn main() -> Result<(), Box<dyn Error>> { Ok(()) }",
  "@@ -1,3 +1,4 @@\n-old line\n+new line\n context",
];

function code(r) {
  let s = "";
  const n = int(r, 1, 4);
  for (let i = 0; i < n; i++) {
    let c = pick(r, CODE);
    if (r() < 0.3) c = c.replace(/ {4}/g, "\t");
    if (r() < 0.2) c = "  ".repeat(int(r, 1, 6)) + c;
    s += c;
  }
  return s;
}

const SPACES = [" ", " ", " ", "\t", "\n", "\r", "\r\n", "\u00a0", "\u3000", "\u2009", "\u200b", "\u0085", "\u2028", "\v", "\f", "\u1680", "\u202f"];

function whitespace(r) {
  const n = int(r, 1, 8);
  let s = "";
  for (let i = 0; i < n; i++) {
    const m = int(r, 0, 12);
    for (let k = 0; k < m; k++) s += pick(r, SPACES);
    const x = r();
    if (x < 0.5) s += pick(r, WORDS);
    else if (x < 0.7) s += pick(r, CJK_COMMON);
    else if (x < 0.85) s += String(int(r, 0, 99));
    else s += pick(r, [".", "!", "'s", "-", "\"", "'"]);
  }
  if (r() < 0.5) {
    const m = int(r, 1, 8);
    for (let k = 0; k < m; k++) s += pick(r, SPACES);
  }
  return s;
}

function digits(r) {
  const n = int(r, 1, 8);
  let s = "";
  for (let i = 0; i < n; i++) {
    const x = r();
    if (x < 0.3) s += String(Math.floor(r() * 10 ** int(r, 1, 20)));
    else if (x < 0.45) s += (r() * 1000).toFixed(int(r, 0, 6));
    else if (x < 0.55) s += `${int(r, 1900, 2100)}-${String(int(r, 1, 12)).padStart(2, "0")}-${String(int(r, 1, 28)).padStart(2, "0")}`;
    else if (x < 0.65) s += [...String(int(r, 0, 99999))].map((d) => String.fromCodePoint(0x0660 + +d)).join("");
    else if (x < 0.75) s += [...String(int(r, 0, 99999))].map((d) => String.fromCodePoint(0xff10 + +d)).join("");
    else if (x < 0.8) s += pick(r, ["Ⅻ", "½", "²", "①", "〇", "三", "𝟗", "٣"]);
    else if (x < 0.9) s += "+" + int(r, 1, 99) + " (" + int(r, 100, 999) + ") " + int(r, 1000000, 9999999);
    else s += int(r, 0, 9) + pick(r, WORDS) + int(r, 0, 999);
    s += pick(r, [" ", "", ",", ", ", "\n", "%", "元", "."]);
  }
  return s;
}

function special(r, added) {
  const n = int(r, 1, 8);
  let s = "";
  for (let i = 0; i < n; i++) {
    const x = r();
    if (x < 0.45) s += pick(r, added);
    else if (x < 0.55) {
      const t = pick(r, added);
      s += t.slice(0, int(r, 1, t.length - 1)); // a broken token
    } else if (x < 0.65) s += pick(r, ["<", "<|", "|>", ">", "<|im", "</", "<think", "<<|im_end|>>", "<|<|im_start|>"]);
    else if (x < 0.85) s += english(r).slice(0, 25);
    else s += chinese(r).slice(0, 10);
    s += pick(r, ["", "", "\n", " ", "  "]);
  }
  return s;
}

const PLANES = [
  [0x0000, 0xffff],
  [0x0000, 0x007f],
  [0x0080, 0x07ff],
  [0x10000, 0x1ffff],
  [0x20000, 0x2ffff],
  [0x30000, 0x3ffff],
  [0xe0000, 0xe0fff],
  [0xf0000, 0x10ffff],
];

function randomUnicode(r) {
  const n = int(r, 1, 20);
  let s = "";
  for (let i = 0; i < n; i++) {
    const [lo, hi] = pick(r, PLANES);
    let cp = int(r, lo, hi);
    if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd;
    s += String.fromCodePoint(cp);
  }
  return s;
}

function longWords(r) {
  const x = r();
  const n = int(r, 50, 1000);
  if (x < 0.2) return pick(r, ["a", "ab", "的", "😀", "0", "-", " ", "\n", "=", "ha"]).repeat(n);
  if (x < 0.4) return Array.from({ length: n }, () => pick(r, [...CJK_COMMON])).join("");
  if (x < 0.6) return Array.from({ length: n }, () => String.fromCharCode(int(r, 97, 122))).join("");
  if (x < 0.8) return Array.from({ length: n }, () => String(int(r, 0, 9))).join("");
  return Array.from({ length: n }, () => pick(r, ["!", "@", "#", "$", "%", "^", "&", "*", "~", "·", "…", "¥"])).join("");
}

const FIXED = [
  "", " ", "  ", "\n", "\n\n", " \n ", "\t", "a", "A", "'", "'s", "''s", "'S", "'ll", "'lll", "'re've",
  "don't", "Don'T", "I'm", "it's", "you're", "they'll", "we've", "he'd", " 's", "x 's", "!'s", "'s'",
  "Hello world", "Hello  world", "Hello   world", "Hello \n world", "Hello\n\nworld", "Hello\n \nworld",
  "end ", "end  ", "end\n", " start", "  start", "\u00a0a", "a\u00a0b", "a\u3000b", "1 2  3   4",
  "你好", "你好，世界！", "我爱北京天安门。", "中文English混合123", "😀", "👨‍👩‍👧‍👦", "🇨🇳🇺🇸",
  "<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|im_start|>user\n你好<|im_end|>\n<|im_start|>assistant\n",
  "<think>\n\n</think>\n\n", "<tool_call>\n{\"name\": \"f\"}\n</tool_call>", "x<|im_end|>y", " <|im_end|> ",
  "\r\n", "\r\n\r\n", "a\r\nb", "\u2028", "\u0085", "\u200b", "\ufeffBOM", "\u0000", "\u0001\u0002", "\u007f",
  "ﬁ", "Å", "Å", "é", "é", "İstanbul", "ß", "ǅ", "ⅷ", "٣٤٥", "１２３", "𝟘𝟙𝟚", "𝒜𝒷𝒸",
];

export function generate(added, count) {
  const r = rng(20250601);
  const out = [...FIXED];
  const gens = [
    [english, 0.2],
    [chinese, 0.17],
    [mixed, 0.12],
    [emoji, 0.08],
    [code, 0.09],
    [whitespace, 0.1],
    [digits, 0.08],
    [(r) => special(r, added), 0.07],
    [randomUnicode, 0.08],
    [longWords, 0.01],
  ];
  const seen = new Set(out);
  while (out.length < count) {
    let x = r();
    let g = gens[gens.length - 1][0];
    for (const [f, w] of gens) {
      if (x < w) {
        g = f;
        break;
      }
      x -= w;
    }
    const s = g(r);
    if (seen.has(s)) continue;
    seen.add(s);
    out.push(s);
  }
  return out;
}
