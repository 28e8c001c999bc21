// A button marked data-print prints the page (the ledger's A4 layout: portal.css @media print).
document.querySelectorAll("[data-print]").forEach((button) => {
  button.addEventListener("click", () => window.print());
});
