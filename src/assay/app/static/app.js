// assay app: a read-only viewer of run directories. Every text from a run (model output,
// dataset content, error messages) is put on the page with textContent, never as HTML.
"use strict";

const STRINGS = {
  en: {runs: "Runs", kind: "Kind", model: "Model", started: "Started", status: "Status", headline: "Headline",
       all: "all", samples: "Samples", config: "Configuration", prompt: "Prompt", reasoning: "Reasoning",
       answer: "Answer", extracted: "Extracted", gold: "Gold", search: "Search text", page: "Page",
       compare: "Compare", repeats: "All repeats", report: "Open the HTML report", requests: "Requests",
       none: "No runs under this folder yet."},
  zh: {runs: "运行", kind: "类型", model: "模型", started: "开始时间", status: "状态", headline: "概要",
       all: "全部", samples: "样本", config: "配置", prompt: "提示", reasoning: "推理过程", answer: "回答",
       extracted: "抽取答案", gold: "标准答案", search: "搜索文本", page: "页", compare: "对比", repeats: "全部重复",
       report: "打开 HTML 报告", requests: "请求", none: "该目录下还没有运行。"},
};
let T = STRINGS.en;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
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
  return text.startsWith("#/") || text.startsWith("/report?") ? text : "#/";
}

async function api(path) {
  const response = await fetch(path);
  if (!response.ok) throw new Error((await response.json()).error || response.statusText);
  return response.json();
}

function fmt(value, digits = 4) {
  if (value === null || value === undefined) return "-";
  return typeof value === "number" ? String(Math.round(value * 10 ** digits) / 10 ** digits) : String(value);
}

function when(epoch) { return epoch ? new Date(epoch * 1000).toLocaleString() : "-"; }

function params() {
  const hash = location.hash.slice(1) || "/";
  const [path, query] = hash.split("?");
  return {path, query: new URLSearchParams(query || "")};
}

let timer = null;
async function route() {
  clearTimeout(timer);
  const main = document.getElementById("main");
  const {path, query} = params();
  try {
    let page;
    if (path === "/run") page = await runPage(query.get("id"));
    else if (path === "/samples") page = await samplesPage(query);
    else if (path === "/compare") page = await comparePage(query.get("ids"));
    else page = await runsPage(query);
    main.replaceChildren(page);
  } catch (error) {
    main.replaceChildren(el("p", {class: "bad"}, "Error: " + error.message));
  }
}

async function runsPage(query) {
  const data = await api("/api/runs");
  const kind = query.get("kind") || "", model = query.get("model") || "";
  const models = [...new Set(data.runs.map(r => r.model))].sort();
  const shown = data.runs.filter(r => (!kind || r.kind === kind) && (!model || r.model === model));
  const go = (k, m) => { location.hash = `#/?kind=${encodeURIComponent(k)}&model=${encodeURIComponent(m)}`; };
  const kindSelect = el("select", {id: "filter-kind", onchange: e => go(e.target.value, model)},
    ...["", "eval", "perf"].map(k => { const o = el("option", {value: k}, k || T.all); o.selected = k === kind; return o; }));
  const modelSelect = el("select", {id: "filter-model", onchange: e => go(kind, e.target.value)},
    el("option", {value: ""}, T.all), ...models.map(m => { const o = el("option", {value: m}, m); o.selected = m === model; return o; }));
  const checks = [];
  const rows = shown.map(r => el("tr", {"data-run": r.id},
    el("td", {}, el("input", {type: "checkbox", value: r.id, class: "pick"})),
    el("td", {}, el("a", {href: "#/run?id=" + encodeURIComponent(r.id)}, r.id)),
    el("td", {}, r.kind), el("td", {}, r.model), el("td", {}, when(r.started_epoch_s)),
    el("td", {class: r.status === "finished" ? "good" : r.status === "running" ? "warn" : "bad"}, r.status),
    el("td", {}, headline(r))));
  const compare = el("button", {id: "compare", onclick: () => {
    const ids = [...document.querySelectorAll("input.pick:checked")].map(c => c.value).slice(0, 3);
    if (ids.length >= 2) location.hash = "#/compare?ids=" + ids.map(encodeURIComponent).join(",");
  }}, T.compare);
  if (!data.runs.length) return el("div", {}, el("h1", {}, T.runs), el("p", {class: "muted"}, T.none));
  return el("div", {}, el("h1", {}, T.runs),
    el("div", {class: "filters"}, T.kind, kindSelect, T.model, modelSelect, compare),
    el("table", {id: "runs"}, el("tr", {}, ...["", "Run", T.kind, T.model, T.started, T.status, T.headline].map(h => el("th", {}, h))), ...rows));
}

