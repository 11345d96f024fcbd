// SVG charts drawn from plain arrays: a latency chart (p50/p95 with the SLO line, rung switches and
// cold starts marked) and step charts (the rung over time, instances over time). Each is drawn
// `width` units wide, the pixels it will take, so that its text keeps its size on any screen.

const NS = "http://www.w3.org/2000/svg";
let W = 640;
const H = 240, M = { left: 60, right: 14, top: 14, bottom: 26 };

function el(name, attrs = {}, text) {
  const node = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function svgRoot(label, height = H) {
  const svg = el("svg", { viewBox: `0 0 ${W} ${height}`, role: "img", "aria-label": label });
  svg.append(el("title", {}, label));
  return svg;
}

/** Milliseconds for people: 0.84 ms, 12.3 ms, 1,250 ms. */
export function ms(v) {
  if (v === null || v === undefined || !isFinite(v)) return "–";
  if (v < 10) return `${v.toFixed(2)} ms`;
  if (v < 100) return `${v.toFixed(1)} ms`;
  return `${Math.round(v).toLocaleString("en-US")} ms`;
}

function clock(t) {
  return new Date(t).toLocaleTimeString("en-GB", { hour12: false });
}

function timeAxis(svg, t0, t1, x, height) {
  const y = height - M.bottom;
  svg.append(el("line", { class: "axis", x1: M.left, x2: W - M.right, y1: y, y2: y }));
  for (let i = 0; i <= 4; i++) {
    const t = t0 + (t1 - t0) * i / 4;
    svg.append(el("text", { class: "tick", x: x(t), y: y + 15, "text-anchor": i === 0 ? "start" : i === 4 ? "end" : "middle" }, clock(t)));
  }
}

function percentile(sorted, p) {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

/**
 * Latency over time: invocations ({t, ms, cold, ok}) in up to 40 buckets, their p50 and p95, the
 * SLO as a dashed line with its label, switches ({t, to}) as labelled verticals, cold starts as dots.
 */
export function latencyChart({ invocations, slo, switches, from, to, width }) {
  W = Math.max(320, Math.min(1160, width));
  const svg = svgRoot(`Latency over time: p50 and p95 against the SLO ${slo.label}`);
  const ok = invocations.filter(i => i.ok);
  if (!ok.length) {
    svg.append(el("text", { class: "tick", x: W / 2, y: H / 2, "text-anchor": "middle" }, "No invocations yet"));
    return svg;
  }
  const t0 = from ?? Math.min(...ok.map(i => i.t)), t1 = Math.max(to ?? 0, ...ok.map(i => i.t), t0 + 1000);
  const buckets = Math.min(40, Math.max(4, Math.ceil(ok.length / 8)));
  const span = (t1 - t0) / buckets;
  const points = [];
  for (let b = 0; b < buckets; b++) {
    const inside = ok.filter(i => i.t >= t0 + b * span && (i.t < t0 + (b + 1) * span || (b === buckets - 1 && i.t <= t1)))
      .map(i => i.ms).sort((a, c) => a - c);
    if (inside.length) points.push({ b, t: t0 + (b + 0.5) * span, p50: percentile(inside, 0.5), p95: percentile(inside, 0.95) });
  }
  const top = Math.max(slo.ms * 1.25, ...points.map(p => p.p95)) || 1;
  const x = t => M.left + (t - t0) / (t1 - t0) * (W - M.left - M.right);
  const y = v => H - M.bottom - v / top * (H - M.top - M.bottom);
  svg.append(el("line", { class: "axis", x1: M.left, x2: M.left, y1: M.top, y2: H - M.bottom }));
  for (let i = 0; i <= 4; i++) {
    const v = top * i / 4;
    svg.append(el("text", { class: "tick", x: M.left - 4, y: y(v) + 4, "text-anchor": "end" }, ms(v)));
  }
  timeAxis(svg, t0, t1, x, H);
  for (const s of switches.filter(s => s.t >= t0 && s.t <= t1)) {
    svg.append(el("line", { class: "switch", x1: x(s.t), x2: x(s.t), y1: M.top, y2: H - M.bottom }));
    svg.append(el("text", { class: "switchlabel", x: x(s.t) + 3, y: M.top + 10 }, `→ ${s.to}`));
  }
  svg.append(el("line", { class: "slo", x1: M.left, x2: W - M.right, y1: y(slo.ms), y2: y(slo.ms) }));
  svg.append(el("text", { class: "slolabel", x: M.left + 6, y: y(slo.ms) - 4 }, `SLO ${slo.label}`));
  // A bucket with no invocation breaks the line: an idle gap is not drawn as if latency had been measured across it.
  const path = key => points.map((p, i) => `${i && p.b === points[i - 1].b + 1 ? "L" : "M"}${x(p.t).toFixed(1)},${y(p[key]).toFixed(1)}`).join("");
  // A bucket alone between gaps is a dot, not an invisible one-point line.
  for (const p of points.filter((p, i) => !points.some((q, j) => j !== i && Math.abs(q.b - p.b) === 1))) {
    svg.append(el("circle", { class: "lone", cx: x(p.t), cy: y(p.p95), r: 2.5 }, ""));
  }
  svg.append(el("path", { class: "p50", d: path("p50") }));
  svg.append(el("path", { class: "p95", d: path("p95") }));
  for (const c of invocations.filter(i => i.cold && i.t >= t0)) {
    svg.append(el("circle", { class: "cold", cx: x(c.t), cy: y(Math.min(c.ms, top)), r: 3.5 }, ""));
  }
  return svg;
}

/**
 * A step chart of a value over time: `steps` ({t, value}) sorted by time, each value held until the
 * next; `levels` names the y positions (rungs) or is null for numbers (instances).
 */
export function stepChart({ label, steps, levels, from, to, width }) {
  W = Math.max(320, Math.min(560, width));
  const height = 160;
  const svg = svgRoot(label, height);
  if (!steps.length) {
    svg.append(el("text", { class: "tick", x: W / 2, y: height / 2, "text-anchor": "middle" }, "No history yet"));
    return svg;
  }
  const t0 = Math.min(from ?? steps[0].t, steps[0].t), t1 = Math.max(to, steps[steps.length - 1].t + 1000);
  const names = levels ?? null;
  const index = v => names ? Math.max(0, names.indexOf(v)) : v;
  const top = names ? Math.max(1, names.length - 1) : Math.max(1, ...steps.map(s => s.value));
  const x = t => M.left + (t - t0) / (t1 - t0) * (W - M.left - M.right);
  const y = v => height - M.bottom - (names ? index(v) : v) / top * (height - M.top - M.bottom);
  svg.append(el("line", { class: "axis", x1: M.left, x2: M.left, y1: M.top, y2: height - M.bottom }));
  const ticks = names ? names.map((n, i) => [n, i]) : [...new Set([0, Math.round(top / 2), top])].map(v => [String(v), v]);
  for (const [text, v] of ticks) {
    const yy = height - M.bottom - v / top * (height - M.top - M.bottom);
    svg.append(el("text", { class: "tick rung", x: M.left - 4, y: yy + 4, "text-anchor": "end" }, text));
  }
  timeAxis(svg, t0, t1, x, height);
  let d = "";
  steps.forEach((s, i) => {
    const next = i + 1 < steps.length ? steps[i + 1].t : t1;
    d += `${i ? "L" : "M"}${x(s.t).toFixed(1)},${y(s.value).toFixed(1)}L${x(next).toFixed(1)},${y(s.value).toFixed(1)}`;
  });
  svg.append(el("path", { class: "step", d }));
  return svg;
}
