// Report filters: another creditor has its own currencies, listed once the page is shown for
// it; until then the currency is left out of the form (the creditor's own currency is shown)
// rather than sending one that creditor may not have. No submit on change: a keyboard user
// moving through the list must not reload the page at every step.
document.addEventListener("DOMContentLoaded", () => {
  const creditor = document.getElementById("r-creditor");
  const currency = document.getElementById("r-currency");
  if (!creditor || !currency) return;
  const initial = creditor.value;
  creditor.addEventListener("change", () => {
    currency.disabled = creditor.value !== initial;
  });
});