// Markdown and LaTeX, rendered safely: math is cut out first and drawn by KaTeX (trust off);
// the rest has every HTML character escaped before Markdown sees it, so model output can never
// become markup, and the result still goes through DOMPurify. Without the libraries: plain text.
const MATH = /\$\$([\s\S]+?)\$\$|\\\[([\s\S]+?)\\\]|\\\(([\s\S]+?)\\\)|\$([^$\n]+?)\$/g;

function renderRich(text) {
  const holder = el("div", {class: "rich"});
  if (!window.marked || !window.DOMPurify || !window.katex) { holder.textContent = text; return holder; }
  const maths = [];
  const cut = String(text).replace(MATH, (whole, a, b, c, d) => {
    maths.push({tex: a ?? b ?? c ?? d, display: a !== undefined || b !== undefined});
    return `@@MATH${maths.length - 1}@@`;
  });
  const escaped = cut.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  const html = window.marked.parse(escaped, {gfm: true, breaks: true, async: false});
  holder.innerHTML = window.DOMPurify.sanitize(html, {
    FORBID_TAGS: ["style", "img", "form", "input", "iframe", "svg", "math"], FORBID_ATTR: ["style"],
    ALLOWED_URI_REGEXP: /^(?:https?:|#)/i,
  });
  const walker = document.createTreeWalker(holder, NodeFilter.SHOW_TEXT);
  const nodes = [];
  while (walker.nextNode()) if (walker.currentNode.nodeValue.includes("@@MATH")) nodes.push(walker.currentNode);
  for (const node of nodes) {
    const parts = node.nodeValue.split(/@@MATH(\d+)@@/);
    const fragment = document.createDocumentFragment();
    parts.forEach((part, i) => {
      if (i % 2 === 0) { if (part) fragment.append(document.createTextNode(part)); return; }
      const math = maths[Number(part)];
      const span = el("span", {class: "math"});
      try {
        window.katex.render(math.tex, span, {displayMode: math.display, throwOnError: false, trust: false, strict: "ignore"});
      } catch (error) { span.textContent = math.tex; }
      fragment.append(span);
    });
    node.replaceWith(fragment);
  }
  return holder;
}

function richOrSource(text, cls) {
  const source = el("pre", {class: cls}, text);
  const rich = renderRich(text);
  rich.classList.add(cls + "-rich");
  source.hidden = true;
  const toggle = el("button", {class: "toggle", onclick: () => {
    source.hidden = !source.hidden; rich.hidden = !rich.hidden;
    toggle.textContent = source.hidden ? "source" : "rendered";
  }}, "source");
  return [toggle, rich, source];
}

function headline(run) {
  const h = run.headline || {};
  if (run.kind === "eval") return Object.entries(h.scores || {}).map(([b, s]) => `${b}: ${fmt(s)}`).join(", ");
  return `${h.points || 0} points, best ${fmt(h.best_rps, 2)} req/s`;
}

async function runPage(id) {
  const run = await api("/api/run?id=" + encodeURIComponent(id));
  if (run.status === "running") timer = setTimeout(route, 2000);  // live: follow a run in progress
  const header = [el("h1", {}, `${run.kind} · ${run.model}`),
    el("p", {class: "muted"}, `${run.id} · ${run.status} · ${when(run.started_epoch_s)}`)];
  const body = run.kind === "eval" ? evalBody(run) : await perfBody(run);
  return el("div", {}, ...header, ...body, el("h2", {}, T.config),
    el("pre", {class: "block", id: "config"}, JSON.stringify(run.config, null, 1)));
}

function evalBody(run) {
  const head = ["Benchmark", "Metric", "Subset", "Num", "Score", "95% CI", "Truncated", "Errors", "Mean latency (s)", "Tokens"];
  const rows = [];
  for (const [benchmark, report] of Object.entries(run.report || {})) {
    const overall = report.overall || {};
    const metrics = Object.keys(overall.ci95 || {});
    for (const metric of metrics) {
      for (const [subset, data] of [...Object.entries(report.subsets || {}), ["OVERALL", overall]]) {
        if (!(metric in data)) continue;
        const ci = (data.ci95 || {})[metric] || [];
        rows.push(el("tr", {"data-benchmark": benchmark, "data-subset": subset, "data-metric": metric},
          el("td", {}, benchmark), el("td", {}, metric), el("td", {}, subset), el("td", {class: "num"}, data.num),
          el("td", {class: "num score"}, fmt(data[metric])), el("td", {}, ci.length ? `[${fmt(ci[0])}, ${fmt(ci[1])}]` : "-"),
          el("td", {class: "num"}, data.truncated), el("td", {class: "num"}, data.errors),
          el("td", {class: "num"}, fmt(data.mean_latency_s, 3)), el("td", {class: "num"}, data.completion_tokens)));
      }
    }
  }
  return [el("p", {}, el("a", {href: "#/samples?id=" + encodeURIComponent(run.id), id: "to-samples"}, T.samples + " →")),
    el("table", {id: "scores"}, el("tr", {}, ...head.map(h => el("th", {}, h))), ...rows)];
}

// Interactive sweep charts (uPlot: zoom by dragging, values on hover). Several runs overlay.
const COLOURS = ["#0969da", "#cf222e", "#1a7f37", "#9a6700", "#8250df", "#bf3989"];

function xOf(point) { return point.rate !== null && point.rate !== undefined ? point.rate : point.concurrency; }

function sweepChart(title, id, series, yLabel) {
  // series: [{label, points: [[x, y], ...]}]; aligned on the union of x values.
  const box = el("div", {class: "chart", id}, el("h3", {}, title));
  if (!window.uPlot) return box;
  const xs = [...new Set(series.flatMap(s => s.points.map(p => p[0])))].sort((a, b) => a - b);
  const data = [xs, ...series.map(s => { const m = new Map(s.points); return xs.map(x => (m.has(x) ? m.get(x) : null)); })];
  const options = {width: 440, height: 240, scales: {x: {time: false}}, axes: [{label: "load"}, {label: yLabel}],
    series: [{label: "load"}, ...series.map((s, i) => ({label: s.label, stroke: COLOURS[i % COLOURS.length], width: 2,
      points: {show: true}, spanGaps: true}))]};
  box.append(el("div", {class: "plot"}));
  setTimeout(() => new window.uPlot(options, data, box.querySelector(".plot")), 0);
  return box;
}

function perfCharts(runs) {
  // runs: [{label, points}]
  const line = (field, key) => runs.flatMap(r => [{label: `${r.label} ${key}`, points: r.points.map(p => [xOf(p), (p[field] || {})[key] ?? null])}]);
  return el("div", {class: "charts"},
    sweepChart("Requests per second", "chart-rps", runs.map(r => ({label: r.label, points: r.points.map(p => [xOf(p), p.rps])})), "req/s"),
    sweepChart("Output tokens per second", "chart-tokens", runs.map(r => ({label: r.label, points: r.points.map(p => [xOf(p), p.output_throughput])})), "tok/s"),
    sweepChart("Latency (s)", "chart-latency", ["p50", "p90", "p99"].flatMap(k => line("latency_s", k)), "s"),
    sweepChart("TTFT (s)", "chart-ttft", ["p50", "p99"].flatMap(k => line("ttft_s", k)), "s"),
    sweepChart("TPOT (s)", "chart-tpot", ["p50", "p99"].flatMap(k => line("tpot_s", k)), "s"));
}

async function perfBody(run) {
  const points = (run.summary || {}).points || [];
  const head = ["Conc.", "Rate/s", "Requests", "Success", "RPS", "Gen. tok/s", "Avg TTFT (s)", "P99 TTFT (s)", "Avg TPOT (s)", "P99 TPOT (s)", "Avg ITL (s)", "P99 Lat. (s)", "Client"];
  const rows = points.map(p => el("tr", {"data-point": p.point},
    el("td", {class: "num"}, p.concurrency || "-"), el("td", {class: "num"}, p.rate === null ? "-" : p.rate),
    el("td", {class: "num"}, p.requests), el("td", {class: "num"}, fmt(p.success_rate * 100, 1) + "%"),
    el("td", {class: "num rps"}, fmt(p.rps, 2)), el("td", {class: "num"}, fmt(p.output_throughput, 1)),
    el("td", {class: "num"}, fmt(p.ttft_s.mean)), el("td", {class: "num"}, fmt(p.ttft_s.p99)),
    el("td", {class: "num"}, fmt(p.tpot_s.mean)), el("td", {class: "num"}, fmt(p.tpot_s.p99)),
    el("td", {class: "num"}, fmt(p.itl_s.mean)), el("td", {class: "num"}, fmt(p.latency_s.p99)),
    el("td", {class: (p.client || {}).client_bound ? "bad" : ""}, (p.client || {}).client_bound ? "client-bound" : "ok")));
  const requests = await api("/api/requests?id=" + encodeURIComponent(run.id) + "&size=50");
  const reqRows = requests.rows.map(r => el("tr", {},
    el("td", {class: "num"}, r.index), el("td", {class: "num"}, r.point), el("td", {}, r.phase),
    el("td", {class: "num"}, r.sent_ns === null ? "-" : fmt(((r.first_token_ns ?? r.end_ns) - r.sent_ns) / 1e9)),
    el("td", {class: "num"}, fmt((r.end_ns - (r.sent_ns ?? r.start_ns)) / 1e9)),
    el("td", {class: "num"}, r.completion_tokens ?? "-"), el("td", {class: r.error ? "bad" : ""}, r.error || "ok")));
  const bound = points.filter(p => (p.client || {}).client_bound);
  return [run.has_report_html ? el("p", {}, el("a", {href: "/report?id=" + encodeURIComponent(run.id), id: "to-report"}, T.report + " (timeline, distributions)")) : null,
    bound.length ? el("p", {class: "bad", id: "client-bound"}, `Client-bound points (timings may be the client's): ${bound.map(xOf).join(", ")}`) : null,
    perfCharts([{label: run.model, points}]),
    el("table", {id: "points"}, el("tr", {}, ...head.map(h => el("th", {}, h))), ...rows),
    el("h2", {}, `${T.requests} (${requests.total})`),
    el("table", {id: "requests"}, el("tr", {}, ...["#", "Point", "Phase", "TTFT (s)", "Latency (s)", "Tokens", "Result"].map(h => el("th", {}, h))), ...reqRows)];
}

async function samplesPage(query) {
  const id = query.get("id"), page = Number(query.get("page") || 1);
  const filters = {verdict: query.get("verdict") || "", q: query.get("q") || "", sample: query.get("sample") || ""};
  const qs = new URLSearchParams({id, page, size: 20, ...filters});
  const data = await api("/api/samples?" + qs);
  const go = (change) => {
    const next = new URLSearchParams({id, page: 1, ...filters, ...change});
    location.hash = "#/samples?" + next;
  };
  const buttons = ["", "correct", "wrong", "error", "truncated"].map(v => el("button",
    {class: v === filters.verdict ? "active" : "", "data-verdict": v || "all", onclick: () => go({verdict: v})},
    `${v || T.all}${v ? ` (${data.counts[v] || 0})` : ""}`));
  const search = el("input", {type: "search", id: "search", placeholder: T.search, value: filters.q});
  search.addEventListener("keydown", e => { if (e.key === "Enter") go({q: search.value}); });
  const cards = data.rows.map(sampleCard);
  const pages = Math.max(1, Math.ceil(data.total / data.size));
  const pager = (where) => el("div", {class: "pager"},
    el("button", {id: `prev-${where}`, onclick: () => go({page: Math.max(1, page - 1)})}, "←"),
    el("span", {id: `page-info-${where}`}, `${T.page} ${page} / ${pages} · ${data.total}`),
    el("button", {id: `next-${where}`, onclick: () => go({page: Math.min(pages, page + 1)})}, "→"));
  return el("div", {}, el("h1", {}, T.samples), el("p", {}, el("a", {href: "#/run?id=" + encodeURIComponent(id)}, "← " + id)),
    el("div", {class: "filters"}, ...buttons, search,
      filters.sample ? el("button", {onclick: () => go({sample: ""})}, `sample ${filters.sample} ×`) : null),
    pager("top"), el("div", {id: "samples", class: filters.sample ? "side-by-side" : ""}, ...cards), pager("bottom"));
}

function sampleCard(row) {
  const prompt = (row.messages || []).map(m => `[${m.role}] ${m.content}`).join("\n\n");
  const [reasoningToggle, ...reasoningViews] = richOrSource(row.reasoning || "-", "reasoning-text");
  const reasoning = el("details", {class: "reasoning"}, el("summary", {}, T.reasoning, reasoningToggle), ...reasoningViews);
  const [answerToggle, ...answerViews] = richOrSource(row.response ?? "-", "answer");
  const [promptToggle, ...promptViews] = richOrSource(prompt, "prompt");
  const query = new URLSearchParams(params().query);
  query.set("sample", row.sample_id); query.set("page", 1); query.set("verdict", "");
  return el("div", {class: "sample", "data-key": row.key},
    el("div", {}, el("span", {class: `tag ${row.verdict}`}, row.verdict), " ",
      el("b", {}, `${row.benchmark} / ${row.subset} / ${row.sample_id}`), ` · repeat ${row.repeat}`,
      " · ", el("a", {href: "#/samples?" + query, class: "repeats"}, T.repeats)),
    el("div", {}, `${T.extracted}: `, el("code", {class: "extracted"}, row.extracted ?? "-"), ` · ${T.gold}: `,
      el("code", {class: "gold"}, row.gold ?? "-"), row.error ? el("span", {class: "bad"}, ` · ${row.error}`) : null),
    el("details", {}, el("summary", {}, T.prompt, promptToggle), ...promptViews),
    reasoning, el("div", {}, T.answer, answerToggle), ...answerViews);
}

async function comparePage(ids) {
  const data = await api("/api/compare?ids=" + encodeURIComponent(ids));
  const names = data.runs.map(r => `${r.model} (${r.id})`);
  if (data.kind === "perf") {
    const rows = [];
    data.points.forEach((points, i) => points.forEach(p => rows.push(el("tr", {},
      el("td", {}, names[i]), el("td", {class: "num"}, p.concurrency || p.rate), el("td", {class: "num"}, fmt(p.rps, 2)),
      el("td", {class: "num"}, fmt(p.ttft_s.mean)), el("td", {class: "num"}, fmt(p.tpot_s.mean)), el("td", {class: "num"}, fmt(p.latency_s.p99))))));
    return el("div", {}, el("h1", {}, T.compare),
      perfCharts(data.points.map((points, i) => ({label: names[i], points}))),
      el("table", {id: "compare-table"},
      el("tr", {}, ...["Run", "Load", "RPS", "Avg TTFT (s)", "Avg TPOT (s)", "P99 Lat. (s)"].map(h => el("th", {}, h))), ...rows));
  }
  const scoreRows = data.scores.map(s => el("tr", {}, el("td", {}, s.benchmark), el("td", {}, s.subset),
    ...s.scores.map(v => el("td", {class: "num"}, fmt(v)))));
  const changed = data.changed.map(c => el("tr", {}, el("td", {}, c.key), ...c.verdicts.map(v => el("td", {}, v ?? "-"))));
  return el("div", {}, el("h1", {}, T.compare),
    el("table", {id: "compare-table"}, el("tr", {}, el("th", {}, "Benchmark"), el("th", {}, "Subset"), ...names.map(n => el("th", {}, n))), ...scoreRows),
    el("h2", {}, `Verdict changed (${data.changed_total})`),
    el("table", {id: "changed"}, el("tr", {}, el("th", {}, "Sample"), ...names.map(n => el("th", {}, n))), ...changed));
}

window.addEventListener("hashchange", route);
window.addEventListener("DOMContentLoaded", async () => {
  try { T = STRINGS[(await api("/api/meta")).lang] || STRINGS.en; } catch (e) { /* default: English */ }
  document.getElementById("nav-runs").textContent = T.runs;
  route();
});
