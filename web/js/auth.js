// The auth store: who is signed in, and keeping their access token fresh.
//
// Copy this file with api.js. It has the surface of the tutorial's React
// AuthContext — user, loading, login, logout, refresh — as a plain store
// with subscribe(), so any view layer can use it (a React hook is a few lines
// over subscribe()).
//
// What it does beyond the tutorial:
//
// - start() restores the session on page load with one POST
//   /api/auth/refresh: the refresh cookie brings back the in-memory token.
// - A refresh is scheduled shortly before the access token expires (at 80% of
//   its lifetime or 30 s before expiry, whichever is sooner, at least 1 s), so
//   requests rarely meet a 401 at all; api.js still refreshes on a 401.
// - Tabs coordinate. Only one tab refreshes at a time (Web Locks, or a
//   localStorage lease that holds no token where Web Locks are missing); the
//   tab that refreshed posts the new access token and user on a
//   BroadcastChannel, and a tab that was waiting for the lock adopts it
//   instead of refreshing again. Signing out in one tab signs out all of them.

import {
  ApiError,
  onSessionEnded,
  post,
  refreshAccessToken,
  setRefresher,
  tokenStore,
} from "./api.js";

/** Web Lock that serialises refreshes across the tabs of one origin. */
const LOCK_NAME = "tessera-refresh";
/** BroadcastChannel on which tabs share new sessions and sign-outs. */
const CHANNEL_NAME = "tessera-auth";
/** localStorage key of the refresh lease used where Web Locks are missing. */
const LEASE_KEY = "tessera-refresh-lease";

/** How long a tab waits for another tab's refresh before going ahead alone. */
const LOCK_WAIT_MS = 10_000;
/** The refresh is scheduled at this share of the token's lifetime... */
const REFRESH_AT_SHARE = 0.8;
/** ...or this long before expiry, whichever is sooner... */
const REFRESH_BEFORE_EXPIRY_MS = 30_000;
/** ...but never sooner than this after the token arrived. */
const MIN_REFRESH_DELAY_MS = 1_000;
/** After a refresh failed for a reason other than a refused session. */
const RETRY_AFTER_ERROR_MS = 5_000;

// --- State and subscribers -------------------------------------------------

const state = { user: null, loading: true };
const listeners = new Set();

function snapshot() {
  return { user: state.user, loading: state.loading };
}

function setState(patch) {
  Object.assign(state, patch);
  const current = snapshot();
  for (const fn of [...listeners]) {
    try {
      fn(current);
    } catch (error) {
      console.error(error);
    }
  }
}

/**
 * Calls `fn({user, loading})` now and on every change. Returns a function
 * that unsubscribes.
 */
export function subscribe(fn) {
  listeners.add(fn);
  fn(snapshot());
  return () => listeners.delete(fn);
}

// --- The access token held by this tab -------------------------------------

// Bumped whenever this tab's access token changes, so a tab that waited for
// the refresh lock can tell that another tab's token arrived meanwhile.
let tokenGeneration = 0;
// Bumped on every sign-out, so a refresh that was in flight is discarded.
let signOutEpoch = 0;
// When the current token expires, on this browser's clock.
let tokenExpiresAt = 0;
let refreshTimer = null;

/** Decodes a JWT's payload (base64url JSON) without verifying it. */
export function decodeJwtPayload(token) {
  try {
    const part = token.split(".")[1];
    const base64 = part.replace(/-/g, "+").replace(/_/g, "/");
    const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
    const bytes = Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return null;
  }
}

// The token's lifetime in ms, from its own iat and exp, so that a browser
// clock that is off does not matter: the lifetime is counted from arrival.
function lifetimeMs(claims) {
  if (!claims || typeof claims.exp !== "number") return null;
  const issuedAt = typeof claims.iat === "number" ? claims.iat : Date.now() / 1000;
  return Math.max(0, (claims.exp - issuedAt) * 1000);
}

