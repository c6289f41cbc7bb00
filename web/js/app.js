// tessera's built-in web UI: sign-in, dashboard, properties, sessions,
// password and (for admins) users, as hash routes over the JS client.
//
// The page's Content-Security-Policy allows no inline script, style or event
// handler, so every element is built here with the DOM API, styled by class
// and wired with addEventListener. Text from the server is only ever set as
// text, never parsed as HTML.

import { del, get, patch, post, put } from "./api.js";
import { login, logout, signOutLocally, start, subscribe } from "./auth.js";

const PER_PAGE = 10;
const ROLES = ["viewer", "editor", "admin"];
/** How long a "Confirm?" button waits for its second click. */
const CONFIRM_WINDOW_MS = 4_000;
const FLASH_MS = 4_000;

// --- DOM helpers -----------------------------------------------------------

// Builds an element: h("button", {class: "x", onClick: fn}, "Text").
// Props named on* become listeners; true sets a bare attribute; null,
// undefined and false are skipped. Children may be nodes, text or arrays.
function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on")) el.addEventListener(key.slice(2).toLowerCase(), value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

const $ = (selector, root = document) => root.querySelector(selector);

function field(label, input, hint) {
  const id = input.id;
  return h(
    "div",
    { class: "field" },
    h("label", { for: id }, label),
    input,
    hint ? h("p", { class: "hint", id: `${id}-hint` }, hint) : null,
  );
}

function showMessage(el, text) {
  el.textContent = text || "";
  el.hidden = !text;
}

function errorText(error) {
  if (!error) return "";
  if (error.status === 429) return `${error.message} Try again in a moment.`;
  return error.message || "Something went wrong";
}

let flashTimer = null;

function flash(text, kind = "success") {
  const el = $("#flash");
  el.className = `flash ${kind}`;
  showMessage(el, text);
  clearTimeout(flashTimer);
  flashTimer = setTimeout(() => showMessage(el, ""), FLASH_MS);
}

// Keeps a button disabled while `action` runs.
async function busy(button, action) {
  button.disabled = true;
  try {
    return await action();
  } finally {
    button.disabled = false;
  }
}

// A destructive button that asks for a second click before acting.
function confirmingButton(label, props, action) {
  const button = h("button", { type: "button", class: "button danger small", ...props }, label);
  let armedUntil = 0;
  let timer = null;

  function disarm() {
    armedUntil = 0;
    button.textContent = label;
    button.classList.remove("armed");
  }

  button.addEventListener("click", async () => {
    if (Date.now() > armedUntil) {
      armedUntil = Date.now() + CONFIRM_WINDOW_MS;
      button.textContent = "Confirm?";
      button.classList.add("armed");
      clearTimeout(timer);
      timer = setTimeout(disarm, CONFIRM_WINDOW_MS);
      return;
    }
    clearTimeout(timer);
    disarm();
    await busy(button, action);
  });
  return button;
}

const timeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

function formatTime(value) {
  if (value === null || value === undefined || value === "") return "—";
  let ms;
  if (typeof value === "number") ms = value < 1e12 ? value * 1000 : value;
  else ms = Date.parse(value);
  if (Number.isNaN(ms)) return String(value);
  return timeFormat.format(new Date(ms));
}

const priceFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });

function formatPrice(value) {
  if (value === null || value === undefined || value === "") return "—";
  const n = Number(value);
  return Number.isFinite(n) ? priceFormat.format(n) : String(value);
}

function can(user, action) {
  const role = user?.role;
  if (action === "edit-properties") return role === "admin" || role === "editor";
  if (action === "delete-properties") return role === "admin";
  if (action === "manage-users") return role === "admin";
  return false;
}

function actionsHeader() {
  return h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions"));
}

function page(id, title, ...children) {
  document.title = `${title} — tessera`;
  return h("section", { id, class: "page", "aria-labelledby": `${id}-heading` }, children);
}

