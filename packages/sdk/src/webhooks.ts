/**
 * `@taskhub/sdk/webhooks`: what a webhook receiver needs and nothing else of the SDK (no event stream, no A2A),
 * so a serverless function that only checks deliveries starts fast. The same names are in `@taskhub/sdk`.
 */
export {
  verifyWebhook,
  WEBHOOK_TOLERANCE_SECONDS,
  WebhookVerificationError,
  type VerifyWebhookOptions,
  type WebhookFailure,
  type WebhookHeaders,
} from './verify-webhook.js';