function scheduleRefresh(lifetime) {
  clearTimeout(refreshTimer);
  refreshTimer = null;
  if (lifetime === null) return;

  const delay = Math.max(
    MIN_REFRESH_DELAY_MS,
    Math.min(lifetime * REFRESH_AT_SHARE, lifetime - REFRESH_BEFORE_EXPIRY_MS),
  );
  refreshTimer = setTimeout(() => {
    refreshTimer = null;
    refresh();
  }, delay);
}

function retryRefreshSoon() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => {
    refreshTimer = null;
    refresh();
  }, RETRY_AFTER_ERROR_MS);
}

// Keeps a session (login or refresh response, or another tab's broadcast).
function adoptSession({ accessToken, user }) {
  const lifetime = lifetimeMs(decodeJwtPayload(accessToken));
  tokenStore.set(accessToken);
  tokenGeneration += 1;
  tokenExpiresAt = lifetime === null ? 0 : Date.now() + lifetime;
  scheduleRefresh(lifetime);
  setState({ user: user || null, loading: false });
}

// Forgets the session in this tab only.
function clearSession() {
  clearTimeout(refreshTimer);
  refreshTimer = null;
  tokenStore.remove();
  tokenGeneration += 1;
  signOutEpoch += 1;
  tokenExpiresAt = 0;
  setState({ user: null, loading: false });
}

// --- Tabs --------------------------------------------------------------------

let channel = null;

function broadcast(message) {
  try {
    channel?.postMessage(message);
  } catch (error) {
    console.error(error);
  }
}

