// Gaia's dashboard: an overview of every function and the machine's ladder, and a page per
// function with what the platform decided and why. It reads and acts only through the documented
// API; `endpoints` lists every call it makes (a test checks each is in /openapi.json), and `call`
// is the only place that fetches.
import { latencyChart, stepChart, ms } from "./charts.js";

export const endpoints = {
  list: ["GET", "/v1/functions"],
  machine: ["GET", "/v1/machine"],
  describe: ["GET", "/v1/functions/{name}"],
  update: ["PATCH", "/v1/functions/{name}"],
  invocations: ["GET", "/v1/functions/{name}/invocations"],
  decisions: ["GET", "/v1/functions/{name}/decisions"],
  cost: ["GET", "/v1/functions/{name}/cost"],
  source: ["GET", "/v1/functions/{name}/source"],
  invoke: ["POST", "/v1/functions/{name}/invoke"],
};

const REFRESH_MS = 1000;

/** Calls one endpoint; JSON in and out. Throws an Error with the API's message on a failure. */
async function call(key, { name, query, body, contentType } = {}) {
  const [method, template] = endpoints[key];
  let url = template.replace("{name}", encodeURIComponent(name ?? ""));
  if (query) url += "?" + new URLSearchParams(query);
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.body = body;
    init.headers["Content-Type"] = contentType ?? "application/json";
  }
  const response = await fetch(url, init);
  const text = await response.text();
  if (!response.ok) {
    let message = text;
    try { const e = JSON.parse(text); message = e.error?.message ?? e.message ?? text; } catch { /* not JSON */ }
    const error = new Error(`${response.status}: ${message}`);
    error.status = response.status;
    throw error;
  }
  return { response, text, json: () => JSON.parse(text) };
}

const get = async (key, options) => (await call(key, options)).json();

// ---- small DOM helpers ----
function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v); else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c instanceof Node ? c : String(c));
  return node;
}
const table = (head, rows, numeric = []) => h("div", { class: "scroll" }, h("table", {},
  h("thead", {}, h("tr", {}, head.map((t, i) => h("th", { class: numeric.includes(i) ? "num" : null }, t)))),
  h("tbody", {}, rows.map(r => h("tr", {}, r.map((c, i) => h("td", { class: numeric.includes(i) ? "num" : null }, c)))))));
/** Dollars as the CLI prints them (Dollars.text): $1.25; below a cent three significant figures, no exponent. */
const usd = v => !isFinite(v) ? "$?" : v === 0 ? "$0" : Math.abs(v) >= 0.01 ? `$${v.toFixed(2)}`
  : `$${v.toFixed(Math.min(15, Math.ceil(-Math.log10(Math.abs(v))) + 2))}`;
const when = iso => new Date(iso).toLocaleTimeString("en-GB", { hour12: false });
const rung = text => h("span", { class: "rung" }, text);

/** The SLO status of a statistic, in words as well as colour. */
function sloBadge(measured, threshold) {
  if (measured === null || measured === undefined) return h("span", { class: "badge none" }, "no data");
  if (measured > threshold) return h("span", { class: "badge over" }, "over SLO");
  if (measured > 0.8 * threshold) return h("span", { class: "badge near" }, "near SLO");
  return h("span", { class: "badge ok" }, "meets SLO");
}

function setStatus(text) { document.getElementById("status").textContent = text; }
function setCrumbs(...items) {
  const nav = document.getElementById("crumbs");
  nav.replaceChildren(...items.flatMap((c, i) => i ? [" / ", c] : [c]));
}

