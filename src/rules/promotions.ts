/**
 * Promotions: a share of the k slots goes to the items of a promotion's filter, ranked by the same model among
 * themselves, at stable positions. Pure.
 *
 * Slots: count = min(k, max(1, round(k × share / 100))) for k ≥ 1 and share > 0 (0 slots otherwise); the j-th
 * promoted slot (j = 0 … count-1) is the 0-based position floor((j + ½) × k / count) — the centres of count equal
 * stretches of the list. k=10, share=20 → [2, 7]; k=10, share=10 → [5]; k=4, share=50 → [1, 3]; share=100 → all.
 * The same (k, share) always gives the same positions.
 */

/** The 0-based positions of the promoted slots among k, ascending. */
export function promotedSlots(k: number, share: number): number[] {
  const kk = Number.isFinite(k) ? Math.floor(k) : 0;
  if (kk <= 0 || !(share > 0)) return [];
  const count = Math.min(kk, Math.max(1, Math.round((kk * Math.min(share, 100)) / 100)));
  const slots: number[] = [];
  for (let j = 0; j < count; j++) slots.push(Math.floor(((j + 0.5) * kk) / count));
  return slots;
}

/**
 * The answer list: promoted items in their slots (in their order), main items in the others (in theirs). When
 * there are fewer promoted items than slots, main items fill the rest; when main runs out, the remaining promoted
 * items follow. At most k items; an item in both lists appears once, where it comes first (by `keyOf`, default
 * the item itself).
 */
export function interleave<T>(main: T[], promoted: T[], k: number, share: number, keyOf: (item: T) => unknown = (item) => item): { item: T; promoted: boolean }[] {
  const kk = Number.isFinite(k) ? Math.max(0, Math.floor(k)) : 0;
  const slots = new Set(promotedSlots(kk, share));
  const out: { item: T; promoted: boolean }[] = [];
  const seen = new Set<unknown>();
  let m = 0;
  let p = 0;
  const take = (list: T[], at: number, isPromoted: boolean): number => {
    let i = at;
    while (i < list.length) {
      const item = list[i++]!;
      const key = keyOf(item);
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ item, promoted: isPromoted });
      break;
    }
    return i;
  };
  while (out.length < kk && (m < main.length || p < promoted.length)) {
    const before = out.length;
    const wantPromoted = slots.has(out.length);
    if (wantPromoted && p < promoted.length) p = take(promoted, p, true);
    if (out.length === before && m < main.length) m = take(main, m, false);
    if (out.length === before && p < promoted.length) p = take(promoted, p, true);
  }
  return out;
}
