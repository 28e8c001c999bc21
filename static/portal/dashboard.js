/* The dashboard's charts. The figures come from the page (json_script "dashboard-data"),
   already translated; this file only draws them. Charts follow the width of their box. */
(function () {
  "use strict";

  const source = document.getElementById("dashboard-data");
  if (!source || typeof window.echarts === "undefined") {
    return;
  }
  const data = JSON.parse(source.textContent);
  const RED = "#b71c1c";
  const BLUE = "#1565c0";
  const GREY = "#9e9e9e";
  const charts = [];

  function draw(id, option) {
    const box = document.getElementById(id);
    if (!box) {
      return;
    }
    const chart = window.echarts.init(box, null, { renderer: "canvas" });
    chart.setOption(option);
    charts.push(chart);
  }

  const legend = { top: 0, itemWidth: 14, itemHeight: 10 };
  const grid = { left: 8, right: 8, top: 32, bottom: 8, containLabel: true };
  const counts = { type: "value", minInterval: 1, splitLine: { lineStyle: { color: "#eee" } } };

  const daily = data.daily;
  if (daily) {
    draw("chart-daily", {
      color: [RED, BLUE],
      tooltip: { trigger: "axis" },
      legend: legend,
      grid: grid,
      xAxis: {
        type: "category",
        data: daily.days,
        axisTick: { alignWithLabel: true },
        axisLabel: { hideOverlap: true, color: "#555" },
      },
      yAxis: counts,
      series: [
        { name: daily.names.intake, type: "bar", data: daily.intake, barMaxWidth: 14 },
        {
          name: daily.names.solved,
          type: "line",
          data: daily.solved,
          smooth: true,
          symbolSize: 5,
        },
      ],
    });
  }

  const tiers = data.tiers;
  if (tiers) {
    draw("chart-tiers", {
      color: [RED, GREY],
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: legend,
      grid: grid,
      xAxis: {
        type: "category",
        data: tiers.labels,
        axisLabel: { interval: 0, color: "#555", overflow: "break", width: 70 },
      },
      yAxis: counts,
      series: [
        { name: tiers.names.open, type: "bar", data: tiers.open, barMaxWidth: 24 },
        { name: tiers.names.solved, type: "bar", data: tiers.solved, barMaxWidth: 24 },
      ],
    });
  }

  let pending = 0;
  window.addEventListener("resize", function () {
    window.clearTimeout(pending);
    pending = window.setTimeout(function () {
      charts.forEach(function (chart) {
        chart.resize();
      });
    }, 100);
  });
})();
