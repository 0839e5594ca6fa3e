/**
 * Money, exactly. Events carry prices in major units (e.g. 12.34) with at most MONEY_SCALE decimals; every
 * sum (user spend, item revenue, window revenue, merges of partial aggregates) is computed in integer minor
 * units (cents) and converted back, so a cent and a 10-digit total both survive exactly and the result does
 * not depend on the order of addition. All values stay far below Number.MAX_SAFE_INTEGER, the largest number
 * the DynamoDB marshaller accepts.
 */

/** Decimal places of a price in major units (cents). */
export const MONEY_SCALE = 2;
/** Minor units per major unit (10^MONEY_SCALE). */
export const MINOR_PER_MAJOR = 10 ** MONEY_SCALE;
/** The largest accepted unit price, major units. */
export const MAX_PRICE = 1_000_000_000;
/** The largest accepted line total (price × quantity), major units. */
export const MAX_LINE_TOTAL = 10_000_000_000;
/**
 * Sums of money (spend, revenue) are exact up to this many major units and saturate there. Below 2^46 / 100
 * every cent is a distinct double, so converting to cents and back is exact; this bound is 1,000 maximal
 * line totals, beyond any real shop.
 */
export const MAX_MONEY_TOTAL = 10_000_000_000_000;

export const MAX_PRICE_MINOR = MAX_PRICE * MINOR_PER_MAJOR;
export const MAX_LINE_TOTAL_MINOR = MAX_LINE_TOTAL * MINOR_PER_MAJOR;
export const MAX_MONEY_TOTAL_MINOR = MAX_MONEY_TOTAL * MINOR_PER_MAJOR;

/** Decimal amount in major units: digits, optionally a point and 1..MONEY_SCALE digits. */
const DECIMAL = /^(\d{1,16})(?:\.(\d{1,16}))?$/;

export type MoneyParse = { ok: true; minor: number } | { ok: false; message: string };

/**
 * Reads an amount in major units, given as a number or a decimal string ("12.34"), into integer minor units.
 * Refuses (never rounds) sub-cent digits, negative, non-finite and non-decimal values, and amounts above
 * `max` major units. Never throws. Messages do not name the field; callers prefix it.
 */
export function parseMoneyMinor(value: unknown, max: number = MAX_PRICE): MoneyParse {
  let text: string;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return { ok: false, message: `must be a finite number (got ${String(value)})` };
    if (value < 0) return { ok: false, message: `must be between 0 and ${max} (got ${String(value)})` };
    if (value > max) return { ok: false, message: `must be between 0 and ${max} (got ${String(value)})` };
    // The shortest decimal that round-trips is the amount the producer meant (12.34, not 12.3399999…).
    text = String(value === 0 ? 0 : value);
    if (/e-/i.test(text)) return { ok: false, message: `must have at most ${MONEY_SCALE} decimal places (MONEY_SCALE; got ${text})` };
  } else if (typeof value === 'string') {
    text = value;
    if (text.length > 40) return { ok: false, message: `must be a number or a decimal string like "12.34" (got a ${text.length}-character string)` };
    if (/^-\d/.test(text)) return { ok: false, message: `must be between 0 and ${max} (got ${JSON.stringify(text)})` };
  } else {
    return { ok: false, message: 'must be a number or a decimal string like "12.34"' };
  }
  const m = DECIMAL.exec(text);
  if (!m) return { ok: false, message: `must be a number or a decimal string like "12.34" (got ${JSON.stringify(text)})` };
  const fraction = m[2] ?? '';
  if (fraction.length > MONEY_SCALE) return { ok: false, message: `must have at most ${MONEY_SCALE} decimal places (MONEY_SCALE; got ${text})` };
  const whole = Number(m[1]);
  if (whole > max) return { ok: false, message: `must be between 0 and ${max} (got ${text})` };
  const minor = whole * MINOR_PER_MAJOR + Number(fraction.padEnd(MONEY_SCALE, '0'));
  if (minor > max * MINOR_PER_MAJOR) return { ok: false, message: `must be between 0 and ${max} (got ${text})` };
  return { ok: true, minor };
}

/** Minor units of an amount in major units that is exact to the cent (as every parsed price and stored sum is). */
export function toMinor(major: number): number {
  if (!Number.isFinite(major)) return 0;
  return Math.round(major * MINOR_PER_MAJOR) + 0;
}

/** Major units of an integer amount of minor units: the double nearest the exact decimal (prints as it). */
export function fromMinor(minor: number): number {
  return minor / MINOR_PER_MAJOR + 0;
}

/** price × quantity, exact, major units. */
export function lineTotal(price: number, quantity: number): number {
  return fromMinor(toMinor(price) * quantity);
}

/** a + b in major units, computed in minor units; saturates at MAX_MONEY_TOTAL. */
export function addMoney(a: number, b: number): number {
  return fromMinor(Math.min(toMinor(a) + toMinor(b), MAX_MONEY_TOTAL_MINOR));
}

/** The exact sum of amounts in major units (saturating at MAX_MONEY_TOTAL). */
export function sumMoney(amounts: Iterable<number>): number {
  let minor = 0;
  for (const a of amounts) minor = Math.min(minor + toMinor(a), MAX_MONEY_TOTAL_MINOR);
  return fromMinor(minor);
}

/** "12.34": an amount of minor units as a fixed-scale decimal string, exact at any size. */
export function formatMinor(minor: number): string {
  const sign = minor < 0 ? '-' : '';
  const abs = Math.abs(Math.trunc(minor));
  const whole = Math.floor(abs / MINOR_PER_MAJOR);
  const frac = String(abs % MINOR_PER_MAJOR).padStart(MONEY_SCALE, '0');
  return `${sign}${whole}.${frac}`;
}
