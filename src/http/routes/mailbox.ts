import { Router } from 'express';
import { z } from 'zod';
import { HubError, notFound } from '../../domain/errors.js';
import type { DevMailbox } from '../../transport/email/dev-mailbox.js';
import { actorOf, requireAdmin } from '../auth.js';
import { parse } from '../validate.js';

/** Mails `GET /api/mailbox` returns when no `limit` is given. */
export const MAILBOX_LIST_DEFAULT = 50;
/** Most mails one `GET /api/mailbox` page may ask for. */
export const MAILBOX_LIST_MAX = 200;

/** The query of `GET /api/mailbox`. */
export const mailboxQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(MAILBOX_LIST_MAX).default(MAILBOX_LIST_DEFAULT),
  cursor: z.string().min(1).max(100).optional(),
  to: z.string().min(1).max(254).optional(),
});

const encodeCursor = (id: number) => Buffer.from(String(id)).toString('base64url');
function decodeCursor(cursor: string): number {
  const id = Number(Buffer.from(cursor, 'base64url').toString());
  if (!Number.isSafeInteger(id) || id < 1) {
    throw new HubError('validation_failed', 'The cursor is not one this hub issued.', {
      details: [{ path: 'query.cursor', message: 'unknown cursor' }],
    });
  }
  return id;
}

/**
 * `GET /api/mailbox` (admin): the dev mailbox of the embedded SMTP listener in pages of previews, newest last; the
 * first page holds the newest mails and `nextCursor` leads to older ones. `GET /api/mailbox/:id`: one whole mail.
 */
export function mailboxRoutes(mailbox: Pick<DevMailbox, 'list' | 'get'>): Router {
  const router = Router();
  router.get('/mailbox', async (req, res) => {
    requireAdmin(actorOf(res));
    const { limit, cursor, to } = parse(mailboxQuery, req.query, 'query');
    const { mails, olderId } = await mailbox.list({
      limit,
      ...(cursor !== undefined && { beforeId: decodeCursor(cursor) }),
      ...(to !== undefined && { to }),
    });
    res.json({ mails, nextCursor: olderId === undefined ? null : encodeCursor(olderId) });
  });
  router.get('/mailbox/:id', async (req, res) => {
    requireAdmin(actorOf(res));
    const id = /^\d{1,15}$/.test(req.params.id) ? Number(req.params.id) : undefined;
    const mail = id === undefined ? undefined : await mailbox.get(id);
    if (!mail) throw notFound(`Mail ${req.params.id}`);
    res.json({ mail });
  });
  return router;
}
