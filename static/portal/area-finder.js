// The area finder (templates/grids/_search_box.html): a click on a result opens its page.
document.addEventListener("click", function (event) {
  var results = document.getElementById("area-finder-results");
  var pick = event.target.closest("[data-area-code]");
  if (!results || !pick || !results.contains(pick)) return;
  window.location.href = results.dataset.detailUrl.replace(
    "__code__", encodeURIComponent(pick.dataset.areaCode)
  );
});