// ---- overview ----
async function overview(root) {
  setCrumbs(h("a", { href: "#/" }, "Functions"));
  const [list, machine] = await Promise.all([get("list"), get("machine")]);
  const rows = list.functions.map(f => {
    const a = f.last_hour, recent = f.last_minute;
    // The SLO's own statistic where the API gives it (p50, p95, p99), else p95.
    const statName = ["p50", "p95", "p99"].includes(f.slo_statistic) ? f.slo_statistic : "p95";
    const stat = recent[`${statName}_ms`];
    return [
      h("a", { href: `#/functions/${encodeURIComponent(f.name)}` }, f.name),
      `${f.mode} (${Math.round(f.confidence * 100)}%)`,
      rung(f.backend),
      f.instances,
      (recent.invocations / recent.seconds).toFixed(2),
      h("span", {}, `${statName} ${ms(stat)} / ${ms(f.slo_ms)} `, sloBadge(stat, f.slo_ms)),
      a.cold_starts,
      a.errors,
      usd(a.cost_usd),
    ];
  });
  const functions = h("section", { class: "card wide" },
    h("h2", {}, "Functions"),
    list.functions.length ? table(
      ["Function", "Mode (confidence)", "Rung", "Instances", "Req/s (1 min)", "Latency (1 min) / SLO", "Cold starts (1 h)", "Errors (1 h)", "Cost (1 h)"],
      rows, [3, 4, 6, 7, 8])
      : h("p", { class: "muted" }, "No function deployed yet: gaia deploy PATH --name NAME"));
  const gpus = machine.gpus.length
    ? machine.gpus.map(g => `gpu${g.index}: ${g.name}, ${g.memory_total_mib.toLocaleString("en-US")} MiB` +
      (g.utilization_percent !== null && g.utilization_percent !== undefined ? `, ${g.utilization_percent}% busy at start` : "")).join("; ")
    : `none${machine.gpu_problem ? ` (${machine.gpu_problem})` : ""}`;
  const ladder = h("section", { class: "card wide" },
    h("h2", {}, machine.cluster ? "The cluster's ladder" : "This machine's ladder"),
    machine.cluster ? h("p", {}, `Functions run on Knative: ${machine.cluster}. Cores, GPUs and MPS below are the gateway's machine.`) : null,
    h("div", { class: "facts" },
      h("div", {}, h("span", {}, "CPU cores"), h("b", {}, machine.cpus.length)),
      h("div", {}, h("span", {}, "GPUs"), h("b", {}, gpus)),
      h("div", {}, h("span", {}, "MPS"), h("b", {}, machine.mps ? "running (SM shares offered)" : "not running"))),
    table(["Rung", "Price per second", "Functions on it now", "Instances"],
      machine.ladder.map(r => [rung(r.backend), `$${r.price_per_second_usd.toPrecision(3)}`, r.functions.join(", ") || "–", r.instances]),
      [1, 3]));
  root.replaceChildren(h("h1", {}, "Overview"), h("div", { class: "grid" }, functions, ladder));
}

// ---- function page ----
const sourceCache = new Map();

function switchesOf(decisions) {
  return decisions.filter(d => d.kind === "promote" || d.kind === "demote")
    .map(d => ({ t: Date.parse(d.at), from: d.from, to: d.to }));
}

/** Steps of a value from `t0` on: its value then (from the last change before, or the first change's
 * `from`, or `current` when nothing changed), then each change. */
function stepsFrom(changes, t0, current) {
  const before = changes.filter(c => c.t < t0);
  const start = before.length ? before[before.length - 1].to : changes.length ? changes[0].from : current;
  return [{ t: t0, value: start }, ...changes.filter(c => c.t >= t0).map(c => ({ t: c.t, value: c.to }))];
}

const rungSteps = (decisions, t0, current) => stepsFrom(switchesOf(decisions), t0, current);

function instanceSteps(decisions, t0, instances) {
  const changes = decisions.filter(d => d.kind === "scale")
    .map(d => ({ t: Date.parse(d.at), from: parseInt(d.from, 10) || 0, to: parseInt(d.to, 10) || 0 }));
  return stepsFrom(changes, t0, instances);
}

