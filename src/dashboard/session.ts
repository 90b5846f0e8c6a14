import { ApiError, createApi } from './api.js';

/** The sessionStorage key of the admin token: it lives as long as the tab, and never in localStorage. */
export const TOKEN_KEY = 'taskhub.adminToken';

export function storedToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function storeToken(token: string | null): void {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // Storage refused (private mode): the token then lasts as long as the page.
  }
}

/** Checks a token against an admin-only route; resolves to a message saying what is wrong, or `null`. */
export async function checkToken(token: string): Promise<string | null> {
  const api = createApi({ token: () => token, onUnauthorized: () => {} });
  try {
    await api.get('/api/stats');
    return null;
  } catch (error) {
    if (!(error instanceof ApiError)) return (error as Error).message;
    if (error.status === 401) return 'The hub did not accept this token.';
    if (error.status === 403) return 'This is an agent token; the dashboard needs an admin token.';
    return error.message;
  }
}

/**
 * The sign-in form: shown until a token that the hub accepts as an admin's is entered. The token is read from
 * `<data dir>/admin.token` or minted with the hub's secret.
 */
export function askForToken(form: HTMLFormElement, onToken: (token: string) => void, message = ''): void {
  const input = form.querySelector<HTMLInputElement>('input[name=token]')!;
  const error = form.querySelector<HTMLElement>('.error')!;
  error.textContent = message;
  input.value = '';
  form.hidden = false;
  input.focus();
  form.onsubmit = async (event) => {
    event.preventDefault();
    const token = input.value.trim().replace(/^Bearer\s+/i, '');
    if (!token) return;
    error.textContent = 'Checking…';
    const problem = await checkToken(token);
    if (problem) {
      error.textContent = problem;
      return;
    }
    error.textContent = '';
    input.value = '';
    form.hidden = true;
    form.onsubmit = null;
    onToken(token);
  };
}
