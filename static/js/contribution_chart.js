/* Stacked bars of a client's monthly profit contribution by product line.
   The data and the translated labels come from the page (json_script); the table next to the
   chart carries the same figures for readers who cannot see it. */
(function () {
  "use strict";
  var source = document.getElementById("contribution-chart-data");
  var target = document.getElementById("contribution-chart");
  if (!source || !target || !window.Plotly) {
    return;
  }
  var chart = JSON.parse(source.textContent);
  var colours = ["#1f4e79", "#2e8b57", "#b8860b", "#8b3a62"];
  var traces = chart.series.map(function (series, i) {
    return {
      type: "bar",
      name: series.name,
      x: chart.months,
      y: series.values.map(Number),
      marker: {color: colours[i % colours.length]},
      hovertemplate: "%{x}<br>" + series.name + ": %{y:,.2f} 元<extra></extra>"
    };
  });
  var layout = {
    title: {text: chart.title},
    barmode: "relative",
    xaxis: {title: {text: chart.xaxis}, type: "category"},
    yaxis: {title: {text: chart.yaxis}, tickformat: ",.0f", zeroline: true},
    legend: {orientation: "h", y: -0.25},
    margin: {t: 60, r: 20, b: 90, l: 90},
    font: {family: "system-ui, -apple-system, 'PingFang SC', 'Microsoft YaHei', sans-serif"}
  };
  window.Plotly.newPlot(target, traces, layout, {responsive: true, displaylogo: false});
})();
