// Behaviour every page of the portal shares, kept out of the markup so that the Content
// Security Policy allows no inline script or handler (portal/settings.py).

// A select marked data-autosubmit sends its form when changed (the language switch).
document.addEventListener("change", function (event) {
  var select = event.target.closest("select[data-autosubmit]");
  if (select && select.form) select.form.submit();
});

// A bar marked data-bar-width="37.5" is drawn that wide (in per cent): set through the
// element's style object, which the policy allows, not a style attribute, which it refuses.
function portalBars(root) {
  root.querySelectorAll("[data-bar-width]").forEach(function (bar) {
    var width = parseFloat(bar.dataset.barWidth);
    if (!isNaN(width)) bar.style.width = Math.max(0, Math.min(100, width)) + "%";
  });
}
document.addEventListener("DOMContentLoaded", function () { portalBars(document); });
document.addEventListener("htmx:afterSwap", function (event) { portalBars(event.target); });
