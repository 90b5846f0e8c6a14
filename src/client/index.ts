/**
 * `taskhub/client` (and `taskhub`): the SDK, which is its own package, `@taskhub/sdk`, re-exported here so that
 * code importing it from the server package keeps working.
 */
export * from '@taskhub/sdk';
