/** An error answer of the hub (`{"error": {code, message}}`), or a network failure (status 0). */
export class ApiError extends Error {
    status;
    code;
    details;
    constructor(status, code, message, details = []) {
        super(message);
        this.status = status;
        this.code = code;
        this.details = details;
    }
    /** The message with each bad field, for people. */
    describe() {
        const fields = this.details.map((d) => `${d.path}: ${d.message}`).join('; ');
        return fields ? `${this.message} (${fields})` : this.message;
    }
    /** The route does not exist on this hub (a part not installed): the view says "not available". */
    get routeMissing() {
        return this.status === 404 && /^There is no route/.test(this.message);
    }
}
/** JSON calls to the hub with the admin token in the Authorization header. */
export function createApi({ token, onUnauthorized }) {
    const request = async (method, path, body, signal) => {
        const headers = { accept: 'application/json' };
        const current = token();
        if (current)
            headers.authorization = `Bearer ${current}`;
        if (body !== undefined)
            headers['content-type'] = 'application/json';
        let res;
        try {
            res = await fetch(path, { method, headers, body: body === undefined ? null : JSON.stringify(body), signal: signal ?? null });
        }
        catch (error) {
            if (signal?.aborted)
                throw error;
            throw new ApiError(0, 'network_error', 'The hub cannot be reached.');
        }
        const text = await res.text();
        const parsed = text ? safeJson(text) : undefined;
        if (res.ok)
            return parsed;
        const err = parsed?.error;
        if (res.status === 401)
            onUnauthorized();
        throw new ApiError(res.status, err?.code ?? 'http_error', err?.message ?? `The hub answered ${res.status}.`, err?.details);
    };
    return {
        get: (path, signal) => request('GET', path, undefined, signal),
        post: (path, body = {}, signal) => request('POST', path, body, signal),
    };
}
function safeJson(text) {
    try {
        return JSON.parse(text);
    }
    catch {
        return undefined;
    }
}
