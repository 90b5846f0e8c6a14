import { Router } from 'express';
import { z } from 'zod';
import type { DevMailbox } from '../../transport/email/dev-mailbox.js';
import { actorOf, requireAdmin } from '../auth.js';
import { parse } from '../validate.js';

/** Mails `GET /api/mailbox` returns when no `limit` is given. */
export const MAILBOX_LIST_DEFAULT = 100;

/** The query of `GET /api/mailbox`, whose `limit` is capped at what the mailbox keeps. */
export const mailboxQuery = (cap: number) =>
  z.strictObject({
    limit: z.coerce.number().int().min(1).max(cap).default(Math.min(MAILBOX_LIST_DEFAULT, cap)),
    to: z.string().min(1).max(254).optional(),
  });

/** `GET /api/mailbox` (admin): the dev mailbox of the embedded SMTP listener, newest last. */
export function mailboxRoutes(mailbox: Pick<DevMailbox, 'list' | 'cap'>): Router {
  const router = Router();
  const query = mailboxQuery(mailbox.cap);
  router.get('/mailbox', (req, res) => {
    requireAdmin(actorOf(res));
    const { limit, to } = parse(query, req.query, 'query');
    res.json({ mails: mailbox.list(limit, to) });
  });
  return router;
}
