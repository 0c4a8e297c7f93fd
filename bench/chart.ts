/**
 * The benchmark ratios as an SVG chart (bench/chart.svg, shown in the README): one panel per
 * runtime, one bar per scenario, on a log scale around 1× (the peer). Bars are oriented so that
 * right of 1× is always better for wsdriver: throughput ratios as they are, latency and memory
 * ratios inverted.
 *
 * @module
 */

/** One bar: a scenario's ratio wsdriver / peer, and which way is better. */
export interface ChartBar {
  label: string;
  /** wsdriver ÷ peer, as measured. */
  ratio: number | undefined;
  better: "higher" | "lower";
}

/** One panel: a runtime and its peer. */
export interface ChartPanel {
  title: string;
  bars: ChartBar[];
}

const WIDTH = 760;
const LABEL = 250;
const BAR = 18;
const GAP = 6;
const PANEL_HEAD = 30;
const AXIS = 26;

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** The chart as a standalone SVG document. */
export function ratioChart(panels: ChartPanel[], subtitle: string): string {
  const advantage = (b: ChartBar) =>
    b.ratio === undefined || !(b.ratio > 0)
      ? undefined
      : b.better === "higher"
      ? b.ratio
      : 1 / b.ratio;
  let lo = 0.5, hi = 2;
  for (const p of panels) {
    for (const b of p.bars) {
      const a = advantage(b);
      if (a !== undefined) lo = Math.min(lo, a), hi = Math.max(hi, a);
    }
  }
  const lmin = Math.floor(Math.log2(lo)), lmax = Math.ceil(Math.log2(hi));
  const plotW = WIDTH - LABEL - 70;
  const x = (v: number) => LABEL + (Math.log2(v) - lmin) / (lmax - lmin) * plotW;
  const out: string[] = [];
  let y = 50;
  for (const p of panels) {
    out.push(
      `<text x="12" y="${y + 18}" class="panel">${esc(p.title)}</text>`,
    );
    y += PANEL_HEAD;
    const top = y;
    for (const b of p.bars) {
      const a = advantage(b);
      out.push(`<text x="${LABEL - 8}" y="${y + 13}" class="label">${esc(b.label)}</text>`);
      if (a === undefined) {
        out.push(`<text x="${x(1) + 6}" y="${y + 13}" class="value">no figure</text>`);
      } else {
        const x0 = Math.min(x(1), x(a)), x1 = Math.max(x(1), x(a));
        out.push(
          `<rect x="${x0.toFixed(1)}" y="${y}" width="${Math.max(1, x1 - x0).toFixed(1)}" ` +
            `height="${BAR}" class="${a >= 1 ? "ahead" : "behind"}"/>`,
          `<text x="${(a >= 1 ? x1 + 5 : x0 - 5).toFixed(1)}" y="${y + 13}" class="value" ` +
            `text-anchor="${a >= 1 ? "start" : "end"}">${
              a >= 10 ? a.toFixed(1) : a.toFixed(2)
            }×</text>`,
        );
      }
      y += BAR + GAP;
    }
    out.push(
      `<line x1="${x(1)}" x2="${x(1)}" y1="${top - 4}" y2="${y}" class="one"/>`,
    );
    y += 12;
  }
  const axisY = y;
  for (let e = lmin; e <= lmax; e++) {
    const v = 2 ** e;
    out.push(
      `<line x1="${x(v)}" x2="${x(v)}" y1="46" y2="${axisY}" class="grid"/>`,
      `<text x="${x(v)}" y="${axisY + 16}" class="tick">${v >= 1 ? v : `1/${1 / v}`}×</text>`,
    );
  }
  const height = axisY + AXIS + 8;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" ` +
    `viewBox="0 0 ${WIDTH} ${height}" font-family="system-ui, sans-serif" font-size="12">`,
    "<style>",
    ".panel{font-weight:600;font-size:13px;fill:#1d2330}.label{text-anchor:end;fill:#333}",
    ".value{fill:#333}.tick{text-anchor:middle;fill:#666}.grid{stroke:#e3e6ec}",
    ".one{stroke:#1d2330;stroke-width:1.5}.ahead{fill:#3b82c4}.behind{fill:#e0883a}",
    "</style>",
    `<rect width="${WIDTH}" height="${height}" fill="#fff"/>`,
    `<text x="12" y="20" font-size="15" font-weight="600">wsdriver against each runtime's ` +
    `usual server (right of 1×: wsdriver better)</text>`,
    `<text x="12" y="38" fill="#666">${esc(subtitle)}</text>`,
    // Grid lines first, so the bars are drawn over them.
    ...out.filter((l) => l.includes('class="grid"') || l.includes('class="tick"')),
    ...out.filter((l) => !l.includes('class="grid"') && !l.includes('class="tick"')),
    "</svg>",
    "",
  ].join("\n");
}
