// <select data-autosubmit>: changing the value submits its form (filters, the language switch).
document.addEventListener("change", function (event) {
  const field = event.target;
  if (field.matches && field.matches("[data-autosubmit]") && field.form) { field.form.submit(); }
});
