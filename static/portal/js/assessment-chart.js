// Assessment scorecard chart: points against weight per indicator, from the json_script block #assessment-data.
(function () {
  const source = document.getElementById("assessment-data");
  const canvas = document.getElementById("assessment-chart");
  if (!source || !canvas || typeof Chart === "undefined") { return; }
  const d = JSON.parse(source.textContent);
  new Chart(canvas, {
    type: "bar",
    data: {labels: d.labels, datasets: [
      {label: d.names[0], data: d.points, backgroundColor: "#0d6efd"},
      {label: d.names[1], data: d.weights, backgroundColor: "#dee2e6"}
    ]},
    options: {indexAxis: "y", scales: {x: {min: 0}}, plugins: {legend: {position: "bottom"}}}
  });
})();
