import { Router } from 'express';
import { TASKHUB_VERSION as VERSION } from '../../version.js';
import { buildOpenApi } from './document.js';

/**
 * `GET /openapi.json` (no token). The document is built once per server URL: `publicUrl` when set, else the
 * scheme and host the request came with (through a trusted proxy, the ones it forwarded).
 */
export function openApiRoute(publicUrl: string | undefined): Router {
  const router = Router();
  const built = new Map<string, string>();
  router.get('/openapi.json', (req, res) => {
    const serverUrl = publicUrl ?? `${req.protocol}://${req.host}`;
    let json = built.get(serverUrl);
    if (json === undefined) {
      json = JSON.stringify(buildOpenApi({ version: VERSION, serverUrl }));
      // Host headers are the client's to choose: remember a few, not every one ever sent.
      if (built.size < 16) built.set(serverUrl, json);
    }
    res.type('application/json').send(json);
  });
  return router;
}
