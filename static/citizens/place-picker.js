// The place of a report or a micro-wish on the resident pages: a click on a search result
// picks it.
document.addEventListener("click", function (event) {
  var pick = event.target.closest("[data-place-id]");
  if (!pick) return;
  document.getElementById("id_place").value = pick.dataset.placeId;
  var chosen = document.getElementById("place-chosen");
  chosen.textContent = pick.dataset.placeLabel;
  chosen.dataset.place = pick.dataset.placeId;
  document.getElementById("place-results").innerHTML = "";
  var note = document.getElementById("home-place-note");
  if (note) note.remove();
});
