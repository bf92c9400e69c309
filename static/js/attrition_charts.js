/* The attrition dashboard's charts. Each chart element names, in data-chart, the json_script tag
   holding its title, axis titles, categories and series (translated on the page); the table
   next to each chart carries the same figures for readers who cannot see it. */
(function () {
  "use strict";
  if (!window.Plotly) {
    return;
  }
  var colours = ["#1f4e79", "#b8860b", "#2e8b57", "#8b3a62", "#5f6b7a"];
  var font = {family: "system-ui, -apple-system, 'PingFang SC', 'Microsoft YaHei', sans-serif"};

  function number(value) {
    return value === null || value === undefined ? null : Number(value);
  }

  function trace(series, chart, i) {
    var unit = series.unit ? " " + series.unit : "";
    var common = {
      name: series.name,
      x: series.x || chart.x,
      y: series.values.map(number),
      yaxis: series.axis === "y2" ? "y2" : "y",
      hovertemplate: "%{x}<br>" + series.name + ": %{y:,}" + unit + "<extra></extra>"
    };
    if (series.type === "bar") {
      common.type = "bar";
      common.marker = {color: colours[i % colours.length]};
      common.opacity = chart.y2axis ? 0.6 : 1;
    } else {
      common.type = "scatter";
      common.mode = "lines+markers";
      common.line = {color: colours[i % colours.length], width: 2};
      common.connectgaps = false;
    }
    return common;
  }

  /* Counts of people: whole-number ticks, about five of them. */
  function integerTicks(axis, chart, name) {
    var top = 0;
    chart.series.forEach(function (series) {
      if ((series.axis === "y2" ? "y2" : "y") === name) {
        series.values.forEach(function (value) { top = Math.max(top, number(value) || 0); });
      }
    });
    axis.tickmode = "linear";
    axis.tick0 = 0;
    axis.dtick = Math.max(1, Math.ceil(top / 5));
    axis.tickformat = ",d";
  }

  function draw(target) {
    var source = document.getElementById(target.getAttribute("data-chart"));
    if (!source) {
      return;
    }
    var chart = JSON.parse(source.textContent);
    var layout = {
      title: {text: chart.title},
      xaxis: {title: {text: chart.xaxis}, type: "category"},
      yaxis: {title: {text: chart.yaxis}, rangemode: "tozero", tickformat: ",~f"},
      legend: {orientation: "h", y: -0.25},
      margin: {t: 60, r: chart.y2axis ? 80 : 20, b: 100, l: 90},
      font: font
    };
    if (chart.y2axis) {
      layout.yaxis2 = {title: {text: chart.y2axis}, overlaying: "y", side: "right", rangemode: "tozero",
                       showgrid: false};
    }
    if (chart.integer_y) {
      integerTicks(layout.yaxis, chart, "y");
    }
    if (chart.integer_y2 && layout.yaxis2) {
      integerTicks(layout.yaxis2, chart, "y2");
    }
    if (chart.barmode) {
      layout.barmode = chart.barmode;
    }
    var traces = chart.series.map(function (series, i) { return trace(series, chart, i); });
    window.Plotly.newPlot(target, traces, layout, {responsive: true, displaylogo: false});
  }

  Array.prototype.forEach.call(document.querySelectorAll("[data-chart]"), draw);
})();