function heading(pageId, text, ...extra) {
  return h(
    "div",
    { class: "page-head" },
    h("h1", { id: `${pageId}-heading` }, text),
    extra,
  );
}

// --- Sign-in ---------------------------------------------------------------

function loginView() {
  const username = h("input", {
    id: "login-username",
    name: "username",
    autocomplete: "username",
    autocapitalize: "none",
    spellcheck: "false",
    required: true,
  });
  const password = h("input", {
    id: "login-password",
    name: "password",
    type: "password",
    autocomplete: "current-password",
    required: true,
  });
  const error = h("p", { id: "login-error", class: "error", role: "alert", hidden: true });
  const submit = h("button", { id: "login-submit", type: "submit", class: "button" }, "Sign in");

  const form = h(
    "form",
    { id: "login-form", class: "card narrow", "aria-describedby": "login-error" },
    field("Username", username),
    field("Password", password),
    error,
    submit,
  );

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    showMessage(error, "");
    await busy(submit, async () => {
      const result = await login({ username: username.value, password: password.value });
      if (!result.success) {
        showMessage(error, errorText(result.error));
        password.value = "";
        password.focus();
      }
    });
  });

  queueMicrotask(() => username.focus());
  return page(
    "login-page",
    "Sign in",
    heading("login-page", "Sign in"),
    h("p", { class: "lede" }, "Sign in to manage properties and your sessions."),
    form,
  );
}

// --- Dashboard -------------------------------------------------------------

const ROLE_ABILITIES = {
  admin: ["Read, create, edit and delete properties", "Manage users and their roles"],
  editor: ["Read, create and edit properties"],
  viewer: ["Read properties"],
};

function dashboardView({ user }) {
  const abilities = ROLE_ABILITIES[user.role] || [];
  return page(
    "dashboard-page",
    "Dashboard",
    heading("dashboard-page", "Dashboard"),
    h(
      "div",
      { class: "card" },
      h("p", { class: "lede" }, "Signed in as ", h("strong", { id: "whoami" }, user.username)),
      h(
        "dl",
        { class: "facts" },
        h("dt", {}, "Role"),
        h("dd", {}, h("span", { id: "role", class: `badge role-${user.role}` }, user.role)),
        h("dt", {}, "User id"),
        h("dd", {}, h("code", { id: "user-id" }, user.id)),
      ),
      h("h2", {}, "What you can do"),
      h("ul", { id: "abilities" }, abilities.map((text) => h("li", {}, text))),
    ),
    h(
      "div",
      { class: "card" },
      h("h2", {}, "How this session works"),
      h(
        "p",
        {},
        "Your access token is kept in this page's memory only and renewed quietly " +
          "before it expires, using a refresh token in an httpOnly cookie that scripts " +
          "cannot read. Each device you sign in on is a session you can review and " +
          "revoke under ",
        h("a", { href: "#/sessions" }, "Sessions"),
        ".",
      ),
    ),
  );
}

// --- Properties ------------------------------------------------------------

