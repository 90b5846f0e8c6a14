/**
 * A list of constants from the domain (statuses) as SQL literals, for `IN (…)`: inlined rather than bound so that
 * the planner matches the partial indexes whose predicate lists the same statuses. Only for the domain's own
 * constant names, never for user input.
 */
export function sqlList(values: readonly string[]): string {
  for (const value of values) {
    if (!/^[a-z_]+$/.test(value)) throw new Error(`not a constant name: ${value}`);
  }
  return values.map((v) => `'${v}'`).join(', ');
}
