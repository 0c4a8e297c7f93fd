/**
 * The dashboard served at `/dashboard`: connections, messages/s and bytes/s over the last
 * minutes, drawn as inline SVG from samples of `server.stats()` pushed over a WebSocket
 * (`/dashboard/live`). Nothing is fetched from elsewhere.
 *
 * @module
 */

export const DASHBOARD_PAGE = `<!doctype html>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>wsdriver dashboard</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0; background: #10141c; color: #dfe6f2; }
  header { padding: .6em 1.2em; display: flex; gap: 1em; align-items: center; background: #1a2030; }
  header h1 { font-size: 1.1em; margin: 0; flex: 1; }
  a { color: #9cc3ff; }
  main { display: grid; grid-template-columns: repeat(auto-fit, minmax(22em, 1fr)); gap: 1em; padding: 1em; }
  .card { background: #1a2030; border-radius: 8px; padding: .8em; }
  .card h2 { font-size: .85em; margin: 0 0 .4em; color: #9aa6bd; font-weight: 500; display: flex; justify-content: space-between; }
  .card h2 b { color: #fff; font-size: 1.3em; }
  svg { width: 100%; height: 140px; display: block; }
  .grid line { stroke: #2a3246; }
  .grid text { fill: #6f7b94; font-size: 10px; }
  .in { stroke: #4fa3ff; } .out { stroke: #ffb347; } .conn { stroke: #5fd38d; }
  polyline { fill: none; stroke-width: 2; }
  .legend span { margin-right: 1em; } .legend i { display: inline-block; width: .8em; height: .8em; margin-right: .3em; border-radius: 2px; }
  table { width: 100%; border-collapse: collapse; } td { padding: .15em .3em; border-bottom: 1px solid #262d3f; } td:last-child { text-align: right; }
</style>
<header><h1>wsdriver dashboard</h1><span id="status">connecting…</span><a href="/">chat</a><a href="/metrics">metrics</a></header>
<main>
  <div class="card"><h2>Connections <b id="v-conn">–</b></h2><svg id="chart-conn" viewBox="0 0 600 140" preserveAspectRatio="none"></svg></div>
  <div class="card"><h2>Messages/s <b id="v-msg">–</b></h2><svg id="chart-msg" viewBox="0 0 600 140" preserveAspectRatio="none"></svg>
    <div class="legend"><span><i style="background:#4fa3ff"></i>in</span><span><i style="background:#ffb347"></i>out</span></div></div>
  <div class="card"><h2>Bytes/s <b id="v-bytes">–</b></h2><svg id="chart-bytes" viewBox="0 0 600 140" preserveAspectRatio="none"></svg>
    <div class="legend"><span><i style="background:#4fa3ff"></i>in</span><span><i style="background:#ffb347"></i>out</span></div></div>
  <div class="card"><h2>Totals</h2><table id="totals"></table></div>
</main>
<script>
const WINDOW = 300; // samples shown: five minutes at one a second
const samples = [];
const $ = (id) => document.getElementById(id);
const NS = "http://www.w3.org/2000/svg";
function human(n) {
  if (n >= 1e9) return (n / 1e9).toFixed(1) + "G";
  if (n >= 1e6) return (n / 1e6).toFixed(1) + "M";
  if (n >= 1e3) return (n / 1e3).toFixed(1) + "k";
  return String(Math.round(n));
}
function el(name, attrs, text) {
  const e = document.createElementNS(NS, name);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  if (text !== undefined) e.textContent = text;
  return e;
}
function plot(svg, series) {
  const W = 600, H = 140, top = 8, bottom = 18;
  let max = 1;
  for (const s of series) for (const p of samples) max = Math.max(max, s.pick(p));
  const nodes = [];
  const grid = el("g", { class: "grid" });
  for (let i = 0; i <= 2; i++) {
    const y = top + (H - top - bottom) * i / 2;
    grid.append(el("line", { x1: 0, x2: W, y1: y, y2: y }));
    grid.append(el("text", { x: 2, y: y - 2 }, human(max * (2 - i) / 2)));
  }
  const span = Math.max(1, samples.length > 1 ? samples[samples.length - 1].t - samples[0].t : 1);
  grid.append(el("text", { x: 2, y: H - 4 }, "last " + Math.round(span / 1000) + " s"));
  nodes.push(grid);
  const t1 = samples.length ? samples[samples.length - 1].t : 0;
  const full = Math.max(span, WINDOW * 1000 / 5);
  for (const s of series) {
    const pts = samples.map((p) => {
      const x = W - (t1 - p.t) / full * W;
      const y = H - bottom - s.pick(p) / max * (H - top - bottom);
      return x.toFixed(1) + "," + y.toFixed(1);
    });
    nodes.push(el("polyline", { class: s.cls, points: pts.join(" ") }));
  }
  svg.replaceChildren(...nodes);
  svg.dataset.samples = String(samples.length);
}
function draw() {
  const last = samples[samples.length - 1];
  if (!last) return;
  $("v-conn").textContent = last.connections;
  $("v-msg").textContent = human(last.messagesInPerSecond) + " / " + human(last.messagesOutPerSecond);
  $("v-bytes").textContent = human(last.bytesInPerSecond) + " / " + human(last.bytesOutPerSecond);
  plot($("chart-conn"), [{ cls: "conn", pick: (p) => p.connections }]);
  plot($("chart-msg"), [
    { cls: "in", pick: (p) => p.messagesInPerSecond },
    { cls: "out", pick: (p) => p.messagesOutPerSecond },
  ]);
  plot($("chart-bytes"), [
    { cls: "in", pick: (p) => p.bytesInPerSecond },
    { cls: "out", pick: (p) => p.bytesOutPerSecond },
  ]);
}
function totals(t) {
  const rows = [
    ["uptime", Math.round(t.uptime / 1000) + " s"],
    ["connections opened", t.connectionsTotal],
    ["messages in / out", human(t.messagesIn) + " / " + human(t.messagesOut)],
    ["bytes in / out", human(t.bytesIn) + " / " + human(t.bytesOut)],
    ["topics / subscribers", t.topics + " / " + t.subscribers],
    ["refused", JSON.stringify(t.refused)],
    ["closes by code", JSON.stringify(t.closes)],
  ];
  $("totals").replaceChildren(...rows.map(([k, v]) => {
    const tr = document.createElement("tr");
    for (const c of [k, v]) { const td = document.createElement("td"); td.textContent = c; tr.append(td); }
    return tr;
  }));
}
function connect() {
  const ws = new WebSocket(location.origin.replace(/^http/, "ws") + "/dashboard/live");
  ws.onopen = () => { $("status").textContent = "live"; };
  ws.onclose = () => { $("status").textContent = "reconnecting…"; setTimeout(connect, 1000); };
  ws.onmessage = (e) => {
    const ev = JSON.parse(e.data);
    if (ev.type === "history") samples.splice(0, samples.length, ...ev.samples);
    else if (ev.type === "sample") {
      samples.push(ev.sample);
      if (samples.length > WINDOW) samples.shift();
      totals(ev.totals);
    }
    draw();
  };
}
connect();
</script>
`;