function evidenceList(manifest, files) {
  if (!manifest.evidence.length) return h("p", { class: "muted" }, "No evidence: nothing in the source points to a device.");
  return h("div", {}, manifest.evidence.map(e => {
    const lines = files?.[e.file]?.split("\n") ?? [];
    const from = Math.max(1, e.line - 1), to = Math.min(lines.length, e.line + 1);
    const shown = [];
    for (let n = from; n <= to; n++) {
      shown.push(h("span", { class: n === e.line ? "hit" : null }, `${String(n).padStart(4)}  ${lines[n - 1]}\n`));
    }
    return h("div", {},
      h("div", {}, h("b", { class: "rung" }, `${e.file}:${e.line}`), ` ${e.kind.replaceAll("_", " ")} (weight ${e.weight}): ${e.detail}`),
      lines.length ? h("pre", { class: "source" }, shown) : null);
  }));
}

function actions(name, manifest, slo) {
  const out = h("div", { class: "result", "aria-live": "polite" });
  const invokeOut = h("div", { class: "result", "aria-live": "polite" });
  const payload = h("textarea", { name: "payload", "aria-label": "JSON payload" }, "{}");
  const invokeForm = h("form", {
    onsubmit: async event => {
      event.preventDefault();
      const button = invokeForm.querySelector("button");
      button.disabled = true;
      invokeOut.className = "result";
      try {
        JSON.parse(payload.value);
        const r = await call("invoke", { name, body: payload.value });
        const head = ["Gaia-Backend", "Gaia-Cold-Start", "Gaia-Duration-Ms"].map(k => `${k}: ${r.response.headers.get(k)}`).join("\n");
        invokeOut.textContent = `${head}\n\n${r.text}`;
      } catch (error) {
        invokeOut.className = "result error";
        invokeOut.textContent = error instanceof SyntaxError ? `The payload is not JSON: ${error.message}` : error.message;
      } finally { button.disabled = false; }
    },
  }, h("label", { class: "full" }, "Payload (JSON)", payload), h("button", { type: "submit" }, "Invoke"), invokeOut);

  const modes = ["auto", "cpu", "cpu_preferred", "gpu_preferred", "gpu"];
  const current = manifest.mode_override ?? "auto";
  const settings = h("form", {
    onsubmit: async event => {
      event.preventDefault();
      const data = new FormData(settings);
      const change = {};
      if (data.get("slo") && data.get("slo") !== slo) change.slo = data.get("slo");
      if (data.get("mode") !== current) change.mode = data.get("mode");
      for (const key of ["min_scale", "max_scale"]) if (data.get(key) !== "") change[key] = Number(data.get(key));
      out.className = "result";
      if (!Object.keys(change).length) { out.textContent = "Nothing changed."; return; }
      const button = settings.querySelector("button");
      button.disabled = true;
      out.textContent = "Applying: a new revision starts and takes traffic once ready…";
      try {
        const m = (await call("update", { name, body: JSON.stringify(change) })).json();
        out.textContent = `Applied: mode ${m.mode}${m.mode_override ? " (forced)" : ""}, SLO ${m.slo ? JSON.stringify(m.slo) : "platform default"}.`;
      } catch (error) {
        out.className = "result error";
        out.textContent = error.message;
      } finally { button.disabled = false; }
    },
  },
  h("label", {}, "SLO", h("input", { name: "slo", value: slo, size: 22, "aria-label": "SLO" })),
  h("label", {}, "Mode", h("select", { name: "mode" }, modes.map(m => h("option", { value: m, selected: m === current }, m === "auto" ? `auto (detected: ${manifest.detected_mode})` : m)))),
  h("label", {}, "Min scale", h("input", { name: "min_scale", type: "number", min: 0, value: manifest.min_scale ?? "", placeholder: "default", size: 6 })),
  h("label", {}, "Max scale", h("input", { name: "max_scale", type: "number", min: 1, value: manifest.max_scale ?? "", placeholder: "default", size: 6 })),
  h("button", { type: "submit" }, "Apply"), out);
  return [
    h("section", { class: "card" }, h("h2", {}, "Invoke"), invokeForm),
    h("section", { class: "card" }, h("h2", {}, "Settings"),
      h("p", { class: "muted" }, "Mode “auto” releases a forced mode. Any change deploys a new revision of the same files."), settings),
  ];
}

