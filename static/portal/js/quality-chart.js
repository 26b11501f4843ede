// Data-quality bar chart: reads the figures from the json_script block #quality-data into the canvas #quality-chart.
(function () {
  const source = document.getElementById("quality-data");
  const canvas = document.getElementById("quality-chart");
  if (!source || !canvas) { return; }
  const d = JSON.parse(source.textContent);
  new Chart(canvas, {
    type: "bar",
    data: {labels: d.labels, datasets: [
      {label: d.names[0], data: d.completeness, backgroundColor: "#0d6efd"},
      {label: d.names[1], data: d.validity, backgroundColor: "#198754"},
      {label: d.names[2], data: d.timely, backgroundColor: "#ffc107"}
    ]},
    options: {scales: {y: {min: 0, max: 100}}, plugins: {legend: {position: "bottom"}}}
  });
})();
