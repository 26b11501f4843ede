// Catalog entry form: the 信息项 formset — "add item" clones the empty form's <template>, ticking 删除 hides a row,
// and the visible rows are renumbered.
(function () {
  const rows = document.getElementById("item-rows");
  const total = document.getElementById("id_items-TOTAL_FORMS");
  const template = document.getElementById("item-template");
  const add = document.getElementById("add-item");
  if (!rows || !total || !template || !add) { return; }
  function renumber() {
    let n = 0;
    rows.querySelectorAll("tr.item-row").forEach(function (tr) {
      if (!tr.classList.contains("d-none")) { n += 1; tr.querySelector(".row-no").textContent = n; }
    });
  }
  add.addEventListener("click", function () {
    const index = parseInt(total.value, 10);
    const html = template.innerHTML.replace(/__prefix__/g, String(index));
    rows.insertAdjacentHTML("beforeend", html);
    total.value = index + 1;
    renumber();
    rows.lastElementChild.querySelector("input[type=text]").focus();
  });
  rows.addEventListener("change", function (event) {
    if (event.target.name && event.target.name.endsWith("-DELETE") && event.target.checked) {
      event.target.closest("tr").classList.add("d-none");
      renumber();
    }
  });
})();
