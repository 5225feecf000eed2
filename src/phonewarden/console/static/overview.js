// Draws the overview's findings/bans per hour chart with the vendored uPlot (see static/README.md).
document.addEventListener("DOMContentLoaded", () => {
  const box = document.getElementById("chart");
  if (!box || typeof uPlot === "undefined") return;
  const data = JSON.parse(box.dataset.series);
  const opts = {
    width: Math.max(box.clientWidth - 16, 320),
    height: 280,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"), // the page says UTC
    series: [
      {},
      { label: "findings", stroke: "#0969da", width: 2, fill: "rgba(9,105,218,0.08)" },
      { label: "bans", stroke: "#cf222e", width: 2 },
    ],
    axes: [{}, { label: "per hour" }],
  };
  new uPlot(opts, [data.hours, data.findings, data.bans], box);
});
