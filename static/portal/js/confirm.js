// <form data-confirm="question">: asks before the form is submitted; cancelling keeps the page as it is.
document.addEventListener("submit", function (event) {
  const form = event.target;
  if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) { event.preventDefault(); }
});
