/**
 * The shapes the dashboard reads from the hub's API (docs/http.md). Kept here rather than imported from
 * the server so that the browser code depends on nothing but the HTTP contract.
 */
export const TASK_STATUSES = ['assigned', 'claimed', 'in_progress', 'completed', 'failed', 'cancelled', 'expired'];
export const OPEN_STATUSES = ['assigned', 'claimed', 'in_progress'];
export const PRIORITIES = ['low', 'normal', 'high', 'urgent'];
export function isOpen(status) {
    return OPEN_STATUSES.includes(status);
}
