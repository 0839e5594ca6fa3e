/** The numbers the state machine's Gate (Choice) state compares, and the decision it must reach. */
export interface GateInput {
  /** e.g. `ndcg@10`. */
  metric: string;
  candidate: number;
  popularity: number;
  /** Production's value on the same split, or null when nothing is deployed yet. */
  production: number | null;
  /** Relative tolerance: 0.02 lets the candidate be 2 % below production. */
  tolerance: number;
}

export interface GateDecision extends GateInput {
  /** Lowest candidate value that still deploys against production (0 when nothing is deployed). */
  productionFloor: number;
  deploy: boolean;
  reason: string;
}

const f = (x: number) => x.toFixed(4);

/**
 * Deploy only when the candidate beats popularity and is not worse than production by more than the
 * tolerance. The ASL Choice implements the same rule on `candidate`, `popularity` and `productionFloor`;
 * a test runs both on the same cases.
 */
export function gateDecision(input: GateInput): GateDecision {
  const productionFloor = input.production === null ? 0 : input.production * (1 - input.tolerance);
  if (!(input.candidate > input.popularity)) {
    return { ...input, productionFloor, deploy: false, reason: `candidate ${input.metric} ${f(input.candidate)} does not beat popularity ${f(input.popularity)}` };
  }
  if (input.candidate < productionFloor) {
    return {
      ...input,
      productionFloor,
      deploy: false,
      reason: `candidate ${input.metric} ${f(input.candidate)} is more than ${(input.tolerance * 100).toFixed(1)}% below production ${f(input.production ?? 0)}`,
    };
  }
  return {
    ...input,
    productionFloor,
    deploy: true,
    reason:
      input.production === null
        ? `candidate ${input.metric} ${f(input.candidate)} beats popularity ${f(input.popularity)}; nothing deployed yet`
        : `candidate ${input.metric} ${f(input.candidate)} beats popularity ${f(input.popularity)} and is within ${(input.tolerance * 100).toFixed(1)}% of production ${f(input.production)}`,
  };
}
