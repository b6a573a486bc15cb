// assay app: a read-only viewer of run directories. Every text from a run (model output,
// dataset content, error messages) is put on the page with textContent, or as Markdown whose raw
// HTML is escaped and whose output passes DOMPurify; never as HTML of its own.
"use strict";

const STRINGS = {
  en: {runs: "Runs", kind: "Kind", model: "Model", started: "Started", status: "Status", headline: "Headline",
       all: "all", samples: "Samples", config: "Configuration", prompt: "Prompt", reasoning: "Reasoning",
       answer: "Answer", extracted: "Extracted", gold: "Gold", search: "Search text", page: "Page",
       compare: "Compare", repeats: "All repeats", report: "Open the HTML report", requests: "Requests",
       none: "No runs under this folder yet.", unreadable: "Runs that cannot be read", reason: "Reason",
       benchmark: "Benchmark", subset: "Subset", rawResponse: "Raw response (as the server sent it)",
       showAll: "show all", download: "download", notShown: "not shown", scores: "Scores", benchmarks: "Benchmarks",
       copy: "copy", details: "Details (metadata, scores)", conversation: "Conversation", toolsOffered: "Tools offered",
       toolCalls: "Tool calls", noCalls: "No tool call made.", method: "Verdict method",
       callsInText: "No tool_calls from the server: these calls were read from the answer text."},
  zh: {runs: "运行", kind: "类型", model: "模型", started: "开始时间", status: "状态", headline: "概要",
       all: "全部", samples: "样本", config: "配置", prompt: "提示", reasoning: "推理过程", answer: "回答",
       extracted: "抽取答案", gold: "标准答案", search: "搜索文本", page: "页", compare: "对比", repeats: "全部重复",
       report: "打开 HTML 报告", requests: "请求", none: "该目录下还没有运行。", unreadable: "无法读取的运行",
       reason: "原因", benchmark: "基准", subset: "子集", rawResponse: "原始回复（服务器发送的内容）",
       showAll: "全部显示", download: "下载", notShown: "未显示", scores: "得分", benchmarks: "基准",
       copy: "复制", details: "详情（元数据、得分）", conversation: "对话", toolsOffered: "可用工具",
       toolCalls: "工具调用", noCalls: "未调用工具。", method: "判定方式",
       callsInText: "服务器未返回 tool_calls：以下调用是从回答文本中读取的。"},
};
let T = STRINGS.en;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null) continue;
    if (key === "onclick" || key === "oninput" || key === "onchange") node.addEventListener(key.slice(2), value);
    else if (key === "href") node.setAttribute("href", safeHref(value));
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function safeHref(value) {
  const text = String(value);
  return text.startsWith("#/") || text.startsWith("/report?") || text.startsWith("/api/sample-text?") ? text : "#/";
}

async function api(path) {
  const response = await fetch(path);
  if (!response.ok) {
    let message = response.statusText;
    try { message = (await response.json()).error || message; } catch (e) { /* not JSON */ }
    throw new Error(message);
  }
  const body = await response.json();
  if (body && typeof body.unreadable === "string") throw new Error(body.unreadable);  // a run that cannot be read
  return body;
}

function fmt(value, digits = 4) {
  if (value === null || value === undefined || Number.isNaN(value)) return "-";
  return typeof value === "number" ? String(Math.round(value * 10 ** digits) / 10 ** digits) : String(value);
}

function ms(seconds, digits = 1) {  // latencies are read in milliseconds
  return typeof seconds === "number" ? fmt(seconds * 1000, digits) : "-";
}

function fixed(value) { return typeof value === "number" ? value.toFixed(3) : "-"; }

function pct(fraction) { return typeof fraction === "number" ? fmt(fraction * 100, 1) + "%" : "-"; }

function when(epoch) { return epoch ? new Date(epoch * 1000).toLocaleString() : "-"; }

function kb(chars) { return chars < 1000 ? `${chars} chars` : chars >= 1e6 ? `${fmt(chars / 1e6, 1)} MB` : `${fmt(chars / 1e3, 1)} KB`; }

function params() {
  const hash = location.hash.slice(1) || "/";
  const cut = hash.indexOf("?");
  const path = cut < 0 ? hash : hash.slice(0, cut);
  return {path, query: new URLSearchParams(cut < 0 ? "" : hash.slice(cut + 1))};
}

function title(...parts) { document.title = [...parts.filter(Boolean), "assay"].join(" · "); }

let timer = null;
async function route() {
  clearTimeout(timer);
  const began = performance.now();
  const main = document.getElementById("main");
  const {path, query} = params();
  try {
    let page;
    if (path === "/run") page = await runPage(query.get("id"));
    else if (path === "/samples") page = await samplesPage(query);
    else if (path === "/compare") page = await comparePage(query);
    else if (path === "/scores") page = await scoresPage(query);
    else if (path === "/benchmarks") page = await benchmarksPage(query);
    else page = await runsPage(query);
    main.replaceChildren(page);
  } catch (error) {
    title("error");
    main.replaceChildren(el("p", {class: "bad", id: "error"}, "Error: " + error.message));
  }
  void main.offsetHeight;  // lay the page out now: the time below includes layout
  document.body.dataset.renderMs = String(Math.round(performance.now() - began));
  document.body.dataset.route = location.hash;
}

// ---------------------------------------------------------------------------------------------
// Runs

async function runsPage(query) {
  title(T.runs);
  const data = await api("/api/runs");
  const good = data.runs.filter(r => !r.problem), bad = data.runs.filter(r => r.problem);
  const kind = query.get("kind") || "", model = query.get("model") || "";
  const models = [...new Set(good.map(r => r.model))].sort();
  const shown = good.filter(r => (!kind || r.kind === kind) && (!model || r.model === model));
  const go = (k, m) => { location.hash = `#/?kind=${encodeURIComponent(k)}&model=${encodeURIComponent(m)}`; };
  const option = (value, label, selected) => { const o = el("option", {value}, label); o.selected = selected; return o; };
  const kindSelect = el("select", {id: "filter-kind", onchange: e => go(e.target.value, model)},
    ...["", "eval", "perf"].map(k => option(k, k || T.all, k === kind)));
  const modelSelect = el("select", {id: "filter-model", onchange: e => go(kind, e.target.value)},
    option("", T.all, false), ...models.map(m => option(m, m, m === model)));
  const rows = shown.map(r => el("tr", {"data-run": r.id},
    el("td", {}, el("input", {type: "checkbox", value: r.id, class: "pick", "aria-label": "compare " + r.id})),
    el("td", {}, el("a", {href: "#/run?id=" + encodeURIComponent(r.id)}, r.id)),
    el("td", {}, r.kind), el("td", {}, r.model), el("td", {}, when(r.started_epoch_s)),
    el("td", {class: r.status === "finished" ? "good" : r.status === "running" ? "warn" : "bad"}, r.status),
    el("td", {}, headline(r), ...(r.warnings || []).map(w => el("span", {class: "warn note"}, " ⚠ " + w)))));
  const compare = el("button", {id: "compare", onclick: () => {
    const ids = [...document.querySelectorAll("input.pick:checked")].map(c => c.value).slice(0, 3);
    if (ids.length >= 2) location.hash = "#/compare?" + ids.map(i => "id=" + encodeURIComponent(i)).join("&");
  }}, T.compare);
  const unreadable = bad.length ? [el("h2", {}, `${T.unreadable} (${bad.length})`),
    el("table", {id: "unreadable"}, el("tr", {}, el("th", {}, "Run"), el("th", {}, T.reason)),
      ...bad.map(r => el("tr", {"data-run": r.id}, el("td", {}, r.id), el("td", {class: "bad"}, r.problem))))] : [];
  if (!data.runs.length) return el("div", {}, el("h1", {}, T.runs), el("p", {class: "muted"}, T.none));
  return el("div", {}, el("h1", {}, T.runs),
    el("div", {class: "filters"}, T.kind, kindSelect, T.model, modelSelect, compare),
    el("table", {id: "runs"}, el("tr", {}, ...["", "Run", T.kind, T.model, T.started, T.status, T.headline].map(h => el("th", {}, h))), ...rows),
    ...unreadable);
}

function headline(run) {
  const h = run.headline || {};
  if (run.kind === "eval") return Object.entries(h.scores || {}).map(([b, s]) => `${b}: ${fmt(s)}`).join(", ");
  return `${h.points || 0} points, best ${fmt(h.best_rps, 2)} req/s`;
}

// ---------------------------------------------------------------------------------------------
// Markdown and LaTeX, rendered safely. marked lexes the text (so code spans and blocks are never
// read as math); a math token becomes an empty slot that KaTeX (trust off) draws into afterwards, so
// no placeholder text can collide with what the model wrote. Raw HTML in the text is escaped, and
// the result still passes DOMPurify. `$…$` is math only as pandoc reads it: no space inside either
// dollar, no digit right after the closing one ($80,000 and $50,000 stay money), and it must parse.

