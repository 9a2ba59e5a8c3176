// Graph walks over traced tensors.
import type { Tensor } from './tensor.ts';

/** Every tensor reachable from `outputs`, inputs before their users; `inputsOf` may leave some edges out. */
export function topoSort(outputs: readonly Tensor[], inputsOf: (t: Tensor) => readonly Tensor[] = (t) => t.inputs): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<number>();
  // Iterative post-order DFS: deep graphs (long training steps) would overflow a recursive walk.
  const stack: [Tensor, number][] = outputs.map((t) => [t, 0]);
  stack.reverse();
  while (stack.length) {
    const top = stack[stack.length - 1]!;
    const [t, next] = top;
    if (next === 0 && seen.has(t.id)) {
      stack.pop();
      continue;
    }
    const inputs = inputsOf(t);
    if (next < inputs.length) {
      top[1]++;
      const child = inputs[next]!;
      if (!seen.has(child.id)) stack.push([child, 0]);
      continue;
    }
    stack.pop();
    if (!seen.has(t.id)) {
      seen.add(t.id);
      order.push(t);
    }
  }
  return order;
}
