/** @module Geometry for the hand-written SVG charts: plot space is 0..100 on both axes, labels are HTML. */

/** A round axis maximum at or above `value` whose half is round too (1, 2, 4, 5, 6, 8, 10 × 10^n). */
export function niceMax(value: number, min = 0): number {
  const v = Math.max(value, min);
  if (!(v > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(v));
  for (const step of [1, 2, 4, 5, 6, 8, 10]) if (v <= step * power) return step * power;
  return 10 * power;
}

/** x (0..100) of the centre of bucket `i` of `n`. */
export function xAt(i: number, n: number): number {
  return n <= 1 ? 50 : (i / (n - 1)) * 100;
}

/** SVG path through the non-null values; a null breaks the line. */
export function linePath(values: (number | null)[], max: number): string {
  let d = "";
  let pen = false;
  values.forEach((value, i) => {
    if (value === null || value === undefined) {
      pen = false;
      return;
    }
    const x = xAt(i, values.length).toFixed(2);
    const y = (100 - (Math.min(value, max) / max) * 100).toFixed(2);
    d += `${pen ? "L" : "M"}${x} ${y}`;
    pen = true;
  });
  return d;
}

/** About `count` evenly spaced indexes, always including the first and last. */
export function tickIndexes(n: number, count = 4): number[] {
  if (n <= count) return Array.from({ length: n }, (_, i) => i);
  const step = (n - 1) / (count - 1);
  return Array.from({ length: count }, (_, i) => Math.round(i * step));
}

/** "14:00" for spans within a day and a half, "Nov 28" beyond; UTC until mounted, then local. */
export function timeLabel(iso: string, local: boolean, spanMs = 0): string {
  const d = new Date(iso);
  const days = spanMs > 36 * 3_600_000;
  if (!local) return days ? d.toISOString().slice(5, 10) : d.toISOString().slice(11, 16);
  if (days) return d.toLocaleDateString("en-US", { month: "short", day: "numeric" });
  return d.toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit", hour12: false });
}

/** Points with no neighbour on either side (a line alone would not show them) plus the latest point. */
export function markerPath(values: (number | null)[], max: number): string {
  const present = (i: number) => values[i] !== null && values[i] !== undefined;
  const last = values.map((_, i) => i).filter(present).pop();
  let d = "";
  values.forEach((value, i) => {
    if (value === null || value === undefined) return;
    if (i !== last && (present(i - 1) || present(i + 1))) return;
    // A zero-length segment with a round cap draws a round dot even though the plot is stretched.
    d += `M${xAt(i, values.length).toFixed(2)} ${(100 - (Math.min(value, max) / max) * 100).toFixed(2)}l0 0`;
  });
  return d;
}