async function functionPage(root, name, state) {
  setCrumbs(h("a", { href: "#/" }, "Functions"), h("span", {}, name));
  const [d, invocations, decisions, cost] = await Promise.all([
    get("describe", { name }), get("invocations", { name, query: { limit: 2000 } }),
    get("decisions", { name, query: { limit: 500 } }), get("cost", { name })]);
  const key = `${name}@${d.revision}`;
  if (!sourceCache.has(key)) sourceCache.set(key, (await get("source", { name })).files);
  const files = sourceCache.get(key);
  const now = Date.now();
  const points = invocations.invocations.map(i => ({ t: Date.parse(i.at), ms: i.duration_ms, cold: i.cold_start, ok: i.status === 200 }));
  // The span the charts cover: the invocations fetched (the latest 2,000), at least the last minute.
  const since = Math.min(now - 60_000, ...points.map(p => p.t));
  const m = d.manifest;
  const sloText = d.rung.slo;
  const sloMatch = /^(p\d+)=([\d.]+)(ms|s)/.exec(sloText);
  const slo = { label: sloText, ms: sloMatch ? parseFloat(sloMatch[2]) * (sloMatch[3] === "s" ? 1000 : 1) : 1000 };
  const ladder = d.rung.ladder.map(r => r.backend);
  const width = root.clientWidth - 34;  // a card's inner width; half of it for the charts side by side
  const half = width >= 2 * 420 ? width / 2 - 10 : width;
  const facts = h("div", { class: "facts" },
    h("div", {}, h("span", {}, "Rung now"), h("b", { class: "rung", id: "current-rung" }, d.rung.current)),
    h("div", {}, h("span", {}, "Mode"), h("b", {}, `${m.mode}${m.mode_override ? " (forced)" : ` (detected, ${Math.round(m.confidence * 100)}% sure)`}`)),
    h("div", {}, h("span", {}, "SLO"), h("b", {}, sloText)),
    h("div", {}, h("span", {}, "Instances"), h("b", {}, d.instances)),
    h("div", {}, h("span", {}, "Invocations"), h("b", {}, d.invocations.toLocaleString("en-US"))),
    h("div", {}, h("span", {}, "Cold starts"), h("b", {}, d.cold_starts)),
    h("div", {}, h("span", {}, "Billed"), h("b", {}, usd(d.cost_usd))),
    h("div", {}, h("span", {}, "Revision"), h("b", {}, d.revision)));
  const decisionRows = [...decisions.decisions].reverse().map(x => [
    when(x.at), x.kind, h("span", { class: "nowrap" }, rung(x.from), " → ", rung(x.to)), x.reason,
    ms(x.measured_ms), ms(x.predicted_ms), x.took_ms !== undefined && x.took_ms !== null ? ms(x.took_ms) : "–"]);
  const sections = [
    h("section", { class: "card wide" }, h("h2", {}, "Latency over time"),
      latencyChart({ invocations: points, slo, switches: switchesOf(decisions.decisions), from: since, to: now, width }),
      h("p", { class: "muted caption" }, `The latest ${points.length.toLocaleString("en-US")} invocations. Solid: p95; dotted: p50; `,
        "dots: cold starts; dashed red: the SLO; dashed verticals: rung switches, labelled with the new rung.")),
    h("section", { class: "card" }, h("h2", {}, "Rung over time"),
      stepChart({ label: "The rung the function ran on over time", steps: rungSteps(decisions.decisions, since, d.rung.current), levels: ladder, from: since, to: now, width: half })),
    h("section", { class: "card" }, h("h2", {}, "Instances over time"),
      stepChart({ label: "Instances over time", steps: instanceSteps(decisions.decisions, since, d.instances), levels: null, from: since, to: now, width: half })),
    h("section", { class: "card wide" }, h("h2", {}, "Decisions, newest first"),
      decisionRows.length ? table(["Time", "Kind", "Change", "Reason", "Measured", "Predicted", "Took"], decisionRows, [4, 5, 6])
        : h("p", { class: "muted" }, "No decision yet.")),
    h("section", { class: "card" }, h("h2", {}, "The ladder for this function"),
      table(["Rung", "Predicted", "Measured here", "Note"], d.rung.ladder.map(r => [
        h("span", {}, rung(r.backend), r.backend === d.rung.current ? h("b", {}, " (now)") : ""),
        ms(r.predicted_ms), r.measured ? "yes" : "no", r.failed ? `failed: ${r.failed}` : ""]), [1])),
    // Seven columns: the whole row, so that none is cut off at the card's edge.
    h("section", { class: "card wide" }, h("h2", {}, "Cost per rung"),
      cost.by_backend.length ? table(["Rung", "Invocations", "Mean", "Billed", "Per 1,000", "Instance time", "Provider cost"],
        cost.by_backend.map(c => [rung(c.backend), c.invocations, ms(c.mean_ms), usd(c.billed_usd), usd(c.billed_per_1000_usd),
          `${c.instance_seconds.toFixed(1)} s`, usd(c.provider_cost_usd)]), [1, 2, 3, 4, 5, 6])
        : h("p", { class: "muted" }, "Nothing billed yet.")),
    h("section", { class: "card wide" }, h("h2", {}, "Why this mode: the analyzer's evidence"),
      h("p", {}, m.rationale), evidenceList(m, files)),
    h("section", { class: "card wide" }, h("h2", {}, "Last invocations"),
      table(["Time", "Id", "Rung", "Cold", "Latency", "Queued", "Status"],
        invocations.invocations.slice(0, 15).map(i => [when(i.at), h("code", {}, i.id || "-"), rung(i.backend), i.cold_start ? "cold" : "warm",
          ms(i.duration_ms), ms(i.queue_ms), i.status === 200 ? "200 OK" : `${i.status} error`]), [4, 5])),
  ];
  if (!state.actions || state.actions.key !== key) state.actions = { key, nodes: actions(name, m, sloText) };
  root.replaceChildren(h("h1", {}, name), facts, h("div", { class: "grid" }, ...sections, ...state.actions.nodes));
}

