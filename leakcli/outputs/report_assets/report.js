/* leakcli report: draws the six charts from the JSON the page carries, as SVG. The colours are the
   CSS custom properties of report.css, so a colour means one thing across the charts, the tables
   and the legends. Every custom tooltip is HTML: what the data says goes through encodeHTML. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("leak-data").textContent);
  var style = getComputedStyle(document.documentElement);
  var C = {};
  ["act", "emerging", "emerging-edge", "stopped", "noise", "segment", "device", "site", "lost", "gained", "chance", "ink",
   "muted", "rule"].forEach(function (k) {
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
  var view = data.view;
  var STATUS = view.status;  // act, emerging, stopped, noise: the words of the legend
  var ORDER = Object.keys(STATUS);
  var edge = function (s) { return s === "emerging" ? C["emerging-edge"] : null; };  // yellow needs an edge on white
  // the page's one label of an action ("#2 bsearch / nonbrand / desktop / /lander-5", "#1 all traffic on mobile")
  var label = function (a) { return "#" + a.priority_rank + " " + view.labels[String(a.priority_rank)]; };
  var byRank = {};
  data.actions.forEach(function (a) { byRank[String(a.priority_rank)] = a; });
  var rankLabel = function (rank) { return "#" + rank + " " + view.labels[String(rank)]; };
  var recentRanks = {};
  (view.recent_ranks || []).forEach(function (r) { recentRanks[String(r)] = true; });
  var RECENT = "last " + view.recent_months + " months" + (view.recent ? " (" + view.recent + ")" : "");
  var win = data.window || {};
  var inWindow = function (m) { return win.start && month(m) >= win.start && month(m) <= win.end; };
  var inRecent = function (m) { return win.recent_start && month(m) >= win.recent_start && month(m) <= win.end; };
  // a label too long for its width wraps at its spaces ("… / desktop" / "/lander-3"): nothing is cut
  var wrapped = function (w, colour) {
    return { width: w, overflow: "break", lineHeight: 14, color: colour, formatter: function (v) { return fit(v, w - 4); } };
  };
  var title = function (text, sub) { return { text: text, subtext: sub || "", left: 0, textStyle: { fontSize: 15, color: C.ink } }; };
  var ruler = document.createElement("canvas").getContext("2d");
  var textWidth = function (text, font) { ruler.font = font || "bold 12px sans-serif"; return ruler.measureText(text).width; };
  // A label in lines of at most `width` px, broken after a " / " between its parts (never inside a
  // source, campaign, device or page; a single part wider than the line is broken by the chart's own
  // "break" overflow): nothing of it is cut, so the device and the page stay in view.
  var fit = function (text, width) {
    var parts = String(text).split(" / "), lines = [], line = parts[0];
    for (var i = 1; i < parts.length; i++) {
      if (textWidth(line + " / " + parts[i], "12px sans-serif") <= width) { line += " / " + parts[i]; }
      else { lines.push(line + " /"); line = parts[i]; }
    }
    lines.push(line);
    return lines.join("\n");
  };
  var labelWidth = function (el) { return Math.max(150, Math.min(320, Math.round(el.clientWidth * 0.34))); };
  var GAP_ROWS = 30;
  var shown = data.actions.slice(0, GAP_ROWS);
  var rows = shown.slice().reverse();  // the first action on top of a horizontal bar chart
  var more = data.actions.length > shown.length ? " (the first " + shown.length + " of " + data.actions.length + ")" : "";
  var rowColour = function (v, i) { return rows[i] && rows[i].action_status === "noise" ? C.muted : C.ink; };
  var tip = function (a) {
    var half = isNum(a.gap_se_usd) ? 1.96 * a.gap_se_usd : null;
    var recent = "";
    if (recentRanks[String(a.priority_rank)]) {
      var rhalf = isNum(a.recent_gap_se_usd) ? 1.96 * a.recent_gap_se_usd : null;
      recent = "<br>" + esc(RECENT) + ": gap " + usd(a.recent_gap_usd) + (rhalf === null ? "" : " (95%: " + usd(a.recent_gap_usd - rhalf) +
        " to " + usd(a.recent_gap_usd + rhalf) + ")") + ", z " + num(a.recent_gap_z, 1) + ", q " + num(a.recent_q_value, 3);
    }
    return "<b>" + esc(label(a)) + "</b><br>" + esc(STATUS[a.action_status] || String(a.action_status)) +
      "<br>window: gap " + usd(a.gap_usd) + (half === null ? "" : " (95%: " + usd(a.gap_usd - half) + " to " + usd(a.gap_usd + half) + ")") +
      ", z " + num(a.gap_z, 1) + ", q " + num(a.q_value, 3) + recent + "<br>" + Number(a.sessions).toLocaleString("en-US") +
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

  // The recent months (the window's last ones), over a category axis of months: dashed and unfilled
  // (the heat map), or shaded in the emerging colour behind an emerging leak's trend (`shaded`).
  function recentMark(months, shaded, axisIndex) {
    var a = months.indexOf(win.recent_start), b = months.indexOf(win.end);
    if (a < 0 || b < 0) { return null; }
    return {
      type: "custom", name: shaded ? RECENT_NAME : "recent months", silent: true, tooltip: { show: false }, z: shaded ? 1 : 11,
      xAxisIndex: axisIndex || 0, yAxisIndex: axisIndex || 0, itemStyle: { color: C.emerging, borderColor: C["emerging-edge"] },
      encode: { x: [0, 1], y: 2 }, data: [[a, b, 0]],
      renderItem: function (params, api) {
        var sys = params.coordSys, band = api.size([1, 0])[0];
        var x0 = api.coord([api.value(0), 0])[0] - band / 2, x1 = api.coord([api.value(1), 0])[0] + band / 2;
        var inset = shaded ? 0 : 3;
        return { type: "rect", shape: { x: x0 + inset, y: sys.y + inset, width: x1 - x0 - 2 * inset, height: sys.height - 2 * inset },
                 style: shaded ? { fill: C.emerging, opacity: 0.45, stroke: "none" } :
                                 { fill: "none", stroke: C.ink, lineWidth: 1.5, lineDash: [5, 3] } };
      }
    };
  }
  var RECENT_NAME = RECENT + ": an emerging leak's recent months";

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
    height(el, Math.max(260, 110 + rows.length * 40));
    var w = labelWidth(el);
    var series = ORDER.map(function (s) {
      return { type: "bar", name: STATUS[s], stack: "gap", barMaxWidth: 22,
               itemStyle: { color: C[s], borderColor: edge(s) || C[s], borderWidth: edge(s) ? 1 : 0 },
               data: rows.map(function (a) {  // a row judged by its recent months draws its own two bars (below)
                 return a.action_status === s && !recentRanks[String(a.priority_rank)] ? a.gap_usd : null; }) };
    });
    // a whisker from lo to hi with caps, and its text right of `end` (left of `start` when it would
    // leave the chart at `right`)
    var whisker = function (lo, hi, start, end, cap, text, right, dashed) {
      var line = { stroke: C.ink, lineWidth: 1.5, lineDash: dashed ? [4, 2] : null };
      var x = end + 6, align = "left";
      if (x + textWidth(text) + 4 > right) { x = Math.min(lo[0], start) - 6; align = "right"; }
      return [
        { type: "line", shape: { x1: lo[0], y1: lo[1], x2: hi[0], y2: hi[1] }, style: line },
        { type: "line", shape: { x1: lo[0], y1: lo[1] - cap, x2: lo[0], y2: lo[1] + cap }, style: line },
        { type: "line", shape: { x1: hi[0], y1: hi[1] - cap, x2: hi[0], y2: hi[1] + cap }, style: line },
        { type: "text", x: x, y: hi[1], style: { text: text, fill: C.ink, align: align, verticalAlign: "middle", fontSize: 12 } }
      ];
    };
    series.push({
      type: "custom", name: "95% interval", itemStyle: { color: C.ink }, encode: { x: [1, 2], y: 0 }, z: 5,
      data: rows.map(function (a, i) {
        var half = isNum(a.gap_se_usd) ? 1.96 * a.gap_se_usd : 0;
        return [i, a.gap_usd - half, a.gap_usd + half, a.gap_usd, half];
      }),
      renderItem: function (params, api) {
        var right = params.coordSys.x + params.coordSys.width + 126;
        var y = api.value(0), lo = api.coord([api.value(1), y]), hi = api.coord([api.value(2), y]);
        var at = api.coord([api.value(3), y])[0], zero = api.coord([0, y])[0];
        var cap = api.size([0, 1])[1] * 0.2;
        var a = rows[y], recent = recentRanks[String(a.priority_rank)];
        if (!recent) {
          return { type: "group", children: whisker(lo, hi, Math.min(at, zero), Math.max(hi[0], at), cap,
                                                    usd(api.value(3)) + " ± " + usd(api.value(4)), right) };
        }
        // judged by its recent months (an emerging leak): the window's gap above, the recent months' gap
        // below (a paler bar with a dashed edge and whisker), each in the row's status colour
        var band = api.size([0, 1])[1], up = band * 0.2, down = band * 0.2, thick = band * 0.3;
        var fill = C[a.action_status] || C.muted, stroke = edge(a.action_status) || C.ink;
        var rg = a.recent_gap_usd, rh = isNum(a.recent_gap_se_usd) ? 1.96 * a.recent_gap_se_usd : 0;
        var r0 = api.coord([rg - rh, y]), r1 = api.coord([rg + rh, y]), rx = api.coord([rg, y])[0];
        var children = [
          { type: "rect", shape: { x: Math.min(zero, at), y: lo[1] - up - thick / 2, width: Math.abs(at - zero), height: thick },
            style: { fill: fill, stroke: stroke, lineWidth: 1 } },
          { type: "rect", shape: { x: Math.min(zero, rx), y: r0[1] + down - thick / 2, width: Math.abs(rx - zero), height: thick },
            style: { fill: fill, opacity: 0.6, stroke: stroke, lineWidth: 1, lineDash: [3, 2] } }
        ];
        children = children.concat(whisker([lo[0], lo[1] - up], [hi[0], hi[1] - up], Math.min(at, zero), Math.max(hi[0], at), cap * 0.7,
                                           "window " + usd(api.value(3)) + " ± " + usd(api.value(4)), right));
        children = children.concat(whisker([r0[0], r0[1] + down], [r1[0], r1[1] + down], Math.min(rx, zero), Math.max(r1[0], rx), cap * 0.7,
                                           "last " + view.recent_months + " months " + usd(rg) + " ± " + usd(rh), right, true));
        return { type: "group", children: children };
      }
    });
    var legend = ORDER.filter(function (s) { return data.actions.some(function (a) { return a.action_status === s; }); })
      .map(function (s) { return STATUS[s]; });
    legend.push({ name: "95% interval", icon: "path://M0 4h20v2H0zM0 0h2v10H0zM18 0h2v10h-2z" });
    return {
      title: title("Gap to the baseline by action (USD, window)" + more, "bar: the gap; whisker: its 95% interval; colour: the status" +
                   (view.recent_ranks.length ? "; an emerging leak also shows its " + RECENT : "")),
      legend: { top: 42, left: 0, data: legend },
      grid: { left: w + 20, right: 130, top: 80, bottom: 50 },
      tooltip: { trigger: "item", formatter: function (p) { return tip(rows[p.dataIndex]); } },
      xAxis: { type: "value", name: "gap (USD)", nameLocation: "middle", nameGap: 30, axisLabel: { formatter: usd, hideOverlap: true } },
      yAxis: { type: "category", data: rows.map(label), axisLabel: wrapped(w, rowColour) },
      series: series
    };
  });

  draw("split", function (el) {
    height(el, Math.max(260, 110 + rows.length * 40));
    var w = labelWidth(el);
    var faded = function (a, v) { return { value: v, itemStyle: { opacity: a.action_status === "noise" ? 0.35 : 1 } }; };
    return {
      title: title("Device part and segment part of the gap to the site (USD, window)" + more, "the two parts add up to the whole gap to the site (◆)"),
      legend: { top: 42, left: 0 },
      grid: { left: w + 20, right: 40, top: 80, bottom: 50 },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, valueFormatter: usd },
      xAxis: { type: "value", name: "USD", nameLocation: "middle", nameGap: 30, axisLabel: { formatter: usd, hideOverlap: true } },
      yAxis: { type: "category", data: rows.map(label), axisLabel: wrapped(w, rowColour) },
      series: [
        { type: "bar", name: "device part: lost to the device", itemStyle: { color: C.device },
          data: rows.map(function (a) { return faded(a, a.device_gap_usd); }) },
        { type: "bar", name: "segment part: lost beyond its device (page or bid)", itemStyle: { color: C.segment },
          data: rows.map(function (a) { return faded(a, a.action_scope === "device" ? 0 : a.segment_gap_usd); }) },
        { type: "scatter", name: "whole gap to the site", symbol: "diamond", symbolSize: 11, itemStyle: { color: C.site }, z: 5,
          data: rows.map(function (a) { return a.revenue_gap_usd; }) }
      ]
    };
  });

  var hm = data.heatmap;
  var hmLabels = hm.rows.map(rankLabel);
  var hmStatus = hm.rows.map(function (r) { return (byRank[String(r)] || {}).action_status; });
  draw("heatmap", function (el) {
    height(el, Math.max(320, 200 + hm.rows.length * 40));
    var w = labelWidth(el);
    // cells [month, row, gap, z, tested]: coloured by their gap in the months of a test that found the
    // row's gap bigger than chance; grey elsewhere (chance explains them), whatever their size
    var beyond = hm.cells.filter(function (c) { return c[4] === 1; });
    var chance = hm.cells.filter(function (c) { return c[4] !== 1; }).map(function (c) { return [c[0], c[1], c[2], c[3], 0]; });
    var extent = beyond.reduce(function (m, c) { return Math.max(m, Math.abs(c[2])); }, 1);
    var labels = hm.months.map(month);
    var every = Math.max(1, Math.ceil(labels.length * 18 / Math.max(1, el.clientWidth - w - 60)));  // labels that fit,
    var anchor = Math.max(0, labels.indexOf(win.start));  // counted from the window's first month
    var cell = { borderColor: "#fff", borderWidth: 1 };
    var series = [{ type: "heatmap", name: "beyond chance", data: beyond, itemStyle: cell },
                  { type: "heatmap", name: "within chance", data: chance, itemStyle: cell }];
    var mark = windowMark(labels, true);
    if (mark) { series.push(mark); }
    var recent = hm.spans.indexOf("recent") >= 0 ? recentMark(labels, false) : null;
    if (recent) { series.push(recent); }
    return {
      title: title("Segment gap by month (USD)", "rows: the segment actions, in rank order; outlined: the window" +
                   (recent ? "; dashed: its " + RECENT : "")),
      grid: { left: w + 20, right: 40, top: 80, bottom: 130 },
      tooltip: { formatter: function (p) {
        var c = p.value, tested = p.seriesIndex === 0;
        return esc(hmLabels[c[1]]) + "<br>" + esc(labels[c[0]]) + ": " + usd(c[2]) + (c[2] >= 0 ? " lost" : " gained") +
          "<br>that month alone: z " + num(c[3], 1) + "<br>" + (tested ? "a month of a gap found bigger than chance" :
          "chance explains this gap (" + esc(STATUS[hmStatus[c[1]]] || "") + (hm.spans[c[1]] ? ", outside the test that found its gap" : "") + ")");
      } },
      xAxis: { type: "category", name: "month", nameLocation: "middle", nameGap: 56, data: labels, splitArea: { show: false },
               axisLabel: { rotate: 60, interval: function (i) { return (i - anchor) % every === 0; }, formatter: function (m) { return inWindow(m) ? "{w|" + m + "}" : "{o|" + m + "}"; },
                            rich: { w: { color: C.ink, fontWeight: "bold" }, o: { color: C.muted } } } },
      yAxis: { type: "category", data: hmLabels, inverse: true,
               axisLabel: wrapped(w, function (v, i) { return hmStatus[i] === "noise" ? C.muted : C.ink; }) },
      visualMap: [
        { type: "continuous", seriesIndex: 0, dimension: 2, min: -extent, max: extent, calculable: false, orient: "horizontal",
          left: "center", bottom: 26, itemWidth: 14, text: [usd(extent) + " lost against the device", "gained " + usd(extent)],
          inRange: { color: [C.gained, "#f7f7f7", C.lost] } },
        { type: "piecewise", seriesIndex: 1, dimension: 4, orient: "horizontal", left: "center", bottom: 0, selectedMode: false,
          pieces: [{ value: 0, label: "grey: within chance (any size)", color: C.chance }], itemWidth: 14 }
      ],
      series: series
    };
  });

  var NAMES = { segment: "the segment (the action's own sessions)", device: "its device (all sessions on that device)",
                site: "the whole site (all sessions)" };
  function trend(name, measure, device, site, fmt, text, axis) {
    draw(name, function (el) {
      var n = Math.max(1, data.trends.length);
      var cols = el.clientWidth >= 900 ? Math.min(n, 3) : 1, lines = Math.ceil(n / cols);
      var top = 86, head = 40, panel = 200, gapY = 30, left = 64, gapX = 64;
      height(el, top + lines * (head + panel) + (lines - 1) * gapY + 10);
      var width = (el.clientWidth - left - (cols - 1) * gapX - 16) / cols;
      var months = hm.months.map(month);
      var titles = [title(text + " (" + axis + ")")];
      var grids = [], xs = [], ys = [], series = [], emerging = false;
      data.trends.forEach(function (t, i) {
        var x = left + (i % cols) * (width + gapX), y = top + Math.floor(i / cols) * (head + panel + gapY) + head;
        grids.push({ left: x, top: y, width: width, height: panel - 40 });
        // the status as a chip (rich text of our own words only), then the label as plain text that
        // wraps at its spaces (never cut): a name spelled like rich-text markup ("{a|b}") stays as spelled
        var chip = 0, known = t.status in STATUS;
        if (known) {
          chip = textWidth(STATUS[t.status]) + 18;
          titles.push({ text: "{s|" + STATUS[t.status] + "}", left: x, top: y - head, textStyle: { rich: { s: {
            backgroundColor: C[t.status], borderColor: edge(t.status) || C[t.status], borderWidth: edge(t.status) ? 1 : 0,
            color: t.status === "noise" || t.status === "emerging" ? C.ink : "#fff", padding: [3, 5], borderRadius: 3, fontWeight: "bold", fontSize: 12 } } } });
        }
        titles.push({ text: fit((known ? "" : (t.status || "") + " ") + rankLabel(t.rank), width - chip - 4), left: x + chip, top: y - head + 2,
                      textStyle: { fontSize: 12, fontWeight: "normal", color: C.ink, width: width - chip, overflow: "break", lineHeight: 15 } });
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
        if (t.status === "emerging") {  // its recent months, where its gap is bigger than chance, shaded
          var shade = recentMark(months, true, i);
          if (shade) { series.push(shade); emerging = true; }
        }
      });
      var names = [NAMES.segment, NAMES.device, NAMES.site];
      if (emerging) { names.push({ name: RECENT_NAME, icon: "rect" }); }
      return {
        title: titles,
        legend: { type: "plain", top: 40, left: 0, data: names },
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
