/* A digest page: the print button, and for the monthly digest its two charts. The figures
   come from the page (json_script "digest-data"), already translated; this file only draws
   them, with the SVG renderer so that they print sharply. */
(function () {
  "use strict";

  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () {
      window.print();
    });
  });

  // On paper every collapsed list is open (the communities too few ratings to rank).
  let closed = [];
  window.addEventListener("beforeprint", function () {
    closed = Array.from(document.querySelectorAll(".digest details:not([open])"));
    closed.forEach(function (details) {
      details.open = true;
    });
  });
  window.addEventListener("afterprint", function () {
    closed.forEach(function (details) {
      details.open = false;
    });
    closed = [];
  });

  const source = document.getElementById("digest-data");
  if (!source || typeof window.echarts === "undefined") {
    return;
  }
  const data = JSON.parse(source.textContent);
  const RED = "#b71c1c";
  const PALETTE = [RED, "#ef6c00", "#1565c0", "#6d4c41"];
  const charts = [];

  function draw(id, option) {
    const box = document.getElementById(id);
    if (!box) {
      return;
    }
    const chart = window.echarts.init(box, null, { renderer: "svg" });
    chart.setOption(Object.assign({ animation: false }, option));
    charts.push(chart);
  }

  const rates = data.rates;
  if (rates) {
    // A few communities: upright bars. Many (a district): lying bars, one line each, the
    // box as tall as they need, so that the names stay readable on a phone.
    const box = document.getElementById("chart-rates");
    const lying = rates.names.length > 12 || (box && box.clientWidth / rates.names.length < 80);
    if (lying && box) {
      box.style.height = 40 + 22 * rates.names.length + "px";
    }
    const names = { type: "category", data: rates.names, axisLabel: { interval: 0, color: "#555" } };
    const values = { type: "value", name: rates.label, min: 0, max: 100, splitLine: { lineStyle: { color: "#eee" } } };
    if (lying) {
      names.inverse = true;
    } else {
      names.axisLabel.rotate = rates.names.length > 8 ? 40 : 0;
    }
    draw("chart-rates", {
      color: [RED],
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, valueFormatter: function (v) { return v === null ? "—" : v + "%"; } },
      grid: { left: 8, right: 40, top: 24, bottom: 8, containLabel: true },
      xAxis: lying ? values : names,
      yAxis: lying ? names : values,
      series: [{
        name: rates.label,
        type: "bar",
        data: rates.values,
        barMaxWidth: lying ? 16 : 28,
        label: { show: true, position: lying ? "right" : "top", formatter: "{c}%" },
      }],
    });
  }

  const levels = data.levels;
  if (levels) {
    draw("chart-levels", {
      color: PALETTE,
      tooltip: { trigger: "item", formatter: "{b}: {c} ({d}%)" },
      legend: { bottom: 0, itemWidth: 14, itemHeight: 10 },
      series: [{
        name: levels.label,
        type: "pie",
        radius: ["35%", "65%"],
        center: ["50%", "45%"],
        data: levels.items,
        label: { formatter: "{b}\n{d}%" },
      }],
    });
  }

  function resizeAll() {
    charts.forEach(function (chart) {
      chart.resize();
    });
  }
  let pending = 0;
  window.addEventListener("resize", function () {
    window.clearTimeout(pending);
    pending = window.setTimeout(resizeAll, 100);
  });
  window.addEventListener("beforeprint", resizeAll);
  window.addEventListener("afterprint", resizeAll);
})();
