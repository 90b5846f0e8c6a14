/** Agent names: lower-case, start with a letter or digit, at most 64 characters. */
export const AGENT_NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** Capabilities follow the agent-name pattern so that they read the same in URLs, mail headers and logs. */
export const CAPABILITY_PATTERN = AGENT_NAME_PATTERN;

export function isAgentName(value: unknown): value is string {
  return typeof value === 'string' && AGENT_NAME_PATTERN.test(value);
}