function propertiesView({ user, params }) {
  const currentPage = Math.max(1, Number.parseInt(params.get("page") || "1", 10) || 1);
  const canEdit = can(user, "edit-properties");
  const canDelete = can(user, "delete-properties");

  const total = h("span", { id: "properties-total", class: "muted" });
  const listError = h("p", { id: "properties-error", class: "error", role: "alert", hidden: true });
  const tbody = h("tbody", { id: "properties-body" });
  const empty = h(
    "p",
    { id: "properties-empty", class: "muted", hidden: true },
    "No properties yet.",
  );
  const pageInfo = h("span", { id: "properties-page-info", class: "muted" });
  const prev = h("a", { id: "properties-prev", class: "button secondary small" }, "← Previous");
  const next = h("a", { id: "properties-next", class: "button secondary small" }, "Next →");

  const form = canEdit ? propertyForm(afterSave) : null;

  const table = h(
    "table",
    { id: "properties-table", class: "table" },
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        h("th", { scope: "col" }, "Title"),
        h("th", { scope: "col" }, "Address"),
        h("th", { scope: "col", class: "num" }, "Price"),
        h("th", { scope: "col" }, "Description"),
        h("th", { scope: "col" }, "Updated"),
        canEdit ? actionsHeader() : null,
      ),
    ),
    tbody,
  );

  function row(property) {
    const actions = [];
    if (canEdit) {
      actions.push(
        h(
          "button",
          {
            type: "button",
            class: "button secondary small edit-property",
            "aria-label": `Edit ${property.title}`,
            onClick: () => form.edit(property),
          },
          "Edit",
        ),
      );
    }
    if (canDelete) {
      actions.push(
        confirmingButton(
          "Delete",
          {
            class: "button danger small delete-property",
            "aria-label": `Delete ${property.title}`,
          },
          async () => {
            try {
              await del(`/api/properties/${encodeURIComponent(property.id)}`);
              flash(`Deleted “${property.title}”.`);
              await reload();
            } catch (error) {
              flash(errorText(error), "error");
            }
          },
        ),
      );
    }
    return h(
      "tr",
      { class: "property-row", dataset: { id: property.id } },
      h("td", { class: "property-title" }, property.title),
      h("td", { class: "property-address" }, property.address || "—"),
      h("td", { class: "property-price num" }, formatPrice(property.price)),
      h("td", { class: "property-description" }, property.description || "—"),
      h(
        "td",
        { class: "property-updated time" },
        formatTime(property.updatedAt ?? property.createdAt),
      ),
      canEdit ? h("td", { class: "actions" }, actions) : null,
    );
  }

  // Loads the page; resolves to the number of pages, or null on failure.
  async function reload() {
    showMessage(listError, "");
    try {
      const data = await get(`/api/properties?page=${currentPage}&perPage=${PER_PAGE}`);
      const items = data?.items ?? [];
      const count = data?.total ?? items.length;
      const perPage = data?.perPage ?? PER_PAGE;
      const pages = Math.max(1, Math.ceil(count / perPage));

      // Past the end (the last item of the last page was deleted): go back.
      if (items.length === 0 && currentPage > pages) {
        location.hash = `#/properties?page=${pages}`;
        return pages;
      }

      tbody.replaceChildren(...items.map(row));
      table.hidden = items.length === 0;
      empty.hidden = items.length !== 0;
      total.textContent = `${count} in total`;
      pageInfo.textContent = `Page ${data?.page ?? currentPage} of ${pages}`;
      setLink(prev, currentPage > 1 ? currentPage - 1 : null);
      setLink(next, currentPage < pages ? currentPage + 1 : null);
      return pages;
    } catch (error) {
      showMessage(listError, errorText(error));
      return null;
    }
  }

  // The list is oldest first, so a new property lands on the last page.
  async function afterSave({ created }) {
    const pages = await reload();
    if (created && pages !== null && pages > currentPage) {
      location.hash = `#/properties?page=${pages}`;
    }
  }

  reload();
  return page(
    "properties-page",
    "Properties",
    heading("properties-page", "Properties", total),
    form?.element,
    h(
      "div",
      { class: "card" },
      listError,
      empty,
      table,
      h("div", { class: "pager" }, prev, pageInfo, next),
    ),
  );
}

function setLink(link, pageNumber) {
  if (pageNumber === null) {
    link.removeAttribute("href");
    link.setAttribute("aria-disabled", "true");
  } else {
    link.href = `#/properties?page=${pageNumber}`;
    link.removeAttribute("aria-disabled");
  }
}