function escapeHtml(text) {
  return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

const MATH_PATTERNS = [
  [/^\$\$([\s\S]+?)\$\$/, true],
  [/^\\\[([\s\S]+?)\\\]/, true],
  [/^\\\(([\s\S]+?)\\\)/, false],
  [/^\$(?![\s$])((?:\\\$|[^$\n])*?[^\s\\$])\$(?!\d)/, false],
];

function matchMath(src) {
  for (const [pattern, display] of MATH_PATTERNS) {
    const m = pattern.exec(src);
    if (m) return {type: "math", raw: m[0], tex: m[1], display};
  }
  return undefined;
}

let mathSlots = [];
let markdown = null;
function markdownParser() {
  if (markdown) return markdown;
  const slot = token => { mathSlots.push(token); return `<span class="math-slot" data-math="${mathSlots.length - 1}"></span>`; };
  markdown = new window.marked.Marked({gfm: true, breaks: true, async: false});
  markdown.use({
    extensions: [
      {name: "math", level: "inline", start: src => { const i = src.search(/\$|\\[([]/); return i < 0 ? undefined : i; },
       tokenizer: matchMath, renderer: slot},
      {name: "mathBlock", level: "block", start: src => { const i = src.indexOf("$$"); return i < 0 ? undefined : i; },
       tokenizer: src => { const m = /^\$\$([\s\S]+?)\$\$[ \t]*(?:\n|$)/.exec(src); return m ? {type: "mathBlock", raw: m[0], tex: m[1], display: true} : undefined; },
       renderer: slot},
    ],
    renderer: {html: text => escapeHtml(text)},  // model output is text: raw HTML shows as written
  });
  return markdown;
}

const PURIFY = {
  FORBID_TAGS: ["style", "img", "form", "input", "iframe", "svg", "math"], FORBID_ATTR: ["style"],
  ALLOWED_URI_REGEXP: /^(?:https?:|#)/i,
};

function renderRich(text) {
  const holder = el("div", {class: "rich"});
  if (!window.marked || !window.DOMPurify || !window.katex) { holder.textContent = text; return holder; }
  mathSlots = [];
  const html = markdownParser().parse(String(text));
  const maths = mathSlots;
  holder.innerHTML = window.DOMPurify.sanitize(html, PURIFY);
  for (const span of holder.querySelectorAll("span.math-slot")) {
    const math = maths[Number(span.dataset.math)];
    span.className = "math";
    span.removeAttribute("data-math");
    if (!math) continue;
    try {
      window.katex.render(math.tex, span, {displayMode: math.display, throwOnError: true, trust: false, strict: "ignore"});
    } catch (error) {
      span.textContent = math.raw;  // not math after all: the text as written
    }
  }
  for (const link of holder.querySelectorAll("a[href]")) link.setAttribute("rel", "noopener noreferrer");
  return holder;
}

function renderMathValue(text, cls) {
  // Extracted and gold answers: math when they look like TeX and parse, else code text.
  const value = text ?? "-";
  const code = el("code", {class: cls}, value);
  if (window.katex && /[\\^_{]/.test(String(value))) {
    const span = el("span", {class: cls + " math"});
    try {
      window.katex.render(String(value), span, {throwOnError: true, trust: false, strict: "ignore"});
      span.title = String(value);
      return span;
    } catch (error) { /* not TeX: show as written */ }
  }
  return code;
}

// Long texts (runaway outputs): the first and last part only, the rest one click away, and the
// whole text as a download. Breaking long words is left to CSS (overflow-wrap: anywhere).
const LONG_CHARS = 48 * 1024, PART_CHARS = 16 * 1024;

function textBox(text, cls, download) {
  const whole = String(text ?? "");
  const long = whole.length > LONG_CHARS;
  const head = long ? whole.slice(0, PART_CHARS) : whole, tail = long ? whole.slice(-PART_CHARS) : "";
  const box = el("div", {class: "textbox " + cls});
  const body = el("div", {class: "textbody"});
  let mode = "rich";
  const draw = () => {
    if (mode === "all") { body.replaceChildren(el("pre", {class: cls + "-all plain"}, whole)); return; }
    const view = mode === "rich" ? (t => { const r = renderRich(t); r.classList.add(cls + "-rich"); return r; })
      : (t => el("pre", {class: cls + "-source plain"}, t));
    if (!long) { body.replaceChildren(view(whole)); return; }
    body.replaceChildren(view(head),
      el("p", {class: "cut muted"}, `… ${kb(whole.length - 2 * PART_CHARS)} ${T.notShown} …`), view(tail));
  };
  const toggle = el("button", {class: "toggle", onclick: () => {
    mode = mode === "rich" ? "source" : "rich"; toggle.textContent = mode === "rich" ? "source" : "rendered"; draw();
  }}, "source");
  const tools = [toggle];
  if (long) {
    tools.push(el("button", {class: "toggle show-all", onclick: () => { mode = "all"; draw(); }},
      `${T.showAll} (${kb(whole.length)})`));
    if (download) tools.push(el("a", {class: "download", href: download, download: ""}, T.download));
    tools.push(el("span", {class: "muted long-note"}, ` ${kb(whole.length)}`));
  }
  draw();
  box.append(el("div", {class: "tools"}, ...tools), body);
  return box;
}

function lazyDetails(summary, cls, make) {
  // Collapsed sections render their content only when first opened.
  const details = el("details", {class: cls}, el("summary", {}, summary));
  details.addEventListener("toggle", () => {
    if (details.open && !details.dataset.drawn) { details.dataset.drawn = "1"; details.append(make()); }
  });
  return details;
}

// ---------------------------------------------------------------------------------------------
// Run pages

function card(label, value, id) {
  return el("div", {class: "card", id}, el("div", {class: "card-value"}, value), el("div", {class: "card-label"}, label));
}

function runHeader(run) {
  const config = run.config || {};
  const urls = config.url || config.api_url || "-";
  const endpoint = Array.isArray(urls) ? urls.join(", ") : urls;  // several endpoints: --url given more than once
  return [el("h1", {}, `${run.kind} · ${run.model}`),
    el("p", {class: "muted", id: "run-meta"}, `${run.id} · `,
      el("span", {class: run.status === "finished" ? "good" : run.status === "running" ? "warn" : "bad", id: "run-status"}, run.status),
      ` · ${when(run.started_epoch_s)} · endpoint ${endpoint}` + (config.engine ? ` · engine ${config.engine}` : "") +
      (run.assay_version ? ` · assay ${run.assay_version}` : ""))];
}

async function runPage(id) {
  const run = await api("/api/run?id=" + encodeURIComponent(id));
  title(run.model, run.kind === "eval" ? "eval" : "perf");
  if (run.status === "running") timer = setTimeout(route, 2000);  // live: follow a run in progress
  const body = run.kind === "eval" ? evalBody(run) : await perfBody(run);
  return el("div", {}, ...runHeader(run), ...body, el("h2", {}, T.config), configTable(run.config));
}

const SECRET_KEY = /(^|[_-])(api[_-]?key|key|token|secret|password|passwd|authorization|cookie)$/i;

function configTable(config) {
  // The configuration as key/value rows; anything that names a secret shows only whether it is set.
  const rows = [];
  const walk = (prefix, value) => {
    if (value && typeof value === "object" && !Array.isArray(value) && Object.keys(value).length) {
      for (const [k, v] of Object.entries(value)) walk(prefix ? `${prefix}.${k}` : k, v);
      return;
    }
    let shown;
    if (SECRET_KEY.test(prefix.split(".").pop())) shown = value === null || value === undefined || value === "" ? "unset" : "set";
    else shown = value === null || value === undefined ? "-" : typeof value === "object" ? JSON.stringify(value) : String(value);
    rows.push(el("tr", {"data-key": prefix}, el("th", {}, prefix), el("td", {}, shown)));
  };
  walk("", config || {});
  return el("table", {id: "config", class: "kv"}, ...rows);
}

function evalBody(run) {
  const head = ["Benchmark", "Metric", "Subset", "Num", "Score", "95% CI", "Truncated", "Errors", "Mean latency (ms)", "Tokens"];
  const rows = [], cards = [];
  for (const [benchmark, report] of Object.entries(run.report || {})) {
    const overall = report.overall || {};
    const metrics = Object.keys(overall.ci95 || {});
    const main = (overall.ci95 || {})["AveragePass@1"];
    if ("AveragePass@1" in overall) {
      const score = overall["AveragePass@1"];
      cards.push(card(`${benchmark}` + (main ? ` · 95% CI [${fixed(main[0])}, ${fixed(main[1])}]` : ""),
        fixed(score), "card-" + benchmark));
    }
    for (const metric of metrics) {
      for (const [subset, data] of [...Object.entries(report.subsets || {}), ["OVERALL", overall]]) {
        if (!(metric in data)) continue;
        const ci = (data.ci95 || {})[metric] || [];
        const link = new URLSearchParams({id: run.id, benchmark, ...(subset === "OVERALL" ? {} : {subset})});
        rows.push(el("tr", {"data-benchmark": benchmark, "data-subset": subset, "data-metric": metric},
          el("td", {}, benchmark), el("td", {}, metric),
          el("td", {}, el("a", {href: "#/samples?" + link, class: "subset-link"}, subset)), el("td", {class: "num"}, data.num),
          el("td", {class: "num score"}, fmt(data[metric])), el("td", {}, ci.length ? `[${fmt(ci[0])}, ${fmt(ci[1])}]` : "-"),
          el("td", {class: "num"}, data.truncated), el("td", {class: "num"}, data.errors),
          el("td", {class: "num"}, ms(data.mean_latency_s)), el("td", {class: "num"}, data.completion_tokens)));
      }
    }
  }
  return [el("div", {class: "cards"}, ...cards),
    el("p", {}, el("a", {href: "#/samples?id=" + encodeURIComponent(run.id), id: "to-samples"}, T.samples + " →")),
    el("table", {id: "scores"}, el("tr", {}, ...head.map(h => el("th", {}, h))), ...rows)];
}

// Interactive sweep charts (uPlot: zoom by dragging, values on hover). One colour per run on every
// chart; percentiles of one run share its colour and differ by dash. Y axes start at zero.
const COLOURS = ["#0969da", "#cf222e", "#1a7f37", "#9a6700", "#8250df", "#bf3989"];
const DASHES = {p50: undefined, p90: [6, 3], p99: [2, 3]};

function modeOf(points) { return points.some(p => p.rate !== null && p.rate !== undefined) ? "rate" : "concurrency"; }
function xOf(point) { return point.rate !== null && point.rate !== undefined ? point.rate : point.concurrency; }
const AXIS = {rate: "request rate (req/s)", concurrency: "concurrency (requests in flight)"};

function tick(value) { return value === null ? "" : String(Number(value.toPrecision(4))); }

function sweepChart(title, id, series, yLabel, xLabel) {
  // series: [{label, colour, dash, points: [[x, y], ...]}]; aligned on the union of x values.
  const box = el("div", {class: "chart", id}, el("h3", {}, title));
  if (!window.uPlot) return box;
  const xs = [...new Set(series.flatMap(s => s.points.map(p => p[0])))].sort((a, b) => a - b);
  const data = [xs, ...series.map(s => { const m = new Map(s.points); return xs.map(x => (m.has(x) ? m.get(x) : null)); })];
  const ink = getComputedStyle(document.body).getPropertyValue("--fg").trim() || "#1f2328";
  const grid = getComputedStyle(document.body).getPropertyValue("--line").trim() || "#d0d7de";
  const axis = label => ({label, stroke: ink, grid: {stroke: grid, width: 1}, ticks: {stroke: grid},
    values: (u, splits) => splits.map(tick)});
  const options = {width: 460, height: 250, legend: {live: false},
    scales: {x: {time: false}, y: {range: (u, min, max) => [0, max > 0 ? max * 1.08 : 1]}},
    axes: [axis(xLabel), axis(yLabel)],
    series: [{label: xLabel}, ...series.map(s => ({label: s.label, stroke: s.colour, dash: s.dash, width: 2,
      points: {show: true}, spanGaps: true}))]};
  box.append(el("div", {class: "plot"}));
  setTimeout(() => { box.plot = new window.uPlot(options, data, box.querySelector(".plot")); }, 0);
  return box;
}

function perfCharts(runs) {
  // runs: [{label, points, colour}]
  const modes = [...new Set(runs.map(r => modeOf(r.points)))];
  const xLabel = modes.length === 1 ? AXIS[modes[0]] : "concurrency or request rate (runs differ)";
  const line = (field, keys) => runs.flatMap(r => keys.map(key => ({label: `${r.label} ${key}`, colour: r.colour, dash: DASHES[key],
    points: r.points.map(p => [xOf(p), typeof (p[field] || {})[key] === "number" ? p[field][key] * 1000 : null])})));
  const simple = field => runs.map(r => ({label: r.label, colour: r.colour, points: r.points.map(p => [xOf(p), p[field] ?? null])}));
  if (runs.every(r => pooled(r.points))) {  // embeddings / rerank: nothing is generated, so no TTFT, TPOT, tokens/s
    const inputs = runs.map(r => ({label: r.label, colour: r.colour, points: r.points.map(p => [xOf(p), p.endpoint.inputs_per_s])}));
    return el("div", {class: "charts"},
      sweepChart("Requests per second", "chart-rps", simple("rps"), "req/s", xLabel),
      sweepChart(`${inputsWord(runs[0].points)} per second`, "chart-inputs", inputs, "inputs/s", xLabel),
      sweepChart("Latency (ms)", "chart-latency", line("latency_s", runs.length > 1 ? ["p50", "p99"] : ["p50", "p90", "p99"]), "ms", xLabel));
  }
  return el("div", {class: "charts"},
    sweepChart("Requests per second", "chart-rps", simple("rps"), "req/s", xLabel),
    sweepChart("Output tokens per second", "chart-tokens", simple("output_throughput"), "tok/s", xLabel),
    sweepChart("Latency (ms)", "chart-latency", line("latency_s", runs.length > 1 ? ["p50", "p99"] : ["p50", "p90", "p99"]), "ms", xLabel),
    sweepChart("TTFT (ms)", "chart-ttft", line("ttft_s", ["p50", "p99"]), "ms", xLabel),
    sweepChart("TPOT (ms)", "chart-tpot", line("tpot_s", ["p50", "p99"]), "ms", xLabel));
}

function loadLabel(p) {
  return p.rate !== null && p.rate !== undefined ? `${fmt(p.rate, 2)} req/s (cap ${p.concurrency})` : `concurrency ${p.concurrency}`;
}

// Embeddings, rerank and score runs (--api openai_embedding / openai_rerank): a point's `endpoint` object holds
// what they measure (inputs: texts embedded or documents ranked); nothing is generated.
const INPUTS_WORD = {embeddings: "Texts embedded", rerank: "Documents ranked", score: "Documents scored"};

function pooled(points) { return points.length > 0 && points.every(p => p.endpoint && typeof p.endpoint === "object"); }

function inputsWord(points) { return INPUTS_WORD[((points[0] || {}).endpoint || {}).kind] || "Inputs"; }

function pooledRows(points) {
  // The sweep table of a run that generates nothing: latency, requests/s, inputs/s, input tokens/s, inputs per request.
  const get = (p, f, k) => (p[f] || {})[k];
  const head = ["Load", "Requests", "Success", "RPS", `${inputsWord(points)}/s`, "Input tok/s", "Inputs/request",
    "Input tokens/request", "Avg Lat. (ms)", "P50 Lat. (ms)", "P99 Lat. (ms)", "Client"];
  const rows = points.map(p => el("tr", {"data-point": p.point},
    el("td", {class: "load"}, loadLabel(p)),
    el("td", {class: "num"}, p.requests), el("td", {class: "num"}, pct(p.success_rate)),
    el("td", {class: "num rps"}, fmt(p.rps, 2)), el("td", {class: "num inputs-per-s"}, fmt(p.endpoint.inputs_per_s, 1)),
    el("td", {class: "num input-tokens-per-s"}, fmt(p.endpoint.input_tokens_per_s, 0)),
    el("td", {class: "num inputs-per-request"}, fmt(get(p.endpoint, "inputs_per_request", "mean"), 1)),
    el("td", {class: "num"}, fmt(get(p, "input_tokens_per_request", "mean"), 1)),
    el("td", {class: "num latency-mean"}, ms(get(p, "latency_s", "mean"))), el("td", {class: "num"}, ms(get(p, "latency_s", "p50"))),
    el("td", {class: "num latency-p99"}, ms(get(p, "latency_s", "p99"))),
    el("td", {class: (p.client || {}).client_bound ? "bad" : ""}, (p.client || {}).client_bound ? "client-bound" : "ok")));
  return [head, rows];
}

async function perfBody(run) {
  const points = (run.summary || {}).points || [];
  if (pooled(points)) return pooledBody(run, points);
  const head = ["Load", "Requests", "Success", "RPS", "Gen. tok/s", "Avg TTFT (ms)", "P99 TTFT (ms)", "Avg TPOT (ms)", "P99 TPOT (ms)", "Avg ITL (ms)", "P99 Lat. (ms)", "Client"];
  const get = (p, f, k) => (p[f] || {})[k];
  const rows = points.map(p => el("tr", {"data-point": p.point},
    el("td", {class: "load"}, loadLabel(p)),
    el("td", {class: "num"}, p.requests), el("td", {class: "num"}, pct(p.success_rate)),
    el("td", {class: "num rps"}, fmt(p.rps, 2)), el("td", {class: "num"}, fmt(p.output_throughput, 1)),
    el("td", {class: "num"}, ms(get(p, "ttft_s", "mean"))), el("td", {class: "num ttft-p99"}, ms(get(p, "ttft_s", "p99"))),
    el("td", {class: "num"}, ms(get(p, "tpot_s", "mean"), 2)), el("td", {class: "num"}, ms(get(p, "tpot_s", "p99"), 2)),
    el("td", {class: "num"}, ms(get(p, "itl_s", "mean"), 2)), el("td", {class: "num"}, ms(get(p, "latency_s", "p99"))),
    el("td", {class: (p.client || {}).client_bound ? "bad" : ""}, (p.client || {}).client_bound ? "client-bound" : "ok")));
  const bound = points.filter(p => (p.client || {}).client_bound);
  const requests = points.reduce((n, p) => n + (p.requests || 0), 0), ok = points.reduce((n, p) => n + (p.succeeded || 0), 0);
  const best = points.reduce((b, p) => (p.rps > (b ? b.rps : -1) ? p : b), null);
  const cards = el("div", {class: "cards"},
    card("best RPS" + (best ? ` (${loadLabel(best)})` : ""), best ? fmt(best.rps, 2) : "-", "card-best-rps"),
    card("success rate", requests ? fmt(100 * ok / requests, 1) + "%" : "-", "card-success"),
    card("TTFT p99 at each point (ms)", points.map(p => ms(get(p, "ttft_s", "p99"))).join(" · ") || "-", "card-ttft"),
    card("points", String(points.length), "card-points"));
  return [cards,
    run.has_report_html ? el("p", {}, el("a", {href: "/report?id=" + encodeURIComponent(run.id), id: "to-report"}, T.report + " (timeline, distributions)")) : null,
    bound.length ? el("p", {class: "bad", id: "client-bound"}, `Client-bound points (timings may be the client's): ${bound.map(loadLabel).join(", ")}`) : null,
    perfCharts([{label: run.model, points, colour: COLOURS[0]}]),
    el("table", {id: "points"}, el("tr", {}, ...head.map(h => el("th", {}, h))), ...rows),
    endpointsTable(points),
    generationTable(points),
    turnsBox(points),
    await requestsTable(run.id)];
}

async function pooledBody(run, points) {
  const [head, rows] = pooledRows(points);
  const kind = points[0].endpoint.kind, word = inputsWord(points);
  const requests = points.reduce((n, p) => n + (p.requests || 0), 0), ok = points.reduce((n, p) => n + (p.succeeded || 0), 0);
  const best = points.reduce((b, p) => (p.rps > (b ? b.rps : -1) ? p : b), null);
  const most = points.reduce((b, p) => (p.endpoint.inputs_per_s > (b ? b.endpoint.inputs_per_s : -1) ? p : b), null);
  const cards = el("div", {class: "cards"},
    card("best RPS" + (best ? ` (${loadLabel(best)})` : ""), best ? fmt(best.rps, 2) : "-", "card-best-rps"),
    card(`best ${word.toLowerCase()}/s` + (most ? ` (${loadLabel(most)})` : ""), most ? fmt(most.endpoint.inputs_per_s, 1) : "-", "card-best-inputs"),
    card("success rate", requests ? fmt(100 * ok / requests, 1) + "%" : "-", "card-success"),
    card("latency p99 at each point (ms)", points.map(p => ms((p.latency_s || {}).p99)).join(" · ") || "-", "card-latency"),
    card("points", String(points.length), "card-points"));
  const bound = points.filter(p => (p.client || {}).client_bound);
  return [cards,
    el("p", {class: "muted", id: "pooled-note"}, `/${kind}: no tokens are generated, so there is no TTFT, TPOT or ITL; ` +
      `an input is one ${kind === "embeddings" ? "text embedded" : "document ranked against the query"}.`),
    run.has_report_html ? el("p", {}, el("a", {href: "/report?id=" + encodeURIComponent(run.id), id: "to-report"}, T.report + " (timeline, distributions)")) : null,
    bound.length ? el("p", {class: "bad", id: "client-bound"}, `Client-bound points (timings may be the client's): ${bound.map(loadLabel).join(", ")}`) : null,
    perfCharts([{label: run.model, points, colour: COLOURS[0]}]),
    el("table", {id: "points", class: "pooled"}, el("tr", {}, ...head.map(h => el("th", {}, h))), ...rows),
    endpointsTable(points),
    await requestsTable(run.id, POOLED_REQUEST_COLUMNS)];
}

function turnsBox(points) {
  // --multi-turn: every session's turn k together (H1's `sessions.by_turn`): with a prefix cache, TTFT should stay
  // near turn 0's however long the conversation grows, and the cached tokens should cover all but the newest message.
  const shown = points.filter(p => ((p.sessions || {}).by_turn || []).length);
  if (!shown.length) return null;
  const lines = shown.map(p => {
    const s = p.sessions;
    return el("p", {class: "sessions-line", "data-point": p.point}, `${loadLabel(p)}: ${s.completed} of ${s.sessions} sessions completed` +
      (s.ended_by_failure ? `, ${s.ended_by_failure} ended by a failed turn` : "") +
      ` · ${fmt(s.sessions_per_s, 3)} sessions/s · ${fmt(s.turns_per_session, 2)} turns/session · cached prompt tokens ` +
      (typeof s.cached_share === "number" ? pct(s.cached_share) : "not reported"));
  });
  const rows = shown.flatMap(p => p.sessions.by_turn.map(t => el("tr", {"data-point": p.point, "data-turn": t.turn},
    el("td", {class: "load"}, loadLabel(p)), el("td", {class: "num turn"}, t.turn), el("td", {class: "num"}, t.requests),
    el("td", {class: "num"}, t.requests - t.succeeded), el("td", {class: "num ttft-mean"}, ms((t.ttft_s || {}).mean)),
    el("td", {class: "num"}, ms((t.ttft_s || {}).p50)), el("td", {class: "num ttft-p99"}, ms((t.ttft_s || {}).p99)),
    el("td", {class: "num prompt-tokens"}, fmt(t.prompt_tokens_mean, 1)), el("td", {class: "num cached-tokens"}, fmt(t.cached_tokens_mean, 1)),
    el("td", {class: "num cached-share"}, pct(t.cached_share)))));
  const head = ["Load", "Turn", "Requests", "Failed", "Avg TTFT (ms)", "P50 TTFT (ms)", "P99 TTFT (ms)", "Prompt tokens",
    "Cached tokens", "Cached %"];
  const series = (value, keys) => shown.flatMap((p, i) => keys.map(([key, label, dash]) => ({
    label: `${loadLabel(p)} ${label}`, colour: COLOURS[i % COLOURS.length], dash,
    points: p.sessions.by_turn.map(t => [t.turn, value(t, key)])})));
  const ttft = series((t, key) => (typeof (t.ttft_s || {})[key] === "number" ? t.ttft_s[key] * 1000 : null),
    [["mean", "mean"], ["p99", "p99", DASHES.p99]]);
  const tokens = series((t, key) => t[key] ?? null, [["cached_tokens_mean", "cached", undefined], ["prompt_tokens_mean", "prompt", DASHES.p90]]);
  return el("div", {id: "turns-box"}, el("h2", {}, "By turn (multi-turn sessions)"), ...lines,
    el("div", {class: "charts"}, sweepChart("TTFT by turn (ms)", "chart-turn-ttft", ttft, "ms", "turn"),
      sweepChart("Prompt and cached tokens by turn", "chart-turn-cached", tokens, "tokens", "turn")),
    el("table", {id: "turns"}, el("tr", {}, ...head.map(h => el("th", {}, h))), ...rows));
}

function generationTable(points) {
  // Reasoning models (time to first answer token beside TTFT, reasoning tokens) and speculative decoding (tokens
  // per chunk; the server's draft acceptance with --server-metrics): shown only when a point has something to say.
  const spec = p => (p.server || {}).mean_acceptance_length !== undefined;
  const chunky = p => typeof (p.tokens_per_chunk || {}).mean === "number" && Math.abs(p.tokens_per_chunk.mean - 1) > 1e-9;
  const shown = points.filter(p => p.reasoning_requests || p.reasoning_tokens || chunky(p) || spec(p));
  if (!shown.length) return null;
  const get = (p, f, k) => (p[f] || {})[k];
  const rows = shown.map(p => el("tr", {"data-point": p.point},
    el("td", {class: "load"}, loadLabel(p)),
    el("td", {class: "num"}, ms(get(p, "ttft_s", "mean"))), el("td", {class: "num ttfo"}, ms(get(p, "ttfo_s", "mean"))),
    el("td", {class: "num"}, ms(get(p, "ttfo_s", "p99"))),
    el("td", {class: "num reasoning-tokens"}, fmt(get(p, "reasoning_tokens_per_request", "mean"), 1)),
    el("td", {class: "num tokens-per-chunk"}, fmt(get(p, "tokens_per_chunk", "mean"), 2)),
    el("td", {class: "num acceptance"}, spec(p) && typeof p.server.draft_acceptance_rate === "number" ? pct(p.server.draft_acceptance_rate) : "-"),
    el("td", {class: "num acceptance-length"}, spec(p) ? fmt(p.server.mean_acceptance_length, 2) : "-")));
  const head = ["Load", "Avg TTFT (ms)", "Avg TTFO (ms)", "P99 TTFO (ms)", "Reasoning tok/request", "Tokens/chunk",
    "Draft acceptance", "Mean acceptance length"];
  return el("div", {id: "generation-box"}, el("h2", {}, "Reasoning and decoding"),
    el("p", {class: "muted note"}, "TTFO: time to the first answer token (after the reasoning). Draft acceptance and " +
      "acceptance length: the server's speculative-decoding counters over the point (--server-metrics)."),
    el("table", {id: "generation"}, el("tr", {}, ...head.map(h => el("th", {}, h))), ...rows));
}

function endpointsTable(points) {
  // Several endpoints (--url given more than once): each one's share of each point; the table above is overall.
  const rows = points.flatMap(p => Object.entries(p.endpoints || {}).map(([url, e]) => el("tr", {"data-point": p.point, "data-endpoint": url},
    el("td", {class: "load"}, loadLabel(p)), el("td", {class: "endpoint"}, url),
    el("td", {class: "num"}, e.requests), el("td", {class: "num"}, pct(e.success_rate)), el("td", {class: "num"}, fmt(e.rps, 2)),
    el("td", {class: "num"}, fmt(e.output_throughput, 1)), el("td", {class: "num"}, ms((e.ttft_s || {}).mean)),
    el("td", {class: "num"}, ms((e.ttft_s || {}).p99)), el("td", {class: "num"}, ms((e.tpot_s || {}).mean, 2)),
    el("td", {class: "num"}, ms((e.latency_s || {}).p99)))));
  if (!rows.length) return null;
  const head = ["Load", "Endpoint", "Requests", "Success", "RPS", "Gen. tok/s", "Avg TTFT (ms)", "P99 TTFT (ms)", "Avg TPOT (ms)", "P99 Lat. (ms)"];
  return el("div", {id: "endpoints-box"}, el("h2", {}, "Per endpoint"),
    el("table", {id: "endpoints"}, el("tr", {}, ...head.map(h => el("th", {}, h))), ...rows));
}

const REQUEST_COLUMNS = [["index", "#"], ["point", "Point"], ["phase", "Phase"], ["ttft_ms", "TTFT (ms)"],
  ["latency_ms", "Latency (ms)"], ["completion_tokens", "Tokens"], ["result", "Result"]];
const POOLED_REQUEST_COLUMNS = [["index", "#"], ["point", "Point"], ["phase", "Phase"], ["latency_ms", "Latency (ms)"],
  ["inputs", "Inputs"], ["prompt_tokens", "Input tokens"], ["result", "Result"]];
const REQUEST_CELLS = {
  index: r => el("td", {class: "num"}, r.index), point: r => el("td", {class: "num"}, r.point), phase: r => el("td", {}, r.phase),
  ttft_ms: r => el("td", {class: "num ttft"}, fmt(r.ttft_ms, 1)), latency_ms: r => el("td", {class: "num latency"}, fmt(r.latency_ms, 1)),
  completion_tokens: r => el("td", {class: "num"}, r.completion_tokens ?? "-"), inputs: r => el("td", {class: "num inputs"}, r.inputs ?? "-"),
  prompt_tokens: r => el("td", {class: "num input-tokens"}, r.prompt_tokens ?? "-"),
  result: r => el("td", {class: r.error ? "bad" : ""}, r.error || "ok"),
};

async function requestsTable(id, columns = REQUEST_COLUMNS) {
  // Paged by the server, sorted by any column (click a header; again to reverse); redrawn in place.
  const box = el("div", {id: "requests-box"});
  const state = {page: 1, sort: "", desc: false};
  const draw = async () => {
    const qs = new URLSearchParams({id, page: state.page, size: 50, sort: state.sort, desc: state.desc ? "1" : "0"});
    const data = await api("/api/requests?" + qs);
    const pages = Math.max(1, Math.ceil(data.total / data.size));
    const header = el("tr", {}, ...columns.map(([key, label]) => el("th", {class: "sortable", "data-sort": key,
      onclick: () => { state.desc = state.sort === key ? !state.desc : false; state.sort = key; state.page = 1; draw(); }},
      label + (state.sort === key ? (state.desc ? " ▼" : " ▲") : ""))));
    const rows = data.rows.map(r => el("tr", {"data-index": r.index}, ...columns.map(([key]) => REQUEST_CELLS[key](r))));
    box.replaceChildren(el("h2", {}, `${T.requests} (${data.total})`),
      data.skipped ? el("p", {class: "warn"}, `${data.skipped} lines of requests.jsonl skipped (not records)`) : "",
      el("div", {class: "pager"},
        el("button", {id: "requests-prev", onclick: () => { if (state.page > 1) { state.page--; draw(); } }}, "←"),
        el("span", {id: "requests-page"}, `${T.page} ${state.page} / ${pages}`),
        el("button", {id: "requests-next", onclick: () => { if (state.page < pages) { state.page++; draw(); } }}, "→")),
      el("table", {id: "requests"}, header, ...rows));
  };
  await draw();
  return box;
}

// ---------------------------------------------------------------------------------------------
// Samples

async function samplesPage(query) {
  const id = query.get("id"), page = Number(query.get("page") || 1);
  const filters = {verdict: query.get("verdict") || "", q: query.get("q") || "", sample: query.get("sample") || "",
    benchmark: query.get("benchmark") || "", subset: query.get("subset") || ""};
  title(T.samples, id);
  const qs = new URLSearchParams({id, page, size: 20, ...filters});
  const data = await api("/api/samples?" + qs);
  const go = (change) => {
    const next = new URLSearchParams({id, page: 1, ...filters, ...change});
    location.hash = "#/samples?" + next;
  };
  const buttons = ["", "correct", "wrong", "error", "truncated"].map(v => el("button",
    {class: v === filters.verdict ? "active" : "", "data-verdict": v || "all", onclick: () => go({verdict: v})},
    `${v || T.all}${v ? ` (${data.counts[v] || 0})` : ""}`));
  const option = (value, label, selected) => { const o = el("option", {value}, label); o.selected = selected; return o; };
  const benchmarks = data.benchmarks || {};
  const benchmarkSelect = el("select", {id: "filter-benchmark", onchange: e => go({benchmark: e.target.value, subset: ""})},
    option("", `${T.benchmark}: ${T.all}`, false), ...Object.keys(benchmarks).map(b => option(b, b, b === filters.benchmark)));
  const subsets = filters.benchmark ? benchmarks[filters.benchmark] || [] : [...new Set(Object.values(benchmarks).flat())].sort();
  const subsetSelect = el("select", {id: "filter-subset", onchange: e => go({subset: e.target.value})},
    option("", `${T.subset}: ${T.all}`, false), ...subsets.map(s => option(s, s, s === filters.subset)));
  const search = el("input", {type: "search", id: "search", placeholder: T.search, value: filters.q});
  search.addEventListener("keydown", e => { if (e.key === "Enter") go({q: search.value}); });
  const cards = data.rows.map(row => sampleCard(row, id));
  const pages = Math.max(1, Math.ceil(data.total / data.size));
  const pager = (where) => el("div", {class: "pager"},
    el("button", {id: `prev-${where}`, onclick: () => go({page: Math.max(1, page - 1)})}, "←"),
    el("span", {id: `page-info-${where}`}, `${T.page} ${page} / ${pages} · ${data.total}`),
    el("button", {id: `next-${where}`, onclick: () => go({page: Math.min(pages, page + 1)})}, "→"));
  return el("div", {}, el("h1", {}, T.samples), el("p", {}, el("a", {href: "#/run?id=" + encodeURIComponent(id)}, "← " + id)),
    el("div", {class: "filters"}, ...buttons, benchmarkSelect, subsetSelect, search,
      filters.sample ? el("button", {onclick: () => go({sample: ""})}, `sample ${filters.sample} ×`) : null),
    data.skipped ? el("p", {class: "warn", id: "skipped"}, `${data.skipped} lines of samples.jsonl skipped (torn, not JSON, or not a record)`) : null,
    pager("top"), el("div", {id: "samples", class: filters.sample ? "side-by-side" : ""}, ...cards), pager("bottom"));
}

// Function calling (bfcl_v3, general_fc): the tools a request offered (the sample's `meta.request.tools`), the
// calls the server parsed (`tool_calls`: name and arguments, the JSON text as sent) and how the verdict was reached.
function toolsOffered(row) {
  const meta = row.meta && typeof row.meta === "object" ? row.meta : {};
  const tools = (meta.request && typeof meta.request === "object" ? meta.request.tools : null) || meta.tools;
  return Array.isArray(tools) ? tools : [];
}

function asCall(call) {
  // A stored call ({id, name, arguments}) or a message's OpenAI call ({id, type, function: {name, arguments}}).
  const c = call && typeof call === "object" ? call : {};
  const f = c.function && typeof c.function === "object" ? c.function : c;
  return {id: c.id ?? null, name: f.name ?? "?", arguments: f.arguments ?? ""};
}

function prettyArguments(value) {
  // The arguments as indented JSON; text that is not JSON as it was sent (the verdict says what is wrong with it).
  if (typeof value !== "string") return JSON.stringify(value, null, 2);
  try { return JSON.stringify(JSON.parse(value), null, 2); } catch (error) { return value; }
}

function callsView(calls, cls) {
  return el("div", {class: "tool-calls " + cls}, ...calls.map(asCall).map((c, i) => el("div", {class: "tool-call", "data-call": i},
    el("div", {class: "tool-call-head"}, el("code", {class: "tool-name"}, c.name), c.id ? el("span", {class: "muted note"}, ` · id ${c.id}`) : null),
    el("pre", {class: "plain tool-arguments"}, prettyArguments(c.arguments)))));
}

function toolsView(tools) {
  return el("div", {class: "tools-list"}, ...tools.map((t, i) => {
    const f = t && typeof t === "object" && t.function && typeof t.function === "object" ? t.function : (t || {});
    return el("div", {class: "tool", "data-tool": f.name ?? i},
      el("div", {}, el("code", {class: "tool-name"}, f.name ?? "?"), f.description ? el("span", {class: "muted"}, ` · ${f.description}`) : null),
      f.parameters ? el("pre", {class: "plain tool-parameters"}, JSON.stringify(f.parameters, null, 2)) : null);
  }));
}

function callsReadFromText(extracted) {
  // A server without a tool parser: the calls the scorer read from the answer text (`extracted`, a JSON list).
  if (typeof extracted !== "string") return [];
  try { const calls = JSON.parse(extracted); return Array.isArray(calls) ? calls : []; } catch (error) { return []; }
}

function messageText(message) {
  // One message as plain text (the copy of the whole prompt): its text and, for an assistant's function calls, name(arguments).
  const m = message && typeof message === "object" ? message : {content: message};
  const content = typeof m.content === "string" ? m.content : m.content === null || m.content === undefined ? "" : JSON.stringify(m.content);
  const calls = Array.isArray(m.tool_calls) ? m.tool_calls.map(asCall).map(c => `${c.name}(${c.arguments})`) : [];
  const head = m.role === "tool" && m.tool_call_id ? `[tool ${m.tool_call_id}]` : `[${m.role}]`;
  return [head, content, ...calls].filter(Boolean).join(" ");
}

function sampleCard(row, runId) {
  const messages = Array.isArray(row.messages) ? row.messages : [];
  const prompt = messages.map(messageText).join("\n\n");
  const tools = toolsOffered(row), calls = Array.isArray(row.tool_calls) ? row.tool_calls : [];
  const functionCalling = tools.length > 0 || calls.length > 0;
  const read = functionCalling && !calls.length ? callsReadFromText(row.extracted) : [];
  const download = field => "/api/sample-text?" + new URLSearchParams({id: runId, key: row.key, field});
  const answer = row.answer_text ?? row.response;  // what was judged: reasoning (<think>, harmony analysis) removed
  const query = new URLSearchParams(params().query);
  query.set("sample", row.sample_id); query.set("page", 1); query.set("verdict", "");
  const facts = [row.finish_reason ? `finish ${row.finish_reason}` : null,
    typeof row.completion_tokens === "number" ? `${row.completion_tokens} tokens` : null,
    typeof row.latency_s === "number" ? `${ms(row.latency_s, row.latency_s < 0.01 ? 2 : 0)} ms` : null,
    row.attempts > 1 ? `${row.attempts} attempts` : null, row.method && !functionCalling ? `judged by ${row.method}` : null].filter(Boolean);
  return el("div", {class: "sample", "data-key": row.key},
    el("div", {}, el("span", {class: `tag ${row.verdict}`}, row.verdict), " ",
      el("b", {}, `${row.benchmark} / ${row.subset} / ${row.sample_id}`), ` · repeat ${row.repeat}`,
      " · ", el("a", {href: "#/samples?" + query, class: "repeats"}, T.repeats)),
    el("div", {class: "facts muted"}, facts.join(" · ")),
    functionCalling ? el("div", {class: "verdict-line"}, `${T.gold}: `, el("code", {class: "gold"}, row.gold ?? "-"),
      row.error ? el("span", {class: "bad"}, ` · ${row.error}`) : null)
      : el("div", {class: "verdict-line"}, `${T.extracted}: `, renderMathValue(row.extracted, "extracted"), ` · ${T.gold}: `,
        renderMathValue(row.gold, "gold"), row.error ? el("span", {class: "bad"}, ` · ${row.error}`) : null),
    functionCalling && row.method ? el("div", {class: "method-line"}, `${T.method}: `, el("code", {class: "method"}, row.method)) : null,
    lazyDetails(`${T.conversation} (${messages.length})`, "prompt-box", () => chatView(messages, prompt)),
    tools.length ? lazyDetails(`${T.toolsOffered} (${tools.length}): ${tools.map(t => asCall(t).name).join(", ")}`, "tools-offered",
      () => toolsView(tools)) : null,
    row.reasoning ? lazyDetails(`${T.reasoning} (${kb(row.reasoning.length)})`, "reasoning",
      () => textBox(row.reasoning, "reasoning-text", download("reasoning"))) : null,
    functionCalling ? el("div", {class: "answer-title calls-title"}, `${T.toolCalls} (${calls.length || read.length})`) : null,
    functionCalling ? (calls.length ? callsView(calls, "made") : read.length ? el("div", {},
      el("p", {class: "muted note"}, T.callsInText), callsView(read, "from-text")) : el("p", {class: "muted no-calls"}, T.noCalls)) : null,
    functionCalling && !answer ? null : el("div", {class: "answer-title"}, T.answer),
    functionCalling && !answer ? null : textBox(answer ?? "-", "answer", download(row.answer_text !== null && row.answer_text !== undefined ? "answer_text" : "response")),
    row.response && row.response !== answer ? lazyDetails(T.rawResponse, "raw-response",
      () => textBox(row.response, "raw", download("response"))) : null,
    lazyDetails(T.details, "sample-details", () => el("pre", {class: "plain json"}, JSON.stringify({
      score: row.score, scores: row.scores, method: row.method, judge: row.judge, meta: row.meta,
      finish_reason: row.finish_reason, prompt_tokens: row.prompt_tokens, completion_tokens: row.completion_tokens,
      latency_s: row.latency_s, ttft_s: row.ttft_s, http_status: row.http_status, attempts: row.attempts,
      error: row.error, error_kind: row.error_kind, extracted: functionCalling ? row.extracted : undefined}, null, 1))));
}

function copyButton(text) {
  const button = el("button", {class: "toggle copy", onclick: async () => {
    try { await navigator.clipboard.writeText(text); button.textContent = "✓"; }
    catch (error) { button.textContent = "✗"; }
    setTimeout(() => { button.textContent = T.copy; }, 1200);
  }}, T.copy);
  return button;
}

function chatView(messages, whole) {
  // The prompt as the model saw it: one bubble per message (role, text, tool calls, images named).
  const bubbles = messages.map((m, i) => {
    const message = m && typeof m === "object" ? m : {content: String(m)};
    let content = message.content;
    const images = [];
    if (Array.isArray(content)) {  // OpenAI content parts
      content = content.map(part => {
        if (part && part.type === "text") return part.text;
        if (part && part.type === "image_url") { images.push((part.image_url || {}).url || ""); return ""; }
        return JSON.stringify(part);
      }).join("\n");
    }
    const text = content === null || content === undefined ? "" : String(content);
    const calls = Array.isArray(message.tool_calls) ? message.tool_calls : [];
    return el("div", {class: `bubble role-${String(message.role || "user").replace(/[^a-z]/g, "")}`, "data-message": i},
      el("div", {class: "bubble-head"}, el("b", {}, message.role || "?"),
        message.tool_call_id ? el("span", {class: "muted note tool-call-id"}, `answers call ${message.tool_call_id}`) : null,
        copyButton(text || messageText(message))),
      text || !calls.length ? textBox(text, "prompt") : null,  // an assistant's function calls alone have content null
      ...images.map(url => el("div", {class: "muted"}, `[image: ${url.startsWith("data:") ? "inline data, " + kb(url.length) : url}]`)),
      calls.length ? callsView(calls, "in-message") : null);
  });
  return el("div", {class: "chat"}, el("div", {class: "tools"}, copyButton(whole)), ...bubbles);
}

// ---------------------------------------------------------------------------------------------
// Scores: models x benchmarks, every (run, benchmark) report searchable, filterable, sortable, paged

async function scoresPage(query) {
  title(T.scores);
  const data = await api("/api/runs?kind=eval");
  const reports = [];
  for (const run of data.runs.filter(r => !r.problem)) {
    for (const [benchmark, score] of Object.entries((run.headline || {}).scores || {})) {
      reports.push({run: run.id, model: run.model, benchmark, score, started: run.started_epoch_s, status: run.status});
    }
  }
  const state = {q: query.get("q") || "", min: query.get("min") || "", max: query.get("max") || "",
    sort: query.get("sort") || "started", desc: query.get("desc") !== "0", group: query.get("group") || "", page: Number(query.get("page") || 1)};
  const go = change => {
    const next = {...state, page: 1, ...change};
    location.hash = "#/scores?" + new URLSearchParams({...next, desc: next.desc ? "1" : "0"});
  };
  // The dashboard: the latest score of each model on each benchmark.
  const models = [...new Set(reports.map(r => r.model))].sort(), benchmarks = [...new Set(reports.map(r => r.benchmark))].sort();
  const latest = new Map();
  for (const r of reports) { const k = r.model + "\u0000" + r.benchmark; if (!latest.has(k) || latest.get(k).started < r.started) latest.set(k, r); }
  const matrix = el("table", {id: "dashboard"}, el("tr", {}, el("th", {}, T.model), ...benchmarks.map(b => el("th", {}, b))),
    ...models.map(m => el("tr", {"data-model": m}, el("th", {}, m), ...benchmarks.map(b => {
      const r = latest.get(m + "\u0000" + b);
      return el("td", {class: "num"}, r ? el("a", {href: "#/run?id=" + encodeURIComponent(r.run)}, fixed(r.score)) : "-");
    }))));
  // The reports table.
  const needle = state.q.toLowerCase();
  let shown = reports.filter(r => (!needle || `${r.model} ${r.benchmark} ${r.run}`.toLowerCase().includes(needle))
    && (state.min === "" || (typeof r.score === "number" && r.score >= Number(state.min)))
    && (state.max === "" || (typeof r.score === "number" && r.score <= Number(state.max))));
  const key = r => r[state.sort] ?? (state.sort === "score" ? -1 : "");
  shown.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0) * (state.desc ? -1 : 1));
  if (state.group) shown = [...shown].sort((a, b) => String(a[state.group]).localeCompare(String(b[state.group])));  // stable: sort kept within groups
  const size = 20, pages = Math.max(1, Math.ceil(shown.length / size)), page = Math.min(state.page, pages);
  const rows = [];
  let group = null;
  for (const r of shown.slice((page - 1) * size, page * size)) {
    if (state.group && r[state.group] !== group) { group = r[state.group]; rows.push(el("tr", {class: "group"}, el("th", {colspan: 5}, `${state.group}: ${group}`))); }
    rows.push(el("tr", {"data-report": `${r.run}:${r.benchmark}`}, el("td", {}, r.model), el("td", {}, r.benchmark),
      el("td", {class: "num score"}, fixed(r.score)), el("td", {}, el("a", {href: "#/run?id=" + encodeURIComponent(r.run)}, r.run)),
      el("td", {}, when(r.started))));
  }
  const heads = [["model", T.model], ["benchmark", T.benchmark], ["score", "Score"], ["run", "Run"], ["started", T.started]];
  const header = el("tr", {}, ...heads.map(([k, label]) => el("th", {class: "sortable", "data-sort": k,
    onclick: () => go({sort: k, desc: state.sort === k ? !state.desc : false})}, label + (state.sort === k ? (state.desc ? " ▼" : " ▲") : ""))));
  const input = (id, value, placeholder, name, type) => { const i = el("input", {id, type: type || "search", placeholder, value, step: "0.01"});
    i.addEventListener("keydown", e => { if (e.key === "Enter") go({[name]: i.value}); }); i.addEventListener("change", () => go({[name]: i.value})); return i; };
  const groupSelect = el("select", {id: "group-by", onchange: e => go({group: e.target.value})},
    ...[["", "no grouping"], ["model", "group by model"], ["benchmark", "group by benchmark"]].map(([v, l]) => { const o = el("option", {value: v}, l); o.selected = v === state.group; return o; }));
  return el("div", {}, el("h1", {}, T.scores),
    el("div", {class: "dash"}, matrix, radar(models, benchmarks, latest)),
    el("h2", {}, `Reports (${shown.length})`),
    el("div", {class: "filters"}, input("reports-search", state.q, T.search, "q"), "score ≥", input("score-min", state.min, "0", "min", "number"),
      "≤", input("score-max", state.max, "1", "max", "number"), groupSelect),
    el("div", {class: "pager"},
      el("button", {id: "reports-prev", onclick: () => go({page: Math.max(1, page - 1)})}, "←"),
      el("span", {id: "reports-page"}, `${T.page} ${page} / ${pages}`),
      el("button", {id: "reports-next", onclick: () => go({page: Math.min(pages, page + 1)})}, "→")),
    el("table", {id: "reports"}, header, ...rows));
}

function radar(allModels, allBenchmarks, latest) {
  // One polygon per model over the benchmarks (scores 0..1), drawn as SVG, for the models scored on
  // three benchmarks or more (a missing score would read as zero), over the benchmarks they have.
  const has = (m, b) => latest.has(m + "\u0000" + b);
  const models = allModels.filter(m => allBenchmarks.filter(b => has(m, b)).length >= 3);
  const benchmarks = allBenchmarks.filter(b => models.some(m => has(m, b)));
  if (!models.length) return el("p", {class: "muted", id: "radar-note"}, "A radar chart needs a model scored on three benchmarks or more.");
  const NS = "http://www.w3.org/2000/svg", size = 320, c = size / 2, r = size / 2 - 50;
  const node = (tag, attrs) => { const n = document.createElementNS(NS, tag); for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v); return n; };
  const svg = node("svg", {id: "radar", width: size, height: size, viewBox: `0 0 ${size} ${size}`, role: "img"});
  const at = (i, v) => { const a = -Math.PI / 2 + 2 * Math.PI * i / benchmarks.length; return [c + r * v * Math.cos(a), c + r * v * Math.sin(a)]; };
  for (const ring of [0.25, 0.5, 0.75, 1]) svg.append(node("polygon", {points: benchmarks.map((_, i) => at(i, ring).join(",")).join(" "), class: "radar-grid"}));
  benchmarks.forEach((b, i) => { const [x, y] = at(i, 1.12); const t = node("text", {x, y, "text-anchor": "middle", class: "radar-label"}); t.textContent = b; svg.append(t); });
  models.forEach((m, k) => {
    const points = benchmarks.map((b, i) => at(i, Math.max(0, Math.min(1, (latest.get(m + "\u0000" + b) || {}).score || 0))).join(",")).join(" ");
    const shape = node("polygon", {points, fill: COLOURS[k % COLOURS.length], "fill-opacity": "0.15", stroke: COLOURS[k % COLOURS.length], "stroke-width": "2", "data-model": m});
    const label = node("title", {}); label.textContent = m; shape.append(label); svg.append(shape);
  });
  return el("div", {class: "radar-box"}, svg, el("div", {class: "legend"}, ...models.map((m, k) => el("span", {}, el("span", {class: "swatch", style: `background:${COLOURS[k % COLOURS.length]}`}), m, " "))));
}

// ---------------------------------------------------------------------------------------------
// Benchmarks seen in the runs, as the runs described them

async function benchmarksPage(query) {
  title(T.benchmarks);
  const data = await api("/api/benchmarks");
  const open = query.get("name");
  return el("div", {}, el("h1", {}, T.benchmarks),
    data.benchmarks.length ? null : el("p", {class: "muted"}, "No eval runs yet."),
    ...data.benchmarks.map(b => {
      const details = el("details", {class: "benchmark", "data-benchmark": b.name},
        el("summary", {}, el("b", {}, b.name), ` · ${b.description || ""}`),
        el("table", {class: "kv"},
          el("tr", {}, el("th", {}, "subsets"), el("td", {}, (b.subsets || []).join(", ") || "-")),
          el("tr", {}, el("th", {}, "metrics"), el("td", {}, (b.metrics || []).join(", ") || "-")),
          el("tr", {}, el("th", {}, "Hugging Face"), el("td", {}, b.huggingface || "-")),
          el("tr", {}, el("th", {}, "ModelScope"), el("td", {}, b.modelscope || "-"))),
        el("table", {class: "benchmark-runs"}, el("tr", {}, el("th", {}, T.model), el("th", {}, "Score"), el("th", {}, "Run"), el("th", {}, T.started)),
          ...b.runs.map(r => el("tr", {}, el("td", {}, r.model), el("td", {class: "num"}, fixed(r.score)),
            el("td", {}, el("a", {href: "#/samples?" + new URLSearchParams({id: r.id, benchmark: b.name})}, r.id)), el("td", {}, when(r.started_epoch_s))))));
      details.open = open === b.name || data.benchmarks.length === 1;
      return details;
    }));
}

// ---------------------------------------------------------------------------------------------
// Compare

async function comparePage(query) {
  let ids = query.getAll("id");
  if (!ids.length && query.get("ids")) ids = query.get("ids").split(",");  // links made before ids could hold commas
  const data = await api("/api/compare?" + ids.map(i => "id=" + encodeURIComponent(i)).join("&"));
  title(T.compare, data.runs.map(r => r.model).join(" vs "));
  const names = data.runs.map(r => `${r.model} (${r.id})`);
  // Chart legends stay short: the model when the runs' models differ, else the run's folder name.
  const distinct = new Set(data.runs.map(r => r.model)).size === data.runs.length;
  const shortNames = data.runs.map(r => (distinct ? r.model : r.id.split("/").pop()));
  const swatch = i => el("span", {class: "swatch", style: `background:${COLOURS[i % COLOURS.length]}`});
  if (data.kind === "perf") {
    const modes = data.points.map(modeOf);
    const pool = data.points.every(pooled);  // embeddings / rerank runs: inputs per second, not TTFT and TPOT
    const rows = [];
    data.points.forEach((points, i) => points.forEach(p => rows.push(el("tr", {},
      el("td", {}, swatch(i), names[i]), el("td", {class: "load"}, loadLabel(p)), el("td", {class: "num"}, fmt(p.rps, 2)),
      ...(pool ? [el("td", {class: "num inputs-per-s"}, fmt(p.endpoint.inputs_per_s, 1)), el("td", {class: "num"}, ms((p.latency_s || {}).mean))]
        : [el("td", {class: "num"}, ms((p.ttft_s || {}).mean)), el("td", {class: "num"}, ms((p.tpot_s || {}).mean, 2))]),
      el("td", {class: "num"}, ms((p.latency_s || {}).p99))))));
    const heads = pool ? ["Run", "Load", "RPS", "Inputs/s", "Avg Lat. (ms)", "P99 Lat. (ms)"]
      : ["Run", "Load", "RPS", "Avg TTFT (ms)", "Avg TPOT (ms)", "P99 Lat. (ms)"];
    const mixed = new Set(modes).size > 1;
    return el("div", {}, el("h1", {}, T.compare),
      mixed ? el("p", {class: "warn", id: "mixed-load"}, "These runs were driven differently: " +
        names.map((n, i) => `${n}: ${modes[i] === "rate" ? "open loop (request rate)" : "closed loop (concurrency)"}`).join("; ") +
        ". One x axis holds both; points at the same x are not the same load.") : null,
      perfCharts(data.points.map((points, i) => ({label: shortNames[i], points, colour: COLOURS[i % COLOURS.length]}))),
      el("table", {id: "compare-table"},
      el("tr", {}, ...heads.map(h => el("th", {}, h))), ...rows));
  }
  const scoreRows = data.scores.map(s => el("tr", {}, el("td", {}, s.benchmark), el("td", {}, s.subset),
    ...s.scores.map(v => el("td", {class: "num"}, fmt(v)))));
  const sampleLink = (c, i) => "#/samples?" + new URLSearchParams({id: data.runs[i].id, sample: c.sample_id ?? "", benchmark: c.benchmark ?? "", subset: c.subset ?? ""});
  const verdictCells = c => c.verdicts.map((v, i) => el("td", {"data-verdict": v ?? "absent"}, v === null ? el("span", {class: "muted"}, "absent")
    : el("a", {href: sampleLink(c, i), class: "sample-link"}, v),
    c.answers && c.answers[i] !== null ? el("pre", {class: "plain changed-answer"}, c.answers[i]) : null));
  const row = c => el("tr", {"data-key": c.key, "data-verdicts": c.verdicts.map(v => v ?? "absent").join(" ")}, el("td", {}, c.key), ...verdictCells(c));
  const changedTable = el("table", {id: "changed"}, el("tr", {}, el("th", {}, "Sample"), ...names.map(n => el("th", {}, n))), ...data.changed.map(row));
  const partialTable = el("table", {id: "partial"}, el("tr", {}, el("th", {}, "Sample"), ...names.map(n => el("th", {}, n))), ...data.partial.map(row));
  // Per-run pass/fail filters over both tables (e.g. correct in run 1, wrong in run 2).
  const wanted = names.map(() => "");
  const apply = () => {
    for (const tr of [...changedTable.querySelectorAll("tr[data-key]"), ...partialTable.querySelectorAll("tr[data-key]")]) {
      const verdicts = tr.dataset.verdicts.split(" ");
      tr.hidden = !wanted.every((w, i) => !w || verdicts[i] === w);
    }
  };
  const filters = names.map((n, i) => el("label", {}, `${n}: `, el("select", {class: "run-verdict", "data-run": i, onchange: e => { wanted[i] = e.target.value; apply(); }},
    ...["", "correct", "wrong", "error", "truncated", "absent"].map(v => el("option", {value: v}, v || T.all)))));
  const paired = data.runs.length === 2 ? await pairedTest(data.runs, names) : null;
  return el("div", {}, el("h1", {}, T.compare),
    el("p", {class: "muted", id: "sample-counts"}, names.map((n, i) => `${n}: ${data.in_run[i]} samples`).join(" · ")),
    el("table", {id: "compare-table"}, el("tr", {}, el("th", {}, "Benchmark"), el("th", {}, "Subset"), ...names.map(n => el("th", {}, n))), ...scoreRows),
    paired,
    el("div", {class: "filters"}, ...filters),
    el("h2", {id: "changed-title"}, `Verdict changed (${data.changed_total}, of samples in every run)`), changedTable,
    el("h2", {id: "partial-title"}, `Not in every run (${data.partial_total})`), partialTable);
}

const FLIPS_SHOWN = 200;

async function pairedTest(runs, names) {
  // `assay eval compare A B`: per benchmark the paired difference, its interval and p-value, the verdict, the
  // samples flipped each way (each linked to its page in both runs) and how many samples a 1 pt change needs.
  const box = el("div", {id: "paired-box"}, el("h2", {id: "paired-title"}, "Paired test: did run B change the score?"));
  let data;
  try {
    data = await api("/api/compare-eval?" + runs.map(r => "id=" + encodeURIComponent(r.id)).join("&"));
  } catch (error) {
    box.append(el("p", {class: "bad", id: "paired-error"}, error.message));
    return box;
  }
  if (data.error) {
    box.append(el("p", {class: "warn", id: "paired-error"}, data.error));
    return box;
  }
  const [a, b] = runs;
  box.append(el("p", {class: "muted"}, `A (reference): ${names[0]} · B: ${names[1]}. McNemar's exact test for one answer per ` +
    "sample, a paired bootstrap for repeats; a failed request is never counted as a wrong answer."));
  const pt = v => (typeof v === "number" ? (v > 0 ? "+" : "") + v.toFixed(1) : "-");
  const score = v => (typeof v === "number" ? (100 * v).toFixed(1) : "-");
  const verdictClass = v => (v.startsWith("regression") ? "bad" : v.startsWith("improvement") ? "good" : "muted");
  const head = ["Benchmark", "Paired", "Score A (%)", "Score B (%)", "Δ pt (B−A)", "95% CI pt", "p", "Test", "Worse", "Better", "Verdict"];
  const rows = data.benchmarks.map(x => el("tr", {"data-benchmark": x.benchmark},
    el("td", {}, x.benchmark), el("td", {class: "num"}, x.paired), el("td", {class: "num"}, score(x.score_a)),
    el("td", {class: "num"}, score(x.score_b)), el("td", {class: "num difference"}, pt(x.difference_pt)),
    el("td", {class: "num ci"}, x.ci95_pt ? `[${pt(x.ci95_pt[0])}, ${pt(x.ci95_pt[1])}]` : "-"),
    el("td", {class: "num p-value"}, typeof x.p_value === "number" ? String(Number(x.p_value.toPrecision(4))) : "-"),
    el("td", {}, x.test), el("td", {class: "num worse-count"}, x.worse.length), el("td", {class: "num better-count"}, x.better.length),
    el("td", {class: "verdict " + verdictClass(x.verdict)}, x.verdict)));
  box.append(el("table", {id: "paired"}, el("tr", {}, ...head.map(h => el("th", {}, h))), ...rows));
  const link = (run, benchmark, sample) => "#/samples?" + new URLSearchParams({id: run.id, benchmark, sample});
  const flips = (x, ids, kind, label) => {
    if (!ids.length) return null;
    const items = ids.slice(0, FLIPS_SHOWN).map(id => el("li", {"data-sample": id}, id, " (",
      el("a", {href: link(a, x.benchmark, id), class: "flip-a"}, "A"), " · ",
      el("a", {href: link(b, x.benchmark, id), class: "flip-b"}, "B"), ")"));
    const more = ids.length > FLIPS_SHOWN ? el("li", {class: "muted"}, `… and ${ids.length - FLIPS_SHOWN} more`) : null;
    return el("div", {class: "flips " + kind}, el("h4", {}, `${label} (${ids.length})`), el("ul", {class: "flip-list"}, ...items, more));
  };
  for (const x of data.benchmarks) {
    const notes = [];
    if (x.excluded || x.errors_a || x.errors_b) notes.push(`${x.excluded} sample(s) left out: a failed request is never a wrong answer (${x.errors_a} failed generation(s) in A, ${x.errors_b} in B).`);
    if (x.only_a || x.only_b) notes.push(`${x.only_a} sample(s) only in A and ${x.only_b} only in B: not compared.`);
    box.append(el("div", {class: "paired-benchmark", "data-benchmark": x.benchmark}, el("h3", {}, x.benchmark),
      el("p", {class: "verdict-line " + verdictClass(x.verdict)}, x.verdict + (typeof x.p_value === "number" ? ` (${x.test}, p = ${Number(x.p_value.toPrecision(4))})` : "")),
      flips(x, x.worse, "worse", "Right in A, wrong in B"), flips(x, x.better, "better", "Wrong in A, right in B"),
      ...notes.map(n => el("p", {class: "muted note"}, n)),
      x.power_note ? el("p", {class: "power-note note"}, "Power: " + x.power_note) : null));
  }
  for (const [side, list] of [["A", data.only_in_a], ["B", data.only_in_b]]) {
    if (list && list.length) box.append(el("p", {class: "muted"}, `Only in run ${side} (not compared): ${list.join(", ")}`));
  }
  return box;
}

window.addEventListener("hashchange", route);
window.addEventListener("DOMContentLoaded", async () => {
  try { T = STRINGS[(await api("/api/meta")).lang] || STRINGS.en; } catch (e) { /* default: English */ }
  document.getElementById("nav-runs").textContent = T.runs;
  document.getElementById("nav-scores").textContent = T.scores;
  document.getElementById("nav-benchmarks").textContent = T.benchmarks;
  route();
});