// ---- routing and live refresh ----
let timer = null;
const state = {};

async function render() {
  const root = document.getElementById("app");
  const match = /^#\/functions\/([^/]+)$/.exec(location.hash);
  try {
    if (match) await functionPage(root, decodeURIComponent(match[1]), state); else await overview(root);
    setStatus(`updated ${new Date().toLocaleTimeString("en-GB", { hour12: false })}`);
  } catch (error) {
    setStatus(`not updated: ${error.message}`);
    if (error.status === 401) {
      root.replaceChildren(h("section", { class: "card" }, h("h2", {}, "Sign in"),
        h("p", {}, "This server needs a token. Open ", h("code", {}, "/?token=TOKEN"), " once in this browser (it sets a cookie). ",
          "gaia serve wrote an admin token to DATA_DIR/admin.token; ", h("code", {}, "gaia token create NAME --scope read"),
          " makes one that can only read.")));
      return;
    }
    if (error.status === 404 && match) root.replaceChildren(h("p", {}, `No function named ${decodeURIComponent(match[1])}. `, h("a", { href: "#/" }, "All functions")));
  }
}

function schedule() {
  clearTimeout(timer);
  // Refresh while nobody is typing in a form on the page.
  timer = setTimeout(async () => {
    if (!document.activeElement?.closest?.("form")) await render();
    schedule();
  }, REFRESH_MS);
}

window.addEventListener("hashchange", () => { state.actions = null; render().then(schedule); });
render().then(schedule);
