// <div class="progress-bar" data-progress="37">: sets the bar's width (an inline style="width: …" attribute is refused
// by the Content-Security-Policy; a style set from a script file is not). Runs on page load and on every htmx swap.
htmx.onLoad(function (root) {
  const bars = root.matches && root.matches("[data-progress]") ? [root] : [];
  bars.concat(Array.from(root.querySelectorAll("[data-progress]"))).forEach(function (bar) {
    bar.style.width = Math.max(0, Math.min(100, Number(bar.dataset.progress) || 0)) + "%";
  });
});
