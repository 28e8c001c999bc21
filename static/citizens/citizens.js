// Behaviour of every resident page, kept out of the markup (no inline script or handler
// under the Content Security Policy). A select marked data-autosubmit sends its form when
// changed: the language switch.
document.addEventListener("change", function (event) {
  var select = event.target.closest("select[data-autosubmit]");
  if (select && select.form) select.form.submit();
});