// The create / edit form. `onSaved({created})` reloads the list.
function propertyForm(onSaved) {
  let editing = null;

  const legend = h("h2", { id: "property-form-title" }, "New property");
  const title = h("input", { id: "property-title", name: "title", required: true, maxlength: 200 });
  const address = h("input", { id: "property-address", name: "address", autocomplete: "off" });
  const price = h("input", {
    id: "property-price",
    name: "price",
    type: "number",
    min: 0,
    step: "any",
    inputmode: "decimal",
  });
  const description = h("textarea", { id: "property-description", name: "description", rows: 3 });
  const error = h("p", { id: "property-error", class: "error", role: "alert", hidden: true });
  const submit = h(
    "button",
    { id: "property-submit", type: "submit", class: "button" },
    "Create property",
  );
  const cancel = h(
    "button",
    { id: "property-cancel", type: "button", class: "button secondary", hidden: true },
    "Cancel",
  );

  const element = h(
    "form",
    { id: "property-form", class: "card", "aria-labelledby": "property-form-title" },
    legend,
    h(
      "div",
      { class: "grid" },
      field("Title", title),
      field("Address", address),
      field("Price", price),
    ),
    field("Description", description),
    error,
    h("div", { class: "row" }, submit, cancel),
  );

  function reset() {
    editing = null;
    element.reset();
    legend.textContent = "New property";
    submit.textContent = "Create property";
    cancel.hidden = true;
    showMessage(error, "");
  }

  function edit(property) {
    editing = property;
    title.value = property.title ?? "";
    address.value = property.address ?? "";
    price.value = property.price ?? "";
    description.value = property.description ?? "";
    legend.textContent = `Edit “${property.title}”`;
    submit.textContent = "Save changes";
    cancel.hidden = false;
    showMessage(error, "");
    element.scrollIntoView({ block: "nearest" });
    title.focus();
  }

  cancel.addEventListener("click", reset);

  element.addEventListener("submit", async (event) => {
    event.preventDefault();
    showMessage(error, "");

    const body = {
      title: title.value.trim(),
      address: address.value.trim() || null,
      price: price.value === "" ? null : Number(price.value),
      description: description.value.trim() || null,
    };
    if (!body.title) {
      showMessage(error, "Title is required");
      title.focus();
      return;
    }
    if (body.price !== null && !Number.isFinite(body.price)) {
      showMessage(error, "Price must be a number");
      price.focus();
      return;
    }

    await busy(submit, async () => {
      try {
        const created = !editing;
        if (editing) {
          await put(`/api/properties/${encodeURIComponent(editing.id)}`, body);
          flash(`Saved “${body.title}”.`);
        } else {
          await post("/api/properties", body);
          flash(`Created “${body.title}”.`);
        }
        reset();
        await onSaved({ created });
      } catch (err) {
        showMessage(error, errorText(err));
      }
    });
  });

  return { element, edit };
}

// --- Sessions --------------------------------------------------------------

function describeAgent(userAgent) {
  if (!userAgent) return "Unknown device";
  const browser =
    /Edg\//.test(userAgent) ? "Edge"
    : /(Chrome|Chromium)\//.test(userAgent) ? "Chrome"
    : /Firefox\//.test(userAgent) ? "Firefox"
    : /Safari\//.test(userAgent) ? "Safari"
    : null;
  const system =
    /Windows/.test(userAgent) ? "Windows"
    : /Android/.test(userAgent) ? "Android"
    : /(iPhone|iPad)/.test(userAgent) ? "iOS"
    : /Mac OS X/.test(userAgent) ? "macOS"
    : /Linux/.test(userAgent) ? "Linux"
    : null;
  if (browser && system) return `${browser} on ${system}`;
  return browser || system || userAgent.slice(0, 40);
}

