/**
 * The SQL list of string constants, `'a', 'b'`: status lists in statements are built from the domain's status
 * sets (never typed out), so that adding a status changes every query that must know it. Only for constants of
 * the code, never for input.
 */
export function sqlList(values: readonly string[]): string {
  return values.map((v) => `'${v.replaceAll("'", "''")}'`).join(', ');
}
