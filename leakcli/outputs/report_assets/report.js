/* leakcli report: draws the six charts from the JSON the page carries, as SVG. The colours are the
   CSS custom properties of report.css, so a colour means one thing across the charts, the tables
   and the legends. Every custom tooltip is HTML: what the data says goes through encodeHTML. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("leak-data").textContent);
  var style = getComputedStyle(document.documentElement);
  var C = {};
  ["act", "stopped", "noise", "segment", "device", "site", "lost", "gained", "ink", "muted", "rule"].forEach(function (k) {
    C[k] = style.getPropertyValue("--" + k).trim();
  });
  var esc = echarts.format.encodeHTML;
  var isNum = function (v) { return v !== null && v !== undefined && v !== "" && isFinite(Number(v)); };
  var usd = function (v) {  // "$50,000", "−$50,000"
    if (!isNum(v)) { return "n/a"; }
    var r = Math.round(Number(v));
    return (r < 0 ? "\u2212" : "") + "$" + Math.abs(r).toLocaleString("en-US");
  };
  var usd2 = function (v) { return isNum(v) ? (Number(v) < 0 ? "\u2212" : "") + "$" + Math.abs(Number(v)).toFixed(2) : "n/a"; };
  var pct = function (v) { return isNum(v) ? (Number(v) * 100).toFixed(1) + "%" : "n/a"; };
  var num = function (v, d) { return isNum(v) ? Number(v).toFixed(d) : "n/a"; };
  var month = function (m) { return String(m).slice(0, 7); };
  var STATUS = { act: "act", stopped: "stopped", noise: "within noise" };
  var statusColour = function (s) { return C[s] || C.muted; };
  var keys = data.keys;
  var label = function (a) {
    if (a.action_scope === "device") { return "#" + a.priority_rank + " device " + a.device_type; }
    return "#" + a.priority_rank + " " + keys.filter(function (k) { return a[k] !== data.all_label; }).map(function (k) { return a[k]; }).join(" / ");
  };
  var win = data.window || {};
  var inWindow = function (m) { return win.start && month(m) >= win.start && month(m) <= win.end; };
  var title = function (text, sub) { return { text: text, subtext: sub || "", left: 0, textStyle: { fontSize: 15, color: C.ink } }; };
  var ruler = document.createElement("canvas").getContext("2d");
  var textWidth = function (text) { ruler.font = "bold 12px sans-serif"; return ruler.measureText(text).width; };
  var labelWidth = function (el) { return Math.max(150, Math.min(320, Math.round(el.clientWidth * 0.34))); };
  var GAP_ROWS = 30;
  var shown = data.actions.slice(0, GAP_ROWS);
  var rows = shown.slice().reverse();  // the first action on top of a horizontal bar chart
  var more = data.actions.length > shown.length ? " (the first " + shown.length + " of " + data.actions.length + ")" : "";
  var rowLabels = { width: 320, overflow: "truncate", color: function (v, i) { return rows[i] && rows[i].action_status === "noise" ? C.muted : C.ink; } };
  var tip = function (a) {
    var half = isNum(a.gap_se_usd) ? 1.96 * a.gap_se_usd : null;
    return "<b>" + esc(label(a)) + "</b><br>" + esc(STATUS[a.action_status] || String(a.action_status)) +
      "<br>gap " + usd(a.gap_usd) + (half === null ? "" : " (95%: " + usd(a.gap_usd - half) + " to " + usd(a.gap_usd + half) + ")") +
      "<br>z " + num(a.gap_z, 1) + ", q " + num(a.q_value, 3) + "<br>" + Number(a.sessions).toLocaleString("en-US") +
      " sessions, the last in " + esc(month(a.last_session_month));
  };

  // The window, outlined over a category axis of months (the heat map, each trend panel): from the
  // left edge of its first month to the right edge of its last; `labelled` writes its months above.
  function windowMark(months, labelled, axisIndex) {
    var a = months.indexOf(win.start), b = months.indexOf(win.end);
    if (a < 0 || b < 0) { return null; }
    return {
      type: "custom", name: "window", silent: true, tooltip: { show: false }, z: 10, xAxisIndex: axisIndex || 0, yAxisIndex: axisIndex || 0,
      encode: { x: [0, 1], y: 2 }, data: [[a, b, 0]],
      renderItem: function (params, api) {
        var sys = params.coordSys, band = api.size([1, 0])[0];
        var x0 = api.coord([api.value(0), 0])[0] - band / 2, x1 = api.coord([api.value(1), 0])[0] + band / 2;
        var children = [{ type: "rect", shape: { x: x0, y: sys.y, width: x1 - x0, height: sys.height },
                          style: { fill: "none", stroke: C.ink, lineWidth: labelled ? 2.5 : 1.5 } }];
        if (labelled) {
          children.push({ type: "text", x: (x0 + x1) / 2, y: sys.y - 4, style: { text: "window " + win.start + " to " + win.end, fill: C.ink,
                          align: "center", verticalAlign: "bottom", fontSize: 12, fontWeight: "bold" } });
        }
        return { type: "group", children: children };
      }
    };
  }

  var charts = {};
  var builders = {};
  var drawn = 0;
  function draw(name, build) {
    var el = document.getElementById("chart-" + name);
    builders[name] = build;
    var option = build(el);
    option.animation = false;
    var chart = echarts.init(el, null, { renderer: "svg" });
    chart.setOption(option);
    charts[name] = chart;
    drawn += 1;
    el.dataset.drawn = "true";
    document.body.dataset.charts = String(drawn);
  }
  var height = function (el, px) { el.style.height = px + "px"; };

  draw("gaps", function (el) {
    height(el, Math.max(260, 110 + rows.length * 34));
    var w = labelWidth(el);
    var series = ["act", "stopped", "noise"].map(function (s) {
      return { type: "bar", name: STATUS[s], stack: "gap", barMaxWidth: 22, itemStyle: { color: C[s] },
               data: rows.map(function (a) { return a.action_status === s ? a.gap_usd : null; }) };
    });
    series.push({
      type: "custom", name: "95% interval", itemStyle: { color: C.ink }, encode: { x: [1, 2], y: 0 }, z: 5,
      data: rows.map(function (a, i) {
        var half = isNum(a.gap_se_usd) ? 1.96 * a.gap_se_usd : 0;
        return [i, a.gap_usd - half, a.gap_usd + half, a.gap_usd, half];
      }),
      renderItem: function (params, api) {
        var y = api.value(0), lo = api.coord([api.value(1), y]), hi = api.coord([api.value(2), y]);
        var cap = api.size([0, 1])[1] * 0.28, line = { stroke: C.ink, lineWidth: 1.5 };
        var end = Math.max(hi[0], api.coord([api.value(3), y])[0]);
        return { type: "group", children: [
          { type: "line", shape: { x1: lo[0], y1: lo[1], x2: hi[0], y2: hi[1] }, style: line },
          { type: "line", shape: { x1: lo[0], y1: lo[1] - cap, x2: lo[0], y2: lo[1] + cap }, style: line },
          { type: "line", shape: { x1: hi[0], y1: hi[1] - cap, x2: hi[0], y2: hi[1] + cap }, style: line },
          { type: "text", x: end + 6, y: hi[1], style: { text: usd(api.value(3)) + " ± " + usd(api.value(4)), fill: C.ink,
                                                         verticalAlign: "middle", fontSize: 12 } }
        ] };
      }
    });
    return {
      title: title("Gap to the baseline by action (USD, window)" + more, "bar: the gap; whisker: its 95% interval; colour: the status"),
      legend: { top: 42, left: 0, data: ["act", "stopped", "within noise", { name: "95% interval", icon: "path://M0 4h20v2H0zM0 0h2v10H0zM18 0h2v10h-2z" }] },
      grid: { left: w + 20, right: 130, top: 80, bottom: 50 },
      tooltip: { trigger: "item", formatter: function (p) { return tip(rows[p.dataIndex]); } },
      xAxis: { type: "value", name: "gap (USD)", nameLocation: "middle", nameGap: 30, axisLabel: { formatter: usd, hideOverlap: true } },
      yAxis: { type: "category", data: rows.map(label), axisLabel: Object.assign({}, rowLabels, { width: w }) },
      series: series
    };
  });

  draw("split", function (el) {
    height(el, Math.max(260, 110 + rows.length * 34));
    var w = labelWidth(el);
    var faded = function (a, v) { return { value: v, itemStyle: { opacity: a.action_status === "noise" ? 0.35 : 1 } }; };
    return {
      title: title("Device part and segment part of the gap to the site (USD, window)" + more, "the two parts add up to the whole gap to the site (◆)"),
      legend: { top: 42, left: 0 },
      grid: { left: w + 20, right: 40, top: 80, bottom: 50 },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, valueFormatter: usd },
      xAxis: { type: "value", name: "USD", nameLocation: "middle", nameGap: 30, axisLabel: { formatter: usd, hideOverlap: true } },
      yAxis: { type: "category", data: rows.map(label), axisLabel: Object.assign({}, rowLabels, { width: w }) },
      series: [
        { type: "bar", name: "device part (its device against the site)", itemStyle: { color: C.device },
          data: rows.map(function (a) { return faded(a, a.device_gap_usd); }) },
        { type: "bar", name: "segment part (the segment against its device)", itemStyle: { color: C.segment },
          data: rows.map(function (a) { return faded(a, a.action_scope === "device" ? 0 : a.segment_gap_usd); }) },
        { type: "scatter", name: "whole gap to the site", symbol: "diamond", symbolSize: 11, itemStyle: { color: C.site }, z: 5,
          data: rows.map(function (a) { return a.revenue_gap_usd; }) }
      ]
    };
  });

  var hm = data.heatmap;
  draw("heatmap", function (el) {
    height(el, Math.max(320, 190 + hm.segments.length * 34));
    var w = labelWidth(el);
    var extent = hm.cells.reduce(function (m, c) { return Math.max(m, Math.abs(c[2])); }, 1);
    var labels = hm.months.map(month);
    var every = Math.max(1, Math.ceil(labels.length * 18 / Math.max(1, el.clientWidth - w - 60)));  // labels that fit,
    var anchor = Math.max(0, labels.indexOf(win.start));  // counted from the window's first month
    var series = [{ type: "heatmap", name: "segment gap", data: hm.cells, itemStyle: { borderColor: "#fff", borderWidth: 1 } }];
    var mark = windowMark(labels, true);
    if (mark) { series.push(mark); }
    return {
      title: title("Segment gap by month (USD)", "rows: the segment actions, in rank order; outlined: the window"),
      grid: { left: w + 20, right: 40, top: 80, bottom: 120 },
      tooltip: { formatter: function (p) {
        return esc(hm.segments[p.value[1]]) + "<br>" + esc(labels[p.value[0]]) + ": " + usd(p.value[2]) + (p.value[2] >= 0 ? " lost" : " gained");
      } },
      xAxis: { type: "category", name: "month", nameLocation: "middle", nameGap: 56, data: labels, splitArea: { show: false },
               axisLabel: { rotate: 60, interval: function (i) { return (i - anchor) % every === 0; }, formatter: function (m) { return inWindow(m) ? "{w|" + m + "}" : "{o|" + m + "}"; },
                            rich: { w: { color: C.ink, fontWeight: "bold" }, o: { color: C.muted } } } },
      yAxis: { type: "category", data: hm.segments, inverse: true,
               axisLabel: { width: w, overflow: "truncate", color: function (v, i) { return hm.statuses[i] === "noise" ? C.muted : C.ink; } } },
      visualMap: { min: -extent, max: extent, calculable: true, orient: "horizontal", left: "center", bottom: 0, itemWidth: 14,
                   text: ["lost against the device", "gained"], formatter: usd, inRange: { color: [C.gained, "#f7f7f7", C.lost] } },
      series: series
    };
  });

  var NAMES = { segment: "the segment (the action's own sessions)", device: "its device (all sessions on that device)",
                site: "the whole site (all sessions)" };
  function trend(name, measure, device, site, fmt, text, axis) {
    draw(name, function (el) {
      var n = Math.max(1, data.trends.length);
      var cols = el.clientWidth >= 900 ? n : 1, lines = Math.ceil(n / cols);
      var top = 86, panel = 240, gapY = 30, left = 64, gapX = 64;
      height(el, top + lines * panel + (lines - 1) * gapY + 10);
      var width = (el.clientWidth - left - (cols - 1) * gapX - 16) / cols;
      var months = hm.months.map(month);
      var titles = [title(text + " (" + axis + ")")];
      var grids = [], xs = [], ys = [], series = [];
      data.trends.forEach(function (t, i) {
        var x = left + (i % cols) * (width + gapX), y = top + Math.floor(i / cols) * (panel + gapY) + 26;
        grids.push({ left: x, top: y, width: width, height: panel - 60 });
        // the status as a chip (rich text of our own words only), then the label as plain text: a
        // name spelled like rich-text markup ("{a|b}") stays as it is spelled
        var chip = 0, known = t.status in STATUS;
        if (known) {
          chip = textWidth(STATUS[t.status]) + 18;
          titles.push({ text: "{s|" + STATUS[t.status] + "}", left: x, top: y - 26, textStyle: { rich: { s: {
            backgroundColor: C[t.status], color: t.status === "noise" ? C.ink : "#fff", padding: [3, 5], borderRadius: 3, fontWeight: "bold", fontSize: 12 } } } });
        }
        titles.push({ text: known ? t.label : (t.status || "") + " " + t.label, left: x + chip, top: y - 24,
                      textStyle: { fontSize: 12, fontWeight: "normal", color: C.ink, width: width - chip, overflow: "truncate" } });
        xs.push({ type: "category", gridIndex: i, data: months, axisLabel: { formatter: function (m) { return m; }, fontSize: 10, hideOverlap: true } });
        ys.push({ type: "value", gridIndex: i, boundaryGap: [0, "8%"], axisLabel: { formatter: fmt, fontSize: 10 } });
        var pick = function (col) { return t.rows.map(function (r) { return [month(r.month), r[col]]; }); };
        var own = t.scope === "device" ?
          { name: NAMES.device, data: pick(measure), itemStyle: { color: C.device }, lineStyle: { width: 2.5, type: "dashed" }, symbolSize: 5 } :
          { name: NAMES.segment, data: pick(measure), itemStyle: { color: C.segment }, lineStyle: { width: 2.5 }, symbolSize: 5 };
        var panelSeries = [own];
        if (t.scope !== "device") {  // a device action is its own device: against the site only
          panelSeries.push({ name: NAMES.device, data: pick(device), itemStyle: { color: C.device }, lineStyle: { width: 2, type: "dashed" }, symbol: "none" });
        }
        panelSeries.push({ name: NAMES.site, data: pick(site), itemStyle: { color: C.site }, lineStyle: { width: 1.5 }, symbol: "none" });
        panelSeries.forEach(function (s) { s.type = "line"; s.xAxisIndex = i; s.yAxisIndex = i; series.push(s); });
        var band = windowMark(months, false, i);  // outlined, as in the heat map
        if (band) { series.push(band); }
      });
      return {
        title: titles,
        legend: { type: "plain", top: 40, left: 0, data: [NAMES.segment, NAMES.device, NAMES.site] },
        grid: grids.length ? grids : [{ top: top }],
        tooltip: { trigger: "axis", valueFormatter: fmt },
        xAxis: xs.length ? xs : [{ type: "category", data: [] }],
        yAxis: ys.length ? ys : [{ type: "value" }],
        series: series
      };
    });
  }
  trend("trend_conversion", "conversion_rate", "device_conversion_rate", "baseline_conversion_rate", pct, "Conversion rate by month", "orders / sessions");
  trend("trend_revenue", "net_revenue_per_session_usd", "device_net_revenue_per_session_usd", "baseline_net_revenue_per_session_usd",
        usd2, "Net revenue per session by month", "USD per session");

  draw("dag", function (el) {  // laid out in pixels, so the view is not stretched and shapes stay true
    var layers = ["source", "staging", "intermediate", "mart"];
    var shapes = { source: "rect", staging: "circle", intermediate: "diamond", mart: "roundRect" };
    var count = {}, dy = 80, side = 110;
    var dx = Math.max(120, (el.clientWidth - 2 * side) / (layers.length - 1));
    var nodes = data.dag.nodes.map(function (n) {
      var x = Math.max(0, layers.indexOf(n.layer));
      count[x] = (count[x] || 0) + 1;
      return { name: n.name, x: x * dx, y: (count[x] - 1) * dy, category: x, layer: n.layer, symbol: shapes[layers[x]], symbolSize: 18,
               label: { show: true, position: "bottom", fontSize: 11, color: C.ink } };
    });
    var deepest = Object.keys(count).reduce(function (m, k) { return Math.max(m, count[k]); }, 1);
    var used = Object.keys(count).reduce(function (m, k) { return Math.max(m, Number(k)); }, 0);
    height(el, 120 + (deepest - 1) * dy + 50);
    return {
      title: title("Models, refs and sources", "left to right: sources, staging, intermediate, marts"),
      legend: { top: 42, left: 0, data: layers.map(function (l) { return { name: l, icon: shapes[l] }; }) },
      tooltip: { formatter: function (p) { return esc(p.dataType === "edge" ? p.data.source + " → " + p.data.target : p.data.name + " (" + p.data.layer + ")"); } },
      series: [{ type: "graph", layout: "none", roam: false, left: side, top: 120, width: Math.max(1, used * dx), height: Math.max(1, (deepest - 1) * dy),
                 categories: layers.map(function (l) { return { name: l, symbol: shapes[l], itemStyle: { color: "#fff", borderColor: C.ink, borderWidth: 1.5 } }; }),
                 edgeSymbol: ["none", "arrow"], edgeSymbolSize: 9, lineStyle: { color: C.muted, width: 1.2, curveness: 0.1 },
                 data: nodes, links: data.dag.edges.map(function (e) { return { source: e[0], target: e[1] }; }) }]
    };
  });

  var pending = null;
  window.addEventListener("resize", function () {  // labels and panels follow the width
    clearTimeout(pending);
    pending = setTimeout(function () {
      Object.keys(charts).forEach(function (name) {
        var el = document.getElementById("chart-" + name), option = builders[name](el);
        option.animation = false;
        charts[name].setOption(option, true);
        charts[name].resize();
      });
    }, 150);
  });
  document.body.dataset.ready = "true";
})();