function sessionsView() {
  const error = h("p", { id: "sessions-error", class: "error", role: "alert", hidden: true });
  const tbody = h("tbody", { id: "sessions-body" });
  const logoutAll = confirmingButton("Sign out everywhere", { id: "logout-all" }, async () => {
    try {
      await post("/api/auth/logout-all");
      signOutLocally();
      flash("Signed out on every device.");
    } catch (err) {
      showMessage(error, errorText(err));
    }
  });

  function row(session) {
    const revoke = confirmingButton(
      session.current ? "Sign out" : "Revoke",
      {
        class: "button danger small revoke-session",
        "aria-label": `Revoke the session on ${describeAgent(session.userAgent)}`,
      },
      async () => {
        try {
          await del(`/api/auth/sessions/${encodeURIComponent(session.id)}`);
          if (session.current) {
            signOutLocally();
            return;
          }
          flash("Session revoked.");
          await reload();
        } catch (err) {
          showMessage(error, errorText(err));
        }
      },
    );
    return h(
      "tr",
      {
        class: session.current ? "session-row current" : "session-row",
        dataset: { id: session.id },
      },
      h(
        "td",
        { class: "session-device" },
        h("span", { title: session.userAgent || "" }, describeAgent(session.userAgent)),
        session.current ? h("span", { class: "badge session-current" }, "This device") : null,
      ),
      h("td", { class: "session-ip" }, session.ip || "—"),
      h("td", { class: "session-created time" }, formatTime(session.createdAt)),
      h("td", { class: "session-last-used time" }, formatTime(session.lastUsedAt)),
      h("td", { class: "session-expires time" }, formatTime(session.expiresAt)),
      h("td", { class: "actions" }, revoke),
    );
  }

  async function reload() {
    showMessage(error, "");
    try {
      const sessions = await get("/api/auth/sessions");
      const list = Array.isArray(sessions) ? sessions : sessions?.items ?? [];
      tbody.replaceChildren(...list.map(row));
    } catch (err) {
      showMessage(error, errorText(err));
    }
  }

  reload();
  return page(
    "sessions-page",
    "Sessions",
    heading("sessions-page", "Sessions", logoutAll),
    h(
      "div",
      { class: "card" },
      h(
        "p",
        { class: "muted" },
        "Each sign-in on a device is a session. Revoke any you do not recognise.",
      ),
      error,
      h(
        "table",
        { id: "sessions-table", class: "table" },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            h("th", { scope: "col" }, "Device"),
            h("th", { scope: "col" }, "IP address"),
            h("th", { scope: "col" }, "Signed in"),
            h("th", { scope: "col" }, "Last used"),
            h("th", { scope: "col" }, "Expires"),
            actionsHeader(),
          ),
        ),
        tbody,
      ),
    ),
  );
}

// --- Password --------------------------------------------------------------

function passwordView({ user }) {
  // Lets password managers tell whose password changes; never shown.
  const account = h("input", {
    type: "text",
    name: "username",
    autocomplete: "username",
    value: user.username,
    readonly: true,
    hidden: true,
  });
  const current = h("input", {
    id: "current-password",
    type: "password",
    autocomplete: "current-password",
    required: true,
  });
  const next = h("input", {
    id: "new-password",
    type: "password",
    autocomplete: "new-password",
    minlength: 8,
    maxlength: 128,
    required: true,
    "aria-describedby": "new-password-hint",
  });
  const confirm = h("input", {
    id: "confirm-password",
    type: "password",
    autocomplete: "new-password",
    required: true,
  });
  const error = h("p", { id: "password-error", class: "error", role: "alert", hidden: true });
  const success = h("p", {
    id: "password-success",
    class: "success",
    role: "status",
    hidden: true,
  });
  const submit = h(
    "button",
    { id: "password-submit", type: "submit", class: "button" },
    "Change password",
  );

  const form = h(
    "form",
    { id: "password-form", class: "card narrow" },
    account,
    field("Current password", current),
    field("New password", next, "8 to 128 characters."),
    field("Repeat new password", confirm),
    error,
    success,
    submit,
  );

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    showMessage(error, "");
    showMessage(success, "");

    const newPassword = next.value;
    const length = [...newPassword].length;
    if (length < 8 || length > 128) {
      showMessage(error, "The new password must be 8 to 128 characters long");
      next.focus();
      return;
    }
    if (newPassword !== confirm.value) {
      showMessage(error, "The new passwords do not match");
      confirm.focus();
      return;
    }

    await busy(submit, async () => {
      try {
        await post("/api/auth/password", { currentPassword: current.value, newPassword });
        form.reset();
        showMessage(success, "Password changed. Your other sessions were signed out.");
      } catch (err) {
        showMessage(error, errorText(err));
      }
    });
  });

  return page(
    "password-page",
    "Password",
    heading("password-page", "Change password"),
    form,
  );
}

