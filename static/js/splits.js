// Prize splits as an operator types them: dollars per place ("150, 100, 50": the pool
// is their sum) or percentages of the pool ("50, 30, 20", adding up to 100). The API
// takes shares of the pool; dollars become amount ÷ pool, which the server's split to
// the cent (largest remainder) turns back into exactly those amounts. No side effects.
import { h } from "/js/common.js";

/** `{ pool, shares }` from the typed text, or throws an Error that says what to fix. */
export function parseSplit(text, unit, pool) {
  const parts = String(text).split(/[,;\s]+/).filter(Boolean).map((s) => s.replace(/[$%]/g, ""));
  const values = parts.map(Number);
  if (!values.length || values.some((v) => !Number.isFinite(v) || v < 0)) {
    throw new Error(unit === "percent" ? "Give each place a percentage, like 50, 30, 20." : "Give each place a dollar amount, like 150, 100, 50.");
  }
  const total = values.reduce((a, b) => a + b, 0);
  if (unit === "percent") {
    if (Math.abs(total - 100) > 0.005) throw new Error(`The percentages add up to ${+total.toFixed(3)}, not 100.`);
    const p = Number(pool);
    if (!Number.isFinite(p) || p <= 0) throw new Error("Give the prize pool in dollars.");
    return { pool: p, shares: values.map((v) => v / total) };
  }
  if (total <= 0) throw new Error("The prizes add up to $0.");
  const cents = values.map((v) => Math.round(v * 100));
  const sum = cents.reduce((a, b) => a + b, 0);
  return { pool: sum / 100, shares: cents.map((c) => c / sum) };
}

/** The fields of a split: prizes by place, their unit, and the pool (for percentages). */
export function splitFields(defaultUnit = "dollars") {
  const unit = h("select", { name: "unit", "aria-label": "Unit of the prizes" },
    h("option", { value: "dollars", selected: defaultUnit === "dollars" }, "dollars per place"),
    h("option", { value: "percent", selected: defaultUnit === "percent" }, "percent of the pool"));
  const pool = h("label", { class: "pool-field" }, "Prize pool (dollars)", h("input", { name: "prizePool", type: "number", min: 0, step: "0.01" }));
  const prizes = h("input", { name: "prizes", required: true, inputmode: "decimal" });
  const sync = () => {
    const percent = unit.value === "percent";
    pool.hidden = !percent;
    prizes.placeholder = percent ? "50, 30, 20" : "150, 100, 50";
  };
  unit.addEventListener("change", sync);
  sync();
  return [
    h("label", {}, "Prizes by place, first place first", h("span", { class: "split-row" }, prizes, unit)),
    pool,
  ];
}

/** `{ prizePool, prizeDistribution }` for the API from a form with [`splitFields`]. */
export function readSplit(fields) {
  const { pool, shares } = parseSplit(fields.prizes || "", fields.unit, fields.prizePool);
  return { prizePool: pool, prizeDistribution: shares };
}
