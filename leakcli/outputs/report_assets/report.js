/* leakcli report: draws every chart from the JSON the page carries. Colour-blind-safe palette (Okabe-Ito). */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("leak-data").textContent);
  var C = { blue: "#0072B2", orange: "#E69F00", green: "#009E73", red: "#D55E00", purple: "#CC79A7", grey: "#7B8794", sky: "#56B4E9" };
  var esc = echarts.format.encodeHTML;  // custom tooltips are HTML: data is text
  var usd = function (v) { return "$" + Math.round(v).toLocaleString("en-US"); };
  var pct = function (v) { return (v * 100).toFixed(1) + "%"; };
  var keys = data.keys;
  var label = function (a) {
    var parts = keys.filter(function (k) { return a[k] !== data.all_label; }).map(function (k) { return a[k]; });
    return "#" + a.priority_rank + " " + (a.action_scope === "device" ? "device " : "") + parts.join(" / ");
  };
  var drawn = 0;
  function draw(name, option) {
    var el = document.getElementById("chart-" + name);
    var chart = echarts.init(el, null, { renderer: "svg" });
    option.animation = false;
    chart.setOption(option);
    drawn += 1;
    el.dataset.drawn = "true";
    document.body.dataset.charts = String(drawn);
  }
  var title = function (text, sub) { return { text: text, subtext: sub || "", left: 0, textStyle: { fontSize: 15 } }; };
  var actions = data.actions.slice().reverse();  // first action on top of a horizontal bar chart

  draw("gaps", {
    title: title("Gap to the baseline by action (USD, window)", "net revenue lost against the action's baseline"),
    grid: { left: 340, right: 60, top: 60, bottom: 50 },
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, valueFormatter: usd },
    xAxis: { type: "value", name: "gap (USD)", nameLocation: "middle", nameGap: 30, axisLabel: { formatter: usd } },
    yAxis: { type: "category", name: "action", data: actions.map(label), axisLabel: { width: 320, overflow: "truncate" } },
    series: [{ type: "bar", name: "gap", data: actions.map(function (a) {
      return { value: a.gap_usd, itemStyle: { color: a.action_scope === "device" ? C.red : C.blue } };
    }), label: { show: true, position: "right", formatter: function (p) { return usd(p.value); } } }]
  });

  draw("split", {
    title: title("Device gap and segment gap (USD, window)", "together they make the gap to the site"),
    legend: { top: 30, right: 0 },
    grid: { left: 340, right: 40, top: 70, bottom: 50 },
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, valueFormatter: usd },
    xAxis: { type: "value", name: "USD", nameLocation: "middle", nameGap: 30, axisLabel: { formatter: usd } },
    yAxis: { type: "category", name: "action", data: actions.map(label), axisLabel: { width: 320, overflow: "truncate" } },
    series: [
      { type: "bar", name: "device gap", data: actions.map(function (a) { return a.device_gap_usd; }), itemStyle: { color: C.orange } },
      { type: "bar", name: "segment gap", data: actions.map(function (a) { return a.segment_gap_usd; }), itemStyle: { color: C.blue } }
    ]
  });

  var hm = data.heatmap;
  var extent = hm.cells.reduce(function (m, c) { return Math.max(m, Math.abs(c[2])); }, 1);
  draw("heatmap", {
    title: title("Segment gap by month (USD)", "rows: the segment actions, in rank order"),
    grid: { left: 340, right: 40, top: 60, bottom: 110 },
    tooltip: { formatter: function (p) { return esc(hm.segments[p.value[1]]) + "<br>" + esc(hm.months[p.value[0]]) + ": " + usd(p.value[2]); } },
    xAxis: { type: "category", name: "month", nameLocation: "middle", nameGap: 60, data: hm.months.map(function (m) { return m.slice(0, 7); }), axisLabel: { rotate: 60 } },
    yAxis: { type: "category", name: "segment", data: hm.segments, inverse: true, axisLabel: { width: 320, overflow: "truncate" } },
    visualMap: { min: -extent, max: extent, calculable: true, orient: "horizontal", left: "center", bottom: 0, text: ["lost", "gained"], formatter: usd,
                 inRange: { color: [C.blue, "#f5f7fa", C.red] } },
    series: [{ type: "heatmap", name: "segment gap", data: hm.cells }]
  });

  function trend(name, measure, device, site, fmt, text, axis) {
    var months = [], series = [];
    var palette = [C.blue, C.green, C.purple];
    data.trends.forEach(function (t, i) {
      t.rows.forEach(function (r) { if (months.indexOf(r.month) < 0) { months.push(r.month); } });
      series.push({ type: "line", name: t.label, data: t.rows.map(function (r) { return [r.month, r[measure]]; }), itemStyle: { color: palette[i % 3] }, symbolSize: 5 });
      series.push({ type: "line", name: "device " + t.device + " (baseline of " + t.label.split(" ")[0] + ")", data: t.rows.map(function (r) { return [r.month, r[device]]; }),
                    itemStyle: { color: palette[i % 3] }, lineStyle: { type: "dashed" }, symbol: "none" });
    });
    var siteRows = data.trends.length ? data.trends[0].rows : [];
    series.push({ type: "line", name: "site", data: siteRows.map(function (r) { return [r.month, r[site]]; }), itemStyle: { color: C.grey }, lineStyle: { width: 3 }, symbol: "none" });
    months.sort();
    draw(name, {
      title: title(text, "solid: the action; dashed: its device; grey: the whole site"),
      legend: { type: "scroll", bottom: 0 },
      grid: { left: 70, right: 30, top: 70, bottom: 80 },
      tooltip: { trigger: "axis", valueFormatter: fmt },
      xAxis: { type: "category", name: "month", nameLocation: "middle", nameGap: 30, data: months, axisLabel: { formatter: function (m) { return m.slice(0, 7); } } },
      yAxis: { type: "value", name: axis, axisLabel: { formatter: fmt } },
      series: series
    });
  }
  trend("trend_conversion", "conversion_rate", "device_conversion_rate", "baseline_conversion_rate", pct, "Conversion rate by month", "orders / sessions");
  trend("trend_revenue", "net_revenue_per_session_usd", "device_net_revenue_per_session_usd", "baseline_net_revenue_per_session_usd",
        function (v) { return "$" + Number(v).toFixed(2); }, "Net revenue per session by month (USD)", "USD per session");

  var layers = ["source", "staging", "intermediate", "mart"];
  var colours = { source: C.grey, staging: C.sky, intermediate: C.orange, mart: C.red };
  var count = {};
  var nodes = data.dag.nodes.map(function (n) {
    var x = Math.max(0, layers.indexOf(n.layer));
    count[x] = (count[x] || 0) + 1;
    return { name: n.name, x: x * 300, y: count[x] * 80, itemStyle: { color: colours[n.layer] || C.grey }, layer: n.layer,
             label: { show: true, position: "bottom", fontSize: 11 } };
  });
  draw("dag", {
    title: title("Models, refs and sources", "left to right: sources, staging, intermediate, marts"),
    tooltip: { formatter: function (p) { return esc(p.dataType === "edge" ? p.data.source + " → " + p.data.target : p.data.name + " (" + p.data.layer + ")"); } },
    series: [{ type: "graph", layout: "none", roam: true, top: 80, bottom: 40, left: 100, right: 100, symbolSize: 22,
               edgeSymbol: ["none", "arrow"], edgeSymbolSize: 9, lineStyle: { color: "#9aa5b1", width: 1.5, curveness: 0.1 },
               data: nodes, links: data.dag.edges.map(function (e) { return { source: e[0], target: e[1] }; }) }]
  });
  document.body.dataset.ready = "true";
})();
