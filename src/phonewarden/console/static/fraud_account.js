// Draws a fraud account's cost and calls per hour against its baseline band (/fraud/accounts/...).
document.addEventListener("DOMContentLoaded", () => {
  const box = document.getElementById("fraud-chart");
  if (!box || typeof uPlot === "undefined") return;
  const data = JSON.parse(box.dataset.series);
  const opts = {
    width: Math.max(box.clientWidth - 16, 320),
    height: 300,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"), // the page says UTC
    scales: { calls: {} },
    series: [
      {},
      { label: "cost " + data.currency, stroke: "#cf222e", width: 2, scale: "y" },
      { label: "baseline median", stroke: "#8c959f", width: 1, dash: [4, 4], scale: "y" },
      { label: "baseline upper bound", stroke: "#0969da", width: 1, scale: "y" },
      { label: "calls", stroke: "#1a7f37", width: 1, scale: "calls" },
    ],
    bands: [{ series: [3, 2], fill: "rgba(9,105,218,0.10)" }],
    axes: [{}, { label: data.currency + " per hour", scale: "y" }, { label: "calls", scale: "calls", side: 1 }],
  };
  new uPlot(opts, [data.hours, data.cost, data.median, data.upper, data.calls], box);
});