// --- Users (admin) ---------------------------------------------------------

function usersView({ user: me }) {
  if (!can(me, "manage-users")) return forbiddenView();

  const listError = h("p", { id: "users-error", class: "error", role: "alert", hidden: true });
  const tbody = h("tbody", { id: "users-body" });

  const username = h("input", {
    id: "new-user-username",
    autocomplete: "off",
    autocapitalize: "none",
    spellcheck: "false",
    required: true,
    minlength: 3,
    maxlength: 30,
  });
  const password = h("input", {
    id: "new-user-password",
    type: "password",
    autocomplete: "new-password",
    required: true,
    minlength: 8,
    maxlength: 128,
  });
  const role = h(
    "select",
    { id: "new-user-role" },
    ROLES.map((r) => h("option", { value: r }, r)),
  );
  const formError = h("p", { id: "user-error", class: "error", role: "alert", hidden: true });
  const submit = h("button", { id: "user-submit", type: "submit", class: "button" }, "Create user");

  const form = h(
    "form",
    { id: "user-form", class: "card", "aria-labelledby": "user-form-title" },
    h("h2", { id: "user-form-title" }, "New user"),
    h(
      "div",
      { class: "grid" },
      field("Username", username),
      field("Password", password),
      field("Role", role),
    ),
    formError,
    submit,
  );

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    showMessage(formError, "");
    await busy(submit, async () => {
      try {
        const created = await post("/api/users", {
          username: username.value,
          password: password.value,
          role: role.value,
        });
        form.reset();
        flash(`Created ${created?.username ?? created?.user?.username ?? "user"}.`);
        await reload();
      } catch (err) {
        showMessage(formError, errorText(err));
      }
    });
  });

  async function change(target, body, message) {
    try {
      await patch(`/api/users/${encodeURIComponent(target.id)}`, body);
      flash(message);
    } catch (err) {
      flash(errorText(err), "error");
    }
    await reload();
  }

  function row(target) {
    const self = target.id === me.id;
    const roleSelect = h(
      "select",
      { class: "user-role", "aria-label": `Role of ${target.username}`, disabled: self },
      ROLES.map((r) => h("option", { value: r, selected: r === target.role }, r)),
    );
    roleSelect.addEventListener("change", () =>
      change(target, { role: roleSelect.value }, `${target.username} is now ${roleSelect.value}.`),
    );

    const toggle = h(
      "button",
      {
        type: "button",
        class: "button secondary small toggle-user-disabled",
        disabled: self,
        onClick: () =>
          change(
            target,
            { disabled: !target.disabled },
            `${target.username} ${target.disabled ? "enabled" : "disabled"}.`,
          ),
      },
      target.disabled ? "Enable" : "Disable",
    );

    const remove = confirmingButton(
      "Delete",
      {
        class: "button danger small delete-user",
        disabled: self,
        "aria-label": `Delete ${target.username}`,
      },
      async () => {
        try {
          await del(`/api/users/${encodeURIComponent(target.id)}`);
          flash(`Deleted ${target.username}.`);
        } catch (err) {
          flash(errorText(err), "error");
        }
        await reload();
      },
    );

    return h(
      "tr",
      {
        class: target.disabled ? "user-row disabled" : "user-row",
        dataset: { id: target.id, username: target.username },
      },
      h(
        "td",
        { class: "user-username" },
        target.username,
        self ? h("span", { class: "badge" }, "you") : null,
      ),
      h("td", {}, roleSelect),
      h("td", { class: "user-status" }, target.disabled ? "Disabled" : "Active"),
      h("td", { class: "user-created time" }, formatTime(target.createdAt)),
      h("td", { class: "actions" }, toggle, remove),
    );
  }

  async function reload() {
    showMessage(listError, "");
    try {
      const users = await get("/api/users");
      const list = Array.isArray(users) ? users : users?.items ?? [];
      tbody.replaceChildren(...list.map(row));
    } catch (err) {
      showMessage(listError, errorText(err));
    }
  }

  reload();
  return page(
    "users-page",
    "Users",
    heading("users-page", "Users"),
    form,
    h(
      "div",
      { class: "card" },
      listError,
      h(
        "table",
        { id: "users-table", class: "table" },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            h("th", { scope: "col" }, "Username"),
            h("th", { scope: "col" }, "Role"),
            h("th", { scope: "col" }, "Status"),
            h("th", { scope: "col" }, "Created"),
            actionsHeader(),
          ),
        ),
        tbody,
      ),
    ),
  );
}

