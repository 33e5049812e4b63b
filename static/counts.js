// The counts form's running total, kept as people type. Progressive
// enhancement: the totals are drawn by the server too, and the server alone
// judges the counts when the form is sent.
"use strict";
document.querySelectorAll("table.counts").forEach((table) => {
  const cells = [...table.querySelectorAll("tbody input")];
  const sum = (inputs) =>
    inputs.reduce((total, input) => {
      const value = Number(input.value.trim() || "0");
      return Number.isInteger(value) && value >= 0 ? total + value : total;
    }, 0);
  const show = () => {
    for (const sex of ["female", "male"]) {
      table.querySelector(`output[data-sex="${sex}"]`).value =
        sum(cells.filter((input) => (input.dataset.sex ?? input.name.split("_").pop()) === sex));
    }
    table.querySelector("output[data-sex=all]").value = sum(cells);
  };
  table.addEventListener("input", show);
});
