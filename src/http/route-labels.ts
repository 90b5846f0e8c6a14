import type express from 'express';

/** The label of a request no route pattern matches: a bounded stand-in for its raw path. */
export const UNMATCHED = 'unmatched';
/** The label of a dashboard file served from `public/`. */
export const STATIC = 'static';

interface KnownRoute {
  method: string;
  pattern: string;
  test: RegExp;
}

interface LayerLike {
  route?: { path: unknown; methods: Record<string, boolean> };
  handle?: { stack?: LayerLike[] };
  rawPath?: unknown;
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** `/api/tasks/:id` → a RegExp that matches `/api/tasks/<anything but a slash>`. */
const toRegExp = (pattern: string) =>
  new RegExp(`^${pattern.split(/(:[A-Za-z0-9_]+)/).map((part) => (part.startsWith(':') ? '[^/]+' : escape(part))).join('')}/?$`);

/** Every route of the app with its full pattern, in the order the router tries them (mounted routers included). */
function listRoutes(stack: LayerLike[], prefix = ''): KnownRoute[] {
  const routes: KnownRoute[] = [];
  for (const layer of stack) {
    if (layer.route && typeof layer.route.path === 'string') {
      const pattern = `${prefix}${layer.route.path}`;
      for (const method of Object.keys(layer.route.methods)) routes.push({ method: method.toUpperCase(), pattern, test: toRegExp(pattern) });
    } else if (layer.handle?.stack) {
      const mount = typeof layer.rawPath === 'string' && layer.rawPath !== '/' ? layer.rawPath : '';
      routes.push(...listRoutes(layer.handle.stack, `${prefix}${mount}`));
    }
  }
  return routes;
}

/**
 * Names the route of each answered request for metric labels: the pattern of the route that answered
 * (`/api/tasks/:id`, never the raw path, so the label set stays bounded). A request answered before any route
 * ran (a 401 from the auth middleware, a 429, a 503 while stopping) gets the pattern it would have reached; a
 * dashboard file gets `static`; anything else `unmatched`.
 */
export function createRouteLabeler(app: express.Express) {
  let routes: KnownRoute[] | undefined;
  const compiled = new Map<string, RegExp>();
  const matches = (pattern: string, path: string) => {
    let test = compiled.get(pattern);
    if (!test) compiled.set(pattern, (test = toRegExp(pattern)));
    return test.test(path);
  };
  return (req: express.Request, res: express.Response): string => {
    const path = req.originalUrl.split('?')[0]!;
    if (req.route?.path && typeof req.route.path === 'string') {
      const own = `${req.baseUrl}${req.route.path}`;
      // An error thrown in a mounted router reaches the app's error handler with `req.baseUrl` reset to '': then
      // `own` lacks the mount point (`/tasks/:id`), and the table below has the whole pattern.
      if (req.baseUrl !== '' || matches(own, path)) return own;
    }
    if (res.locals.servedStatic === true) return STATIC;
    // Built on first use: by then every router is mounted.
    routes ??= listRoutes((app as unknown as { router: { stack: LayerLike[] } }).router.stack);
    return routes.find((r) => (r.method === req.method || (req.method === 'HEAD' && r.method === 'GET')) && r.test.test(path))?.pattern ?? UNMATCHED;
  };
}
