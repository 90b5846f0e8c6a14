import { z } from 'zod';
import { ROUTES, type RouteDoc } from './routes.js';
import { answers, WIRE_OBJECTS } from './wire.js';

type JsonSchema = Record<string, unknown>;

/** What each error status means, for the document's shared responses. */
const ERROR_MEANING: Record<number, string> = {
  400: 'malformed JSON or invalid fields (`details` names each bad field path)',
  401: 'missing, malformed, expired, wrongly signed or revoked token',
  403: 'authenticated but not allowed',
  404: 'unknown, or not visible to the caller',
  409: 'the current status forbids it, or the name is taken',
  413: 'body over 1 MiB',
  422: 'well-formed but impossible (no agent for the capability, unknown target, …)',
  429: 'rate or stream limit; see Retry-After',
  503: 'shutting down, or too many waiting rpc calls; see Retry-After',
};

/** zod's JSON Schema output, made fit for components: no `$schema`/`$id`, references into components. */
function convert(schemas: Record<string, z.ZodType>, io: 'input' | 'output'): Record<string, JsonSchema> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(schemas)) registry.add(schema, { id });
  const { schemas: out } = z.toJSONSchema(registry, {
    target: 'draft-2020-12',
    io,
    unrepresentable: 'any',
    uri: (id) => `#/components/schemas/${id}`,
    // Answers may grow fields; a generated client must not refuse them.
    override: (ctx) => {
      if (io === 'output' && ctx.jsonSchema.additionalProperties === false) delete ctx.jsonSchema.additionalProperties;
    },
  });
  for (const schema of Object.values(out)) {
    delete schema.$schema;
    delete schema.$id;
  }
  return out as Record<string, JsonSchema>;
}

/** `taskPage` → `TaskPageAnswer`: answers apart from the objects they hold (`Task`). */
const answerName = (key: string) => `${key[0]!.toUpperCase()}${key.slice(1)}Answer`;

/** `/api/tasks/:id` → `/api/tasks/{id}`. */
export const openApiPath = (path: string) => path.replace(/:(\w+)/g, '{$1}');

const requestName = (route: RouteDoc, part: 'Body' | 'Query') => {
  const words = `${route.method} ${route.path}`.replace(/[:/]/g, ' ').split(/[^A-Za-z0-9]+/).filter(Boolean);
  return words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('') + part;
};

function parametersOf(route: RouteDoc, query: JsonSchema | undefined) {
  const inPath = [...route.path.matchAll(/:(\w+)/g)].map(([, name]) => ({
    name: name!,
    in: 'path',
    required: true,
    schema: { type: 'string' },
  }));
  const props = (query?.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((query?.required ?? []) as string[]);
  const inQuery = Object.entries(props).map(([name, schema]) => ({
    name,
    in: 'query',
    required: required.has(name),
    ...(typeof schema.description === 'string' && { description: schema.description }),
    schema,
  }));
  const lastEventId =
    route.path === '/api/events'
      ? [{ name: 'Last-Event-ID', in: 'header', required: false, schema: { type: 'string', pattern: '^\\d{1,15}$' } }]
      : [];
  return [...inPath, ...inQuery, ...lastEventId];
}

function responsesOf(route: RouteDoc) {
  const { ok } = route;
  const okContent = ok.answer
    ? { [ok.contentType ?? 'application/json']: { schema: { $ref: `#/components/schemas/${answerName(ok.answer)}` } } }
    : ok.contentType
      ? { [ok.contentType]: { schema: { type: 'string' } } }
      : undefined;
  const responses: Record<string, unknown> = {
    [ok.status]: { description: ok.description ?? 'OK', ...(okContent && { content: okContent }) },
  };
  for (const also of route.alsoOk ?? []) {
    responses[also.status] = {
      description: also.description,
      content: { 'application/json': { schema: { $ref: `#/components/schemas/${answerName(also.answer)}` } } },
    };
  }
  const authenticated = route.caller !== 'anyone';
  const errors = new Set([
    ...(authenticated ? [401, 503] : []),
    ...(route.body || route.query ? [400] : []),
    ...(route.body ? [413] : []),
    ...(route.errors ?? []),
  ]);
  for (const status of [...errors].sort()) responses[status] = { $ref: `#/components/responses/E${status}` };
  return responses;
}

export interface OpenApiOptions {
  /** The package version shown as `info.version`. */
  version: string;
  /** Base URL of the hub as clients reach it (`TASKHUB_PUBLIC_URL`, or the request's own). */
  serverUrl: string;
}

/** Builds the OpenAPI 3.1 document of every route in `ROUTES`. Pure: the same input gives the same document. */
export function buildOpenApi(options: OpenApiOptions): Record<string, unknown> {
  const bodies: Record<string, z.ZodType> = {};
  const queries: Record<string, z.ZodType> = {};
  for (const route of ROUTES) {
    if (route.body) bodies[requestName(route, 'Body')] = route.body;
    if (route.query) queries[requestName(route, 'Query')] = route.query;
  }
  const requests = convert({ ...bodies, ...queries }, 'input');
  const named = Object.fromEntries(Object.entries(answers).map(([key, schema]) => [answerName(key), schema]));
  const schemas = { ...convert({ ...WIRE_OBJECTS, ...named }, 'output'), ...pick(requests, Object.keys(bodies)) };
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of ROUTES) (paths[openApiPath(route.path)] ??= {})[route.method] = operationOf(route, requests);
  return {
    openapi: '3.1.0',
    info: {
      title: 'taskhub',
      version: options.version,
      description: 'A realtime task hub for AI agents: tasks, rpc, messages, Server-Sent Events, email fallback.',
      license: { name: 'MIT', identifier: 'MIT' },
    },
    servers: [{ url: options.serverUrl }],
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      schemas,
      responses: Object.fromEntries(
        Object.entries(ERROR_MEANING).map(([status, description]) => [
          `E${status}`,
          { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
        ]),
      ),
    },
  };
}

function operationOf(route: RouteDoc, requests: Record<string, JsonSchema>) {
  const body = route.body ? requestName(route, 'Body') : undefined;
  // An absent body counts as `{}`, so a body is required only when `{}` would not do.
  const bodyRequired = body !== undefined && ((requests[body]?.required as string[] | undefined) ?? []).length > 0;
  return {
    operationId: requestName(route, 'Body').replace(/Body$/, ''),
    summary: route.summary,
    description: `Caller: ${route.caller}.`,
    tags: [route.tag],
    ...(route.caller === 'anyone' && { security: [] }),
    parameters: parametersOf(route, route.query ? requests[requestName(route, 'Query')] : undefined),
    ...(body && {
      requestBody: {
        required: bodyRequired,
        content: { 'application/json': { schema: { $ref: `#/components/schemas/${body}` } } },
      },
    }),
    responses: responsesOf(route),
  };
}

function pick<T>(from: Record<string, T>, keys: string[]): Record<string, T> {
  return Object.fromEntries(keys.map((k) => [k, from[k]!]));
}
