/** bench/chart.ts: the ratios chart that `npm run bench` writes to bench/chart.svg. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ratioChart } from "../../bench/chart.ts";

describe("bench chart", () => {
  it("draws one bar per scenario, turned so that right of 1× is better for wsdriver", () => {
    const svg = ratioChart([
      {
        title: "Node vs ws",
        bars: [
          { label: "1 conn × 64", ratio: 4, better: "higher" },
          { label: "handshakes", ratio: 0.5, better: "higher" },
          { label: "memory <idle>", ratio: 0.8, better: "lower" },
          { label: "latency", ratio: undefined, better: "lower" },
        ],
      },
      { title: "Bun vs uWS", bars: [{ label: "broadcast", ratio: 1.25, better: "higher" }] },
    ], "test data");
    assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"[^>]*>/);
    assert.match(svg, /<\/svg>\n$/);
    assert.equal(svg.match(/class="ahead"/g)?.length, 3, "4×, 1/0.8 and 1.25× are ahead");
    assert.equal(svg.match(/class="behind"/g)?.length, 1);
    assert.match(svg, />4\.00×</);
    assert.match(svg, />1\.25×</, "memory 0.8× is drawn as 1.25× better");
    assert.match(svg, />no figure</);
    assert.match(svg, /memory &lt;idle&gt;/, "labels are escaped");
    // A bar right of 1× starts at 1×: the longest bar belongs to the largest advantage.
    const widths = [...svg.matchAll(/<rect x="[\d.]+" y="\d+" width="([\d.]+)"/g)].map((m) =>
      Number(m[1])
    );
    assert.equal(Math.max(...widths), widths[0]);
  });
});
