// The area picker (templates/grids/_area_picker.html): a click on a search result or on a
// node of the tree walker ([data-area-code]) puts its code in the picker's input and shows
// its path; "clear" empties it; a code typed by hand is not yet a place the page can name.
document.addEventListener("click", (event) => {
  const picker = event.target.closest("[data-area-picker]");
  if (!picker) return;
  const input = picker.querySelector("input[type=hidden], input[type=text]");
  const chosen = picker.querySelector("[data-area-chosen]");
  const clear = picker.querySelector("[data-area-clear]");
  const pick = event.target.closest("[data-area-code]");
  if (pick) {
    input.value = pick.dataset.areaCode;
    chosen.textContent = picker.dataset.prefix + (pick.dataset.areaLabel || pick.dataset.areaCode);
    picker.querySelector("[data-area-results]").innerHTML = "";
    if (clear) clear.hidden = false;
  } else if (clear && event.target.closest("[data-area-clear]")) {
    input.value = "";
    chosen.textContent = picker.dataset.noneLabel || "";
    clear.hidden = true;
  }
});
document.addEventListener("input", (event) => {
  const picker = event.target.closest("[data-area-picker]");
  if (picker && event.target.matches("input[type=text]")) {
    picker.querySelector("[data-area-chosen]").textContent = "";
  }
});
