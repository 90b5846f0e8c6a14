import { isUtf8 } from 'node:buffer';
import { HubError } from '../domain/errors.js';
import { findJsonLimitBreach, MAX_JSON_DEPTH } from '../domain/json-limits.js';

/** JSON-RPC and A2A error codes taskhub answers with. */
export const A2A_CODES = {
  parseError: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  invalidParams: -32602,
  internal: -32603,
  taskNotFound: -32001,
  taskNotCancelable: -32002,
  pushNotSupported: -32003,
  unsupportedOperation: -32004,
  extendedCardNotConfigured: -32007,
  versionNotSupported: -32009,
} as const;

/** An error that goes back to the caller as a JSON-RPC `error` object. */
export class RpcError extends Error {
  constructor(readonly code: number, message: string, readonly data?: unknown) {
    super(message);
    this.name = 'RpcError';
  }
}

export type RpcId = string | number | null;
export interface RpcRequest {
  id: RpcId;
  method: string;
  params: Record<string, unknown>;
}

/**
 * Reads one JSON-RPC 2.0 request from a raw body; batches are not part of A2A and are refused. The body is held to
 * `/api`'s limits before it is parsed: UTF-8 (else -32700), at most `MAX_JSON_DEPTH` levels deep and no number that
 * overflows a double (else -32602).
 */
export function parseRequest(raw: Uint8Array): RpcRequest {
  if (!isUtf8(raw)) throw new RpcError(A2A_CODES.parseError, 'The body is not valid UTF-8.');
  const breach = findJsonLimitBreach(raw);
  if (breach?.kind === 'depth') throw new RpcError(A2A_CODES.invalidParams, `The body is nested more than ${MAX_JSON_DEPTH} levels deep.`);
  if (breach?.kind === 'number') throw new RpcError(A2A_CODES.invalidParams, `The number ${breach.literal.slice(0, 40)} in the body is too large to represent.`);
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8'));
  } catch {
    throw new RpcError(A2A_CODES.parseError, 'The body is not valid JSON.');
  }
  const req = body as Record<string, unknown> | null;
  const idOk = req !== null && typeof req === 'object' && (typeof req.id === 'string' || typeof req.id === 'number' || req.id === null || req.id === undefined);
  if (!idOk || Array.isArray(body) || req.jsonrpc !== '2.0' || typeof req.method !== 'string') {
    throw new RpcError(A2A_CODES.invalidRequest, 'Send one JSON-RPC 2.0 request object: {"jsonrpc":"2.0","id":…,"method":…,"params":{…}}.');
  }
  const params = req.params ?? {};
  if (typeof params !== 'object' || Array.isArray(params)) {
    throw new RpcError(A2A_CODES.invalidParams, '"params" must be an object.');
  }
  return { id: (req.id ?? null) as RpcId, method: req.method, params: params as Record<string, unknown> };
}

/** A hub error as the A2A error it is; `onTask` says how a refused change reads (cancel: not cancelable). */
export function toRpcError(error: unknown, onTask: 'read' | 'cancel' = 'read'): RpcError {
  if (error instanceof RpcError) return error;
  if (!(error instanceof HubError)) return new RpcError(A2A_CODES.internal, 'Internal error.');
  const data = { code: error.code, ...(error.details && { details: error.details }) };
  switch (error.code) {
    case 'not_found':
      return new RpcError(A2A_CODES.taskNotFound, error.message, data);
    case 'forbidden':
    case 'invalid_transition':
      return onTask === 'cancel'
        ? new RpcError(A2A_CODES.taskNotCancelable, error.message, data)
        : new RpcError(A2A_CODES.taskNotFound, error.message, data);
    case 'validation_failed':
    case 'unknown_agent':
    case 'no_agent_for_capability':
    case 'capability_not_offered':
      return new RpcError(A2A_CODES.invalidParams, error.message, data);
    default:
      return new RpcError(A2A_CODES.internal, error.message, data);
  }
}

export const resultBody = (id: RpcId, result: unknown) => ({ jsonrpc: '2.0' as const, id, result });
export const errorBody = (id: RpcId, error: RpcError) => ({
  jsonrpc: '2.0' as const,
  id,
  error: { code: error.code, message: error.message, ...(error.data !== undefined && { data: error.data }) },
});
