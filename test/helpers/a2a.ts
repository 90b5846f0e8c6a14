import { ClientFactory, ClientFactoryOptions, DefaultAgentCardResolver, JsonRpcTransportFactory, type Client } from '@a2a-js/sdk/client';
import { Role } from '@a2a-js/sdk';

/** A fetch that sends taskhub's bearer token (the SDK's own knob for auth). */
export const bearerFetch = (token: string): typeof fetch => (input, init = {}) => {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${token}`);
  return fetch(input, { ...init, headers });
};

/** The official A2A client (ClientFactory over the JSON-RPC transport) for the card at `baseUrl`. */
export async function a2aClient(baseUrl: string, token: string): Promise<Client> {
  const fetchImpl = bearerFetch(token);
  const factory = new ClientFactory(ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
    transports: [new JsonRpcTransportFactory({ fetchImpl })],
    cardResolver: new DefaultAgentCardResolver({ fetchImpl }),
    preferredTransports: ['JSONRPC'],
  }));
  return factory.createFromUrl(baseUrl);
}

/** A user message in the SDK's types: text, an optional data part and metadata. */
export function userMessage(messageId: string, text: string, extra: { data?: unknown; metadata?: Record<string, unknown> } = {}) {
  const parts: any[] = [{ content: { $case: 'text', value: text }, metadata: undefined, filename: '', mediaType: '' }];
  if (extra.data !== undefined) parts.push({ content: { $case: 'data', value: extra.data }, metadata: undefined, filename: '', mediaType: '' });
  return {
    messageId, contextId: '', taskId: '', role: Role.ROLE_USER, parts, metadata: extra.metadata, extensions: [], referenceTaskIds: [],
  };
}

export const sendParams = (message: ReturnType<typeof userMessage>, returnImmediately = false) => ({
  tenant: '',
  message,
  configuration: { acceptedOutputModes: [], taskPushNotificationConfig: undefined, returnImmediately },
  metadata: undefined,
});
