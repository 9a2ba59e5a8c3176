// Value names shared by the lowering and the runtimes.
export const graphNameFor = (i: number): string => `in${i}`;
export const outputNameFor = (i: number): string => `out${i}`;
