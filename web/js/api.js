// tessera's HTTP client: every request to the API goes through here.
//
// Copy this file (and auth.js) into your app. It keeps the surface of the
// tutorial's services/api.js — get, post, put, del, tokenStore — and adds
// what a real app needs on top:
//
// - The access token lives in a module variable only. It is never written to
//   localStorage, sessionStorage or a cookie, so a script injected into the
//   page cannot read it from storage; a reload loses it on purpose and the
//   refresh cookie brings it back.
// - Requests send cookies (`credentials: "include"`), the access token as
//   `Authorization: Bearer`, and on every non-GET request the CSRF token read
//   from the `csrfToken` cookie as `X-CSRF-Token`.
// - A 401 from a protected route triggers one refresh and one retry. Requests
//   failing together share a single refresh; if the refresh fails the client
//   signs out locally and tells its listeners, and never loops.
//
// Errors thrown carry `.status` (the HTTP status, 0 for a network failure)
// and the server's `error.message` as their message.

/** Where the API lives; "" means the same origin as the page. */
export let BASE = "";

/** Points the client at an API on another origin, e.g. "https://auth.example.com". */
export function setBase(base) {
  BASE = String(base || "").replace(/\/+$/, "");
}

/** Name of the CSRF cookie the server sets (tessera's default, as in the tutorial). */
export let CSRF_COOKIE = "csrfToken";

/** Changes the CSRF cookie name, for a server configured with another one. */
export function setCsrfCookieName(name) {
  CSRF_COOKIE = name;
}

// The access token. A plain module variable: nothing else holds it.
let inMemoryToken = null;

/** The access token store: memory only, as in the tutorial. */
export const tokenStore = {
  get: () => inMemoryToken,
  set: (token) => {
    inMemoryToken = token || null;
  },
  remove: () => {
    inMemoryToken = null;
  },
};

// Routes whose 401 means "wrong credentials" or "no session", not "the access
// token expired": they never trigger a refresh and a retry.
const AUTH_ROUTES = ["/api/auth/login", "/api/auth/refresh", "/api/auth/logout"];

function isAuthRoute(path) {
  const bare = path.split("?")[0];
  return AUTH_ROUTES.includes(bare);
}

function readCookie(name) {
  for (const part of document.cookie.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) {
      return decodeURIComponent(part.slice(eq + 1).trim());
    }
  }
  return null;
}

/** An error from the API: the server's message, with the HTTP status. */
export class ApiError extends Error {
  constructor(message, status, body) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.body = body;
  }
}

// One fetch, no retry: builds the headers, parses the envelope, throws on
// a non-2xx status.
async function send(path, { method = "GET", body, headers = {}, signal } = {}) {
  const opts = {
    method,
    signal,
    credentials: "include",
    headers: { Accept: "application/json", ...headers },
  };

  // Bodies are JSON only. Like the tutorial's client, every non-GET request
  // says so, even a body-less POST such as refresh or logout.
  if (method !== "GET" && method !== "HEAD") {
    opts.headers["Content-Type"] = "application/json";
  }
  if (body !== undefined) opts.body = JSON.stringify(body);

  const token = tokenStore.get();
  if (token) opts.headers.Authorization = `Bearer ${token}`;

  // The double-submit CSRF token, on everything that can change state.
  if (method !== "GET" && method !== "HEAD") {
    const csrf = readCookie(CSRF_COOKIE);
    if (csrf) opts.headers["X-CSRF-Token"] = csrf;
  }

  let res;
  try {
    res = await fetch(BASE + path, opts);
  } catch (cause) {
    if (cause && cause.name === "AbortError") throw cause;
    throw new ApiError("Network error: the server could not be reached", 0, null);
  }

  const json = await res.json().catch(() => null);
  if (!res.ok) {
    const message = json?.error?.message || `Request failed: ${res.status}`;
    throw new ApiError(message, res.status, json);
  }
  return json?.data ?? json;
}

// --- Refresh on 401 -------------------------------------------------------

// The refresh the client runs when an access token is refused. auth.js
// replaces it with one that coordinates tabs; this default just asks the
// server and keeps the new token.
let refresher = async () => {
  const data = await send("/api/auth/refresh", { method: "POST" });
  if (!data?.accessToken) throw new ApiError("Refresh failed", 401, null);
  tokenStore.set(data.accessToken);
  return data;
};

/**
 * Replaces how the client refreshes. `fn` must resolve once tokenStore holds
 * a new access token, and reject when the session cannot be refreshed.
 */
export function setRefresher(fn) {
  refresher = fn;
}

// The refresh in flight, shared by every request that failed while it runs.
let inFlightRefresh = null;

/** Refreshes the access token; concurrent callers share one refresh. */
export function refreshAccessToken() {
  if (!inFlightRefresh) {
    inFlightRefresh = Promise.resolve()
      .then(() => refresher())
      .finally(() => {
        inFlightRefresh = null;
      });
  }
  return inFlightRefresh;
}

const sessionEndedListeners = new Set();

/**
 * Calls `fn(error)` when a refresh after a 401 failed and the client signed
 * out locally. Returns a function that removes the listener.
 */
export function onSessionEnded(fn) {
  sessionEndedListeners.add(fn);
  return () => sessionEndedListeners.delete(fn);
}

function endSession(error) {
  tokenStore.remove();
  for (const fn of [...sessionEndedListeners]) {
    try {
      fn(error);
    } catch (listenerError) {
      console.error(listenerError);
    }
  }
}

/**
 * Sends one API request and returns the envelope's `data`.
 *
 * `options`: method, body (sent as JSON), headers, signal.
 */
export async function request(path, options = {}) {
  const tokenUsed = tokenStore.get();
  try {
    return await send(path, options);
  } catch (error) {
    if (error.status !== 401 || isAuthRoute(path)) throw error;

    // The access token was refused. If another request already brought a
    // new one while this one was on the wire, just retry with it;
    // otherwise refresh (once, shared) first.
    if (tokenStore.get() === tokenUsed || !tokenStore.get()) {
      try {
        await refreshAccessToken();
      } catch (refreshError) {
        // Only a refusal of the session ends it; a network blip keeps it.
        if (refreshError.status === 401 || refreshError.status === 403) {
          endSession(refreshError);
        }
        throw error;
      }
    }
    return send(path, options);
  }
}

/** GET `path`. */
export const get = (path, opts) => request(path, { ...opts, method: "GET" });

/** POST `body` as JSON to `path`. */
export const post = (path, body, opts) =>
  request(path, { ...opts, method: "POST", body });

/** PUT `body` as JSON to `path`. */
export const put = (path, body, opts) =>
  request(path, { ...opts, method: "PUT", body });

/** PATCH `body` as JSON to `path`. */
export const patch = (path, body, opts) =>
  request(path, { ...opts, method: "PATCH", body });

/** DELETE `path`. */
export const del = (path, opts) => request(path, { ...opts, method: "DELETE" });
