import fs from 'node:fs';

/**
 * The package's version, as A2A cards, the OpenAPI document, the CLI and the webhook User-Agent name it.
 * package.json is one level up from both src/ and dist/.
 */
export const TASKHUB_VERSION = (JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
