import { murmur3 } from '../domain/hash';
/**
 * HyperLogLog distinct counter (Flajolet et al. 2007, with the linear-counting correction for small
 * cardinalities). Precision p gives m = 2^p one-byte registers and a standard error of 1.04/√m:
 * the default p = 11 is 2 KiB per counter and ±2.3%. Unions are exact (register-wise max), so partial
 * counters of shards and windows merge without double counting.
 */
export const DEFAULT_HLL_PRECISION = 11;

export class HyperLogLog {
  readonly registers: Uint8Array;
  readonly precision: number;

  constructor(precision = DEFAULT_HLL_PRECISION, registers?: Uint8Array) {
    if (precision < 4 || precision > 16) throw new Error(`HyperLogLog precision must be 4..16 (got ${precision})`);
    this.precision = precision;
    const m = 1 << precision;
    if (registers && registers.length !== m) throw new Error(`expected ${m} registers, got ${registers.length}`);
    this.registers = registers ? Uint8Array.from(registers) : new Uint8Array(m);
  }

  add(value: string): this {
    const h1 = murmur3(value, 0x9747b28c);
    const h2 = murmur3(value, 0x5bd1e995);
    const index = h1 >>> (32 - this.precision);
    // Rank from 32 fresh bits: position of the first 1-bit, 1-based (33 when all are zero).
    const rank = h2 === 0 ? 33 : Math.clz32(h2) + 1;
    if (rank > this.registers[index]!) this.registers[index] = rank;
    return this;
  }

  merge(other: HyperLogLog): this {
    if (other.precision !== this.precision) throw new Error('cannot merge HyperLogLogs of different precision');
    for (let i = 0; i < this.registers.length; i++) if (other.registers[i]! > this.registers[i]!) this.registers[i] = other.registers[i]!;
    return this;
  }

  count(): number {
    const m = this.registers.length;
    let sum = 0;
    let zeros = 0;
    for (const r of this.registers) {
      sum += 2 ** -r;
      if (r === 0) zeros++;
    }
    const alpha = m === 16 ? 0.673 : m === 32 ? 0.697 : m === 64 ? 0.709 : 0.7213 / (1 + 1.079 / m);
    const estimate = (alpha * m * m) / sum;
    if (estimate <= 2.5 * m && zeros > 0) return Math.round(m * Math.log(m / zeros));
    return Math.round(estimate);
  }

  /** The relative standard error of this precision. */
  get standardError(): number {
    return 1.04 / Math.sqrt(this.registers.length);
  }

  static union(counters: readonly HyperLogLog[], precision = DEFAULT_HLL_PRECISION): HyperLogLog {
    const out = new HyperLogLog(counters[0]?.precision ?? precision);
    for (const c of counters) out.merge(c);
    return out;
  }
}
