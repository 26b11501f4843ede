// Dashboard charts: read the figures from the json_script block #dashboard-data into #clock-chart and
// #department-chart (no inline script: the CSP forbids it).
(function () {
  const source = document.getElementById("dashboard-data");
  if (!source) { return; }
  const d = JSON.parse(source.textContent);
  const clockCanvas = document.getElementById("clock-chart");
  if (clockCanvas) {
    new Chart(clockCanvas, {
      type: "bar",
      data: {labels: d.clocks.labels, datasets: [
        {label: d.clocks.names[0], data: d.clocks.open, backgroundColor: "#0d6efd"},
        {label: d.clocks.names[1], data: d.clocks.overdue, backgroundColor: "#dc3545"}
      ]},
      options: {indexAxis: "y", scales: {x: {stacked: true, ticks: {precision: 0}}, y: {stacked: true}},
                plugins: {legend: {position: "bottom"}}}
    });
  }
  const deptCanvas = document.getElementById("department-chart");
  if (deptCanvas) {
    new Chart(deptCanvas, {
      type: "bar",
      data: {labels: d.departments.labels, datasets: [
        {label: d.clocks.names[1], data: d.departments.overdue, backgroundColor: "#dc3545"}
      ]},
      options: {indexAxis: "y", scales: {x: {ticks: {precision: 0}}}, plugins: {legend: {display: false}}}
    });
  }
})();