function onChannelMessage(event) {
  const message = event.data || {};
  if (message.type === "session" && typeof message.accessToken === "string") {
    // Keep whichever token lives longer: a late message must not replace
    // a newer token.
    const incoming = decodeJwtPayload(message.accessToken);
    const current = decodeJwtPayload(tokenStore.get() || "");
    if (current && incoming && current.exp > incoming.exp) return;
    adoptSession(message);
  } else if (message.type === "logout") {
    clearSession();
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const tabId = Math.random().toString(36).slice(2) + Date.now().toString(36);

// Runs `fn` while holding the cross-tab refresh lock. If the lock cannot be
// had within LOCK_WAIT_MS (a tab hung while holding it), runs `fn` anyway:
// the server's grace window lets two refreshes in a row both succeed.
async function withRefreshLock(fn) {
  if (globalThis.navigator?.locks?.request) {
    const options = {};
    if (typeof AbortSignal.timeout === "function") {
      options.signal = AbortSignal.timeout(LOCK_WAIT_MS);
    }
    let granted = false;
    try {
      return await navigator.locks.request(LOCK_NAME, options, () => {
        granted = true;
        return fn();
      });
    } catch (error) {
      if (granted) throw error;
      return fn();
    }
  }
  return withStorageLease(fn);
}

function readLease(storage) {
  try {
    return JSON.parse(storage.getItem(LEASE_KEY) || "null");
  } catch {
    return null;
  }
}

// The fallback where Web Locks are missing: a lease in localStorage naming
// the tab that refreshes and until when. It holds no token.
async function withStorageLease(fn) {
  let storage = null;
  try {
    storage = globalThis.localStorage || null;
  } catch {
    // Storage is blocked (privacy settings): refresh without the lease.
  }
  if (!storage) return fn();

  const deadline = Date.now() + LOCK_WAIT_MS;
  let held = false;
  while (!held && Date.now() < deadline) {
    const lease = readLease(storage);
    if (!lease || lease.until < Date.now() || lease.tab === tabId) {
      try {
        storage.setItem(LEASE_KEY, JSON.stringify({ tab: tabId, until: deadline }));
      } catch {
        break;
      }
      // Another tab may have written at the same moment; the last write wins.
      await sleep(50);
      held = readLease(storage)?.tab === tabId;
    }
    if (!held) await sleep(100 + Math.random() * 100);
  }

  try {
    return await fn();
  } finally {
    if (held && readLease(storage)?.tab === tabId) storage.removeItem(LEASE_KEY);
  }
}

// --- Refreshing --------------------------------------------------------------

// The refresh api.js runs (on a 401) and refresh() runs (on schedule and on
// page load): one tab at a time, adopting another tab's fresh token when one
// arrived while this tab waited for the lock.
async function coordinatedRefresh() {
  const generationAtStart = tokenGeneration;
  const epochAtStart = signOutEpoch;

  return withRefreshLock(async () => {
    if (signOutEpoch !== epochAtStart) throw new ApiError("Signed out", 401, null);

    const token = tokenStore.get();
    if (
      token &&
      tokenGeneration !== generationAtStart &&
      tokenExpiresAt - Date.now() > MIN_REFRESH_DELAY_MS
    ) {
      return { accessToken: token, user: state.user };
    }

    const data = await post("/api/auth/refresh");
    if (!data?.accessToken) throw new ApiError("Refresh failed", 401, data);

    // Signed out while the request was on the wire: the sign-out wins.
    if (signOutEpoch !== epochAtStart) throw new ApiError("Signed out", 401, null);

    adoptSession(data);
    broadcast({ type: "session", accessToken: data.accessToken, user: data.user });
    return data;
  });
}

/**
 * Refreshes the session now. Resolves to the user, or null when there is no
 * session (it never rejects, like the tutorial's refresh).
 */
export async function refresh() {
  try {
    await refreshAccessToken();
    return state.user;
  } catch (error) {
    if (error.status === 401 || error.status === 403) {
      if (state.user || state.loading) clearSession();
    } else if (state.user) {
      // The server could not be reached: keep the session and try again.
      retryRefreshSoon();
    } else {
      setState({ loading: false });
    }
    return null;
  }
}

// A hidden tab's timers are throttled; when it shows again, refresh at once
// if its token is due.
function onVisibilityChange() {
  if (document.visibilityState !== "visible" || !state.user) return;
  if (tokenExpiresAt - Date.now() < REFRESH_BEFORE_EXPIRY_MS / 3) refresh();
}

let started = null;

/**
 * Starts the store: listens to the other tabs and restores the session with
 * one refresh. Call it once on page load (after api.js's setBase, if any);
 * later calls return the same promise, which resolves to the user or null.
 */
export function start() {
  if (!started) {
    setRefresher(coordinatedRefresh);
    onSessionEnded(() => clearSession());
    if (typeof BroadcastChannel === "function") {
      channel = new BroadcastChannel(CHANNEL_NAME);
      channel.onmessage = onChannelMessage;
    }
    document.addEventListener("visibilitychange", onVisibilityChange);
    started = refresh();
  }
  return started;
}

// --- Signing in and out ------------------------------------------------------

/**
 * Signs in. Resolves to `{success: true}` or `{success: false, error}`, where
 * `error.message` is the server's message (e.g. "Invalid credentials").
 */
export async function login({ username, password }) {
  try {
    const data = await post("/api/auth/login", { username, password });
    if (!data?.accessToken) throw new ApiError("Sign-in failed", 500, data);
    adoptSession(data);
    broadcast({ type: "session", accessToken: data.accessToken, user: data.user });
    return { success: true };
  } catch (error) {
    setState({ loading: false });
    return { success: false, error };
  }
}

/** Signs out: revokes the session on the server, then in every tab. */
export async function logout() {
  clearTimeout(refreshTimer);
  try {
    await post("/api/auth/logout");
  } catch {
    // Signed out locally all the same; the cookie dies with its session.
  }
  signOutLocally();
}

/**
 * Forgets the session in every tab without asking the server, e.g. after
 * POST /api/auth/logout-all already revoked it.
 */
export function signOutLocally() {
  clearSession();
  broadcast({ type: "logout" });
}

/** The auth store, for those who prefer one object. */
export const auth = {
  get user() {
    return state.user;
  },
  get loading() {
    return state.loading;
  },
  start,
  login,
  logout,
  refresh,
  signOutLocally,
  subscribe,
};

export default auth;
