import { ApiError, type Api } from '../api.js';
import { fill, h } from '../dom.js';
import { clip, timeEl } from '../format.js';
import type { Mail, Stats } from '../types.js';

/** Newest dev-mailbox mails shown. */
export const MAILS_SHOWN = 50;

interface Deps {
  api: Api;
  outbox: HTMLElement;
  mailbox: HTMLElement;
}

/** The outbox figures (from `/api/stats`) and the dev mailbox (`GET /api/mailbox`), when the hub has them. */
export function createMailboxView({ api, outbox, mailbox }: Deps) {
  let available = true;
  let sentBefore: number | undefined;
  const open = new Set<number>();

  const mailItem = (mail: Mail) => {
    const to = mail.to;
    const expanded = open.has(mail.id);
    const li: HTMLLIElement = h(
      'li',
      {
        class: expanded ? 'open' : '',
        onClick: () => {
          if (open.has(mail.id)) open.delete(mail.id);
          else open.add(mail.id);
          li.replaceWith(mailItem(mail));
        },
      },
      h('div', { class: 'mail-head' }, h('span', { class: 'mono' }, to), timeEl(mail.receivedAt)),
      h('div', { class: 'subject' }, clip(mail.subject || '(no subject)', 100)),
      expanded ? h('pre', {}, mail.text ?? '') : null,
    );
    return li;
  };

  const view = {
    renderOutbox(stats: Stats) {
      const o = stats.outbox;
      if (!o) return fill(outbox, h('p', { class: 'muted' }, 'The email outbox is not available on this hub.'));
      // Mail just sent may have landed in the dev mailbox: look now rather than at the next poll.
      if (sentBefore !== undefined && o.sent !== sentBefore) void view.load();
      sentBefore = o.sent;
      const figure = (label: string, n: number, cls: string) =>
        h('div', { class: `figure ${cls}`, data: { figure: label } }, h('strong', {}, n.toLocaleString('en')), h('span', {}, label));
      fill(outbox, h('div', { class: 'figures' }, figure('queued', o.queued, 'f-queued'), figure('sent', o.sent, 'f-sent'), figure('failed', o.failed, o.failed ? 'f-failed' : '')));
    },

    async load() {
      if (!available) return;
      try {
        const { mails } = await api.get<{ mails: Mail[] }>('/api/mailbox');
        const newest = mails.slice(-MAILS_SHOWN).reverse();
        if (newest.length === 0) return fill(mailbox, h('p', { class: 'muted empty' }, 'The dev mailbox is empty.'));
        fill(mailbox, h('ul', { class: 'mails' }, ...newest.map(mailItem)), mails.length > MAILS_SHOWN ? h('p', { class: 'muted small' }, `${mails.length - MAILS_SHOWN} older mails not shown`) : null);
      } catch (error) {
        // A hub without the email part has no mailbox route: say so once and stop asking.
        if (error instanceof ApiError && error.routeMissing) {
          available = false;
          fill(mailbox, h('p', { class: 'muted empty' }, 'The dev mailbox is not available on this hub.'));
        } else {
          fill(mailbox, h('p', { class: 'muted empty' }, `The mailbox could not be loaded: ${(error as Error).message}`));
        }
      }
    },
  };
  return view;
}
