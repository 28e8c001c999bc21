// The select-all toggle of django-import-export's export page, bound here rather than by the
// inline onchange attribute the Content Security Policy refuses
// (templates/admin/import_export/export.html; onSelectToggleChange is the package's own,
// from import_export/export_selectable_fields.js).
document.addEventListener("change", function (event) {
  if (event.target.matches("input.select-toggle") && typeof onSelectToggleChange === "function") {
    onSelectToggleChange(event);
  }
});
