import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { TaskState, type Part } from '@a2a-js/sdk';
import { AgentEvent, DefaultRequestHandler, InMemoryTaskStore, type AgentExecutor } from '@a2a-js/sdk/server';
import { UserBuilder, agentCardHandler, jsonRpcHandler } from '@a2a-js/sdk/server/express';

const part = (content: Part['content']): Part => ({ content, metadata: undefined, filename: '', mediaType: '' });

/**
 * A small A2A agent built on the SDK's server side: it answers each message with a completed task whose artifact
 * holds the text upper-cased and the data part echoed; the text "fail" ends the task failed. `received` keeps
 * every message id it got.
 */
export async function startRemoteAgent() {
  const received: string[] = [];
  const executor: AgentExecutor = {
    async execute(ctx, bus) {
      const message = ctx.userMessage;
      received.push(message.messageId);
      const text = message.parts.map((p) => (p.content?.$case === 'text' ? p.content.value : '')).join('');
      const data = message.parts.find((p) => p.content?.$case === 'data')?.content?.value;
      const failed = text === 'fail';
      bus.publish(AgentEvent.task({
        id: ctx.taskId,
        contextId: ctx.contextId,
        status: {
          state: failed ? TaskState.TASK_STATE_FAILED : TaskState.TASK_STATE_COMPLETED,
          message: failed ? { messageId: `${ctx.taskId}-why`, contextId: ctx.contextId, taskId: ctx.taskId, role: 2, parts: [part({ $case: 'text', value: 'told to fail' })], metadata: undefined, extensions: [], referenceTaskIds: [] } : undefined,
          timestamp: new Date().toISOString(),
        },
        artifacts: failed ? [] : [{ artifactId: 'answer', name: 'answer', description: '', parts: [part({ $case: 'data', value: { upper: text.toUpperCase(), data: data ?? null } })], metadata: undefined, extensions: [] }],
        history: [],
        metadata: undefined,
      }));
      bus.finished();
    },
    async cancelTask() {},
  };
  const app = express();
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const card = {
    name: 'upper', description: 'upper-cases text', version: '1.0.0',
    supportedInterfaces: [{ url: `${url}/rpc`, protocolBinding: 'JSONRPC', protocolVersion: '1.0', tenant: '' }],
    capabilities: { streaming: false, pushNotifications: false, extensions: [], extendedAgentCard: false },
    securitySchemes: {}, securityRequirements: [], defaultInputModes: ['text/plain'], defaultOutputModes: ['application/json'],
    skills: [], signatures: [], provider: undefined, documentationUrl: undefined, iconUrl: undefined,
  };
  const handler = new DefaultRequestHandler(card as any, new InMemoryTaskStore(), executor);
  app.use('/.well-known/agent-card.json', agentCardHandler({ agentCardProvider: async () => card as any }));
  app.use('/rpc', jsonRpcHandler({ requestHandler: handler, userBuilder: UserBuilder.noAuthentication }));
  return {
    url,
    received,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