function forbiddenView() {
  return page(
    "forbidden-page",
    "Not allowed",
    heading("forbidden-page", "Not allowed"),
    h(
      "p",
      { class: "card" },
      "Your role does not allow this page. ",
      h("a", { href: "#/" }, "Back to the dashboard"),
      ".",
    ),
  );
}

function notFoundView() {
  return page(
    "not-found-page",
    "Not found",
    heading("not-found-page", "Page not found"),
    h("p", { class: "card" }, h("a", { href: "#/" }, "Back to the dashboard"), "."),
  );
}

// --- Routing and the page frame --------------------------------------------

const routes = {
  "/": dashboardView,
  "/properties": propertiesView,
  "/sessions": sessionsView,
  "/password": passwordView,
  "/users": usersView,
};

function parseHash() {
  const raw = location.hash.replace(/^#/, "") || "/";
  const [path, query = ""] = raw.split("?");
  return { path: path || "/", params: new URLSearchParams(query) };
}

let auth = { user: null, loading: true };

function renderFrame() {
  const { user } = auth;
  $("#nav").hidden = !user;
  $("#account").hidden = !user;
  $("#nav-users").hidden = !can(user, "manage-users");
  $("#account-name").textContent = user?.username ?? "";
  const badge = $("#account-role");
  badge.textContent = user?.role ?? "";
  badge.className = user ? `badge role-${user.role}` : "badge";
}

function render() {
  renderFrame();
  const view = $("#view");
  const { user, loading } = auth;
  const { path, params } = parseHash();

  for (const link of document.querySelectorAll("#nav a")) {
    if (link.getAttribute("href") === `#${path}`) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }

  if (loading) {
    view.replaceChildren(h("p", { class: "loading", id: "loading" }, "Restoring your session…"));
    return;
  }
  if (!user) {
    view.replaceChildren(loginView());
    return;
  }
  if (path === "/login") {
    location.replace("#/");
    return;
  }

  const viewFn = routes[path] || notFoundView;
  view.replaceChildren(viewFn({ user, params }));
}

function main() {
  // Re-render when who is signed in changes, not on every token refresh:
  // a silent refresh must not wipe a half-filled form.
  let shown = null;
  subscribe((next) => {
    auth = next;
    const key = next.loading ? "loading" : `${next.user?.id ?? ""}|${next.user?.role ?? ""}`;
    if (key === shown) return;
    shown = key;
    render();
  });

  window.addEventListener("hashchange", () => {
    render();
    $("#view").focus({ preventScroll: true });
  });

  $("#logout").addEventListener("click", async (event) => {
    await busy(event.currentTarget, logout);
    flash("Signed out.");
  });

  start();
}

main();
