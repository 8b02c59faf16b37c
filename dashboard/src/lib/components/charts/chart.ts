/** @module Geometry for the hand-written SVG charts: plot space is 0..100 on both axes, labels are HTML. */

/** A round axis maximum at or above `value` (1, 2, 2.5, 5, 10 × 10^n). */
export function niceMax(value: number): number {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (value <= step * power) return step * power;
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

export function timeLabel(iso: string, local: boolean): string {
  const d = new Date(iso);
  if (!local) return d.toISOString().slice(11, 16);
  return d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
}
