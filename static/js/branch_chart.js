/* A branch's AUM (bars, left axis) and profit contribution (line, right axis) per month.
   The data, already in the reader's money unit, and the translated labels come from the page
   (json_script); the table under the chart carries the same figures for readers who cannot see it. */
(function () {
  "use strict";
  var source = document.getElementById("branch-chart-data");
  var target = document.getElementById("branch-chart");
  if (!source || !target || !window.Plotly) {
    return;
  }
  var chart = JSON.parse(source.textContent);
  var traces = [
    {
      type: "bar",
      name: chart.aum_name,
      x: chart.months,
      y: chart.aum.map(Number),
      marker: {color: "#1f4e79"},
      hovertemplate: "%{x}<br>" + chart.aum_name + ": %{y:,.2f} " + chart.unit + "<extra></extra>"
    },
    {
      type: "scatter",
      mode: "lines+markers",
      name: chart.profit_name,
      x: chart.months,
      y: chart.profit.map(Number),
      yaxis: "y2",
      line: {color: "#b8860b", width: 3},
      hovertemplate: "%{x}<br>" + chart.profit_name + ": %{y:,.2f} " + chart.unit + "<extra></extra>"
    }
  ];
  var layout = {
    title: {text: chart.title},
    xaxis: {title: {text: chart.xaxis}, type: "category", automargin: true},
    yaxis: {title: {text: chart.aum_axis}, tickformat: ",.0f", rangemode: "tozero"},
    yaxis2: {title: {text: chart.profit_axis}, tickformat: ",.1f", overlaying: "y", side: "right",
             zeroline: true, showgrid: false},
    legend: {orientation: "h", x: 0, y: 1.0, yanchor: "bottom"},
    margin: {t: 80, r: 90, b: 70, l: 90},
    font: {family: "system-ui, -apple-system, 'PingFang SC', 'Microsoft YaHei', sans-serif"}
  };
  window.Plotly.newPlot(target, traces, layout, {responsive: true, displaylogo: false});
})();
